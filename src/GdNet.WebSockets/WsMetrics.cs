using System.Diagnostics.Metrics;

namespace GdNet.WebSockets;

/// <summary>
/// The WebSocket transport's own instruments, on the same meter name as the relay's (<c>GdNet</c>), so one
/// <c>AddMeter("GdNet")</c> or <c>dotnet-counters --counters GdNet</c> sees them all. Recording costs next to nothing
/// while nobody listens.
/// </summary>
internal static class WsMetrics
{
    private static readonly Meter Meter = new("GdNet", typeof(WsMetrics).Assembly.GetName().Version?.ToString(3));

    /// <summary>
    /// <c>gdnet.websocket.handshake.duration</c> (s): from the upgrade request's arrival to the player's join (admission
    /// and the upgrade answer included), for accepted connections.
    /// </summary>
    public static readonly Histogram<double> HandshakeDuration = Meter.CreateHistogram<double>(
        "gdnet.websocket.handshake.duration", "s", "From a WebSocket upgrade request to the player's join: admission and the upgrade.");
}
