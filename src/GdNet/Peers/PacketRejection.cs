using System.Globalization;

namespace GdNet.Peers;

/// <summary>Why a peer refused an incoming packet (or an outgoing one). Counted in <see cref="PeerStatistics"/>.</summary>
public enum PacketRejectReason
{
    /// <summary>Larger than the peer's maximum packet size.</summary>
    TooLarge = 0,

    /// <summary>Empty, or shorter than the transport's header.</summary>
    TooSmall,

    /// <summary>From a peer id the peer does not know.</summary>
    UnknownPeer,

    /// <summary>Arrived while the peer was disconnected.</summary>
    NotConnected,

    /// <summary>The bounded incoming queue was full (packets or bytes).</summary>
    QueueFull,

    /// <summary>A transport header or system message that does not parse.</summary>
    Malformed,

    /// <summary>A source id that is not the sender's own id.</summary>
    SpoofedSource,

    /// <summary>A relay target that is not connected, or the sender itself.</summary>
    UnknownTarget,

    /// <summary>A frame or message kind the protocol does not allow (e.g. a WebSocket text frame, a client's system message).</summary>
    UnsupportedFrame,

    /// <summary>A new connection refused (<c>RefuseNewConnections</c>, client limit, bad id).</summary>
    Refused,

    /// <summary>Over the sender's packet or byte rate limit (a relay server's per-peer token bucket).</summary>
    RateLimited,
}

/// <summary>
/// One refused packet: the peer it came from (or was for), the reason, and the numbers behind it. <see cref="Detail"/> is
/// formatted only when read.
/// </summary>
public sealed class PacketRejection(int peerId, PacketRejectReason reason, long size = 0, long limit = 0, string? note = null)
{
    public int PeerId { get; } = peerId;

    public PacketRejectReason Reason { get; } = reason;

    /// <summary>The packet's size in bytes (or the offending number), 0 when not applicable.</summary>
    public long Size { get; } = size;

    /// <summary>The limit that was exceeded, 0 when not applicable.</summary>
    public long Limit { get; } = limit;

    /// <summary>Free text from the transport (e.g. the spoofed id), or null.</summary>
    public string? Note { get; } = note;

    /// <summary>A readable one-line explanation.</summary>
    public string Detail => Reason switch
    {
        PacketRejectReason.TooLarge => string.Create(CultureInfo.InvariantCulture, $"packet of {Size} bytes from peer {PeerId} exceeds the maximum packet size {Limit}{Suffix}"),
        // Used both for an incoming packet that found its queue full and for a peer whose outgoing queue is over budget.
        PacketRejectReason.QueueFull => string.Create(CultureInfo.InvariantCulture,
            $"queue full for peer {PeerId} ({Size} bytes{(Limit != 0 ? $", limit {Limit}" : string.Empty)}){Suffix}"),
        PacketRejectReason.TooSmall => string.Create(CultureInfo.InvariantCulture, $"packet of {Size} bytes from peer {PeerId} is too small{Suffix}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Reason} from peer {PeerId}{(Size != 0 ? $" ({Size} bytes)" : string.Empty)}{Suffix}"),
    };

    private string Suffix => Note is null ? string.Empty : ": " + Note;

    public override string ToString() => Detail;
}
