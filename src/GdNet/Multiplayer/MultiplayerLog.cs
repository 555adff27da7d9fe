using Microsoft.Extensions.Logging;

namespace GdNet.Multiplayer;

/// <summary>The MultiplayerAPI's log events (Debug; formatted only when enabled).</summary>
internal static partial class MultiplayerLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Rejected {Reason} from peer {PeerId}: {Detail}")]
    public static partial void Rejected(ILogger logger, RpcRejectReason reason, int peerId, string detail);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "{Text} ({Skipped} similar warnings left out before this one)")]
    public static partial void CallFailed(ILogger logger, string text, long skipped);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "'{Name}' is not {What} of {Node}{Hint}; it is sent anyway, for the remote side to decide ({Skipped} similar warnings left out before this one)")]
    public static partial void NotAMember(ILogger logger, string what, string name, string node, string hint, long skipped);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Debug, Message = "An RpcRejected handler threw")]
    public static partial void RejectedHandlerThrew(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Network session reset ({Why}): peers and path caches cleared")]
    public static partial void SessionReset(ILogger logger, string why);
}
