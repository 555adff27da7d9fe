using Microsoft.Extensions.Logging;

namespace GdNet.WebSockets;

/// <summary>The log messages of the WebSocket transport (source-generated, no allocation when disabled).</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "WebSocket server listening on {Url}")]
    public static partial void Listening(ILogger logger, string url);

    [LoggerMessage(2002, LogLevel.Debug, "peer {Id} connected from {Address}:{Port}")]
    public static partial void PeerConnected(ILogger logger, int id, string address, int port);

    [LoggerMessage(2003, LogLevel.Debug, "peer {Id} disconnected (local close: {LocalClose}; remote close: {RemoteClose})")]
    public static partial void PeerDisconnected(ILogger logger, int id, string? localClose, string? remoteClose);

    [LoggerMessage(2004, LogLevel.Information, "connection from {Address} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string address, string reason);

    [LoggerMessage(2005, LogLevel.Information, "peer {Id} disconnected: {Reason}")]
    public static partial void Kicked(ILogger logger, int id, string reason);

    [LoggerMessage(2006, LogLevel.Debug, "connecting to {Url}")]
    public static partial void Connecting(ILogger logger, string url);

    [LoggerMessage(2007, LogLevel.Information, "connection to {Url} failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string url, string reason);

    [LoggerMessage(2008, LogLevel.Debug, "message refused: {Detail}")]
    public static partial void Rejected(ILogger logger, string detail);

    [LoggerMessage(2009, LogLevel.Warning, "connection handler failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);
}
