using Microsoft.Extensions.Logging;

namespace GdNet.Peers;

/// <summary>The peer layer's log events.</summary>
internal static partial class PeerLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "{Error}: {Message} ({Skipped} similar warnings left out before this one)")]
    public static partial void CallFailed(ILogger logger, Error error, string message, long skipped);
}
