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

    /// <summary>
    /// A bounded queue could not take the packet: the receiver's incoming queue (packets or bytes), or a transport's queue
    /// of held packets. A peer whose <em>outgoing</em> queue is over its budget is <see cref="SlowReader"/>.
    /// </summary>
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

    /// <summary>
    /// A relay target that left moments ago: a race between the sender and the departure, not misbehaviour (counted, never
    /// held against the sender).
    /// </summary>
    DepartedTarget,

    /// <summary>
    /// The peer's outgoing queue went over its budget, or it read nothing of what was queued for it for too long: it reads
    /// too slowly and is disconnected (a relay server's slow-reader rule; <see cref="PacketRejection.Size"/> is what was queued).
    /// </summary>
    SlowReader,

    /// <summary>A path the sender asked to be remembered (SIMPLIFY_PATH) would exceed the bytes the receiver keeps for its paths.</summary>
    PathCacheFull,
}

/// <summary>
/// One refused packet: the peer it came from (or was for), the reason, and the numbers behind it. A value: refusing a
/// packet allocates nothing, and <see cref="Detail"/> is formatted only when read (a log line that is written, an event
/// handler that asks).
/// </summary>
/// <param name="peerId">The peer it came from (or was for).</param>
/// <param name="reason">Why it was refused.</param>
/// <param name="size">The packet's size in bytes (or the offending number).</param>
/// <param name="limit">The limit exceeded.</param>
/// <param name="note">Free text; pass a constant (or a cached string) so that refusing allocates nothing.</param>
public readonly struct PacketRejection(int peerId, PacketRejectReason reason, long size = 0, long limit = 0, string? note = null)
{
    private readonly long _noteArgument;
    private readonly bool _hasNoteArgument;

    /// <summary>
    /// A rejection whose note is a composite format with one number (<c>"claims to be peer {0}"</c>), formatted only when
    /// <see cref="Detail"/> is read: the note stays a constant and refusing allocates nothing.
    /// </summary>
    /// <param name="peerId">The peer it came from (or was for).</param>
    /// <param name="reason">Why it was refused.</param>
    /// <param name="size">The packet's size in bytes (or the offending number).</param>
    /// <param name="limit">The limit exceeded.</param>
    /// <param name="noteFormat">A composite format with <c>{0}</c> for <paramref name="noteArgument"/>.</param>
    /// <param name="noteArgument">The number the note names (a peer id, a target).</param>
    public PacketRejection(int peerId, PacketRejectReason reason, long size, long limit, string noteFormat, long noteArgument)
        : this(peerId, reason, size, limit, noteFormat)
    {
        _noteArgument = noteArgument;
        _hasNoteArgument = true;
    }

    /// <summary>The peer it came from (or was for).</summary>
    public int PeerId { get; } = peerId;

    /// <summary>Why it was refused.</summary>
    public PacketRejectReason Reason { get; } = reason;

    /// <summary>The packet's size in bytes (or the offending number), 0 when not applicable.</summary>
    public long Size { get; } = size;

    /// <summary>The limit that was exceeded, 0 when not applicable.</summary>
    public long Limit { get; } = limit;

    /// <summary>Free text from the transport (e.g. the spoofed id), or null.</summary>
    public string? Note => _hasNoteArgument && _note is not null
        ? string.Format(CultureInfo.InvariantCulture, _note, _noteArgument)
        : _note;

    private readonly string? _note = note;

    /// <summary>A readable one-line explanation (formatted now: read it only to show it).</summary>
    public string Detail => Reason switch
    {
        PacketRejectReason.TooLarge => string.Create(CultureInfo.InvariantCulture, $"packet of {Size} bytes from peer {PeerId} exceeds the maximum packet size {Limit}{Suffix}"),
        PacketRejectReason.QueueFull => string.Create(CultureInfo.InvariantCulture,
            $"queue full for peer {PeerId} ({Size} bytes{(Limit != 0 ? $", limit {Limit}" : string.Empty)}){Suffix}"),
        PacketRejectReason.SlowReader => string.Create(CultureInfo.InvariantCulture,
            $"peer {PeerId} reads too slowly: {Size} bytes queued for it{(Limit != 0 ? $" (limit {Limit})" : string.Empty)}{Suffix}"),
        PacketRejectReason.TooSmall => string.Create(CultureInfo.InvariantCulture, $"packet of {Size} bytes from peer {PeerId} is too small{Suffix}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Reason} from peer {PeerId}{(Size != 0 ? $" ({Size} bytes)" : string.Empty)}{Suffix}"),
    };

    private string Suffix => Note is { } n ? ": " + n : string.Empty;

    /// <inheritdoc/>
    public override string ToString() => Detail;
}
