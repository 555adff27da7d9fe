using Microsoft.Extensions.Logging;

namespace GdNet.Multiplayer;

/// <summary>The MultiplayerAPI's log events (Debug; formatted only when enabled).</summary>
internal static partial class MultiplayerLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Rejected {Reason} from peer {PeerId}: {Detail}")]
    public static partial void Rejected(ILogger logger, RpcRejectReason reason, int peerId, string detail);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "{Operation} '{Member}' on {Node} failed with {Error}: {Why}")]
    public static partial void SendFailed(ILogger logger, string operation, string member, string node, Error error, string why);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Debug, Message = "An RpcRejected handler threw")]
    public static partial void RejectedHandlerThrew(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Network session reset ({Why}): peers and path caches cleared")]
    public static partial void SessionReset(ILogger logger, string why);
}
