using GdNet.Variants;

namespace GdNet.Peers;

/// <summary>
/// Godot 3's <c>PacketPeer</c>: a source and sink of whole packets, with Variant helpers (<c>GetVar</c>,
/// <c>PutVar</c>) on the Godot binary encoding.
/// </summary>
public abstract partial class PacketPeer
{
    /// <summary>Godot's default <c>encode_buffer_max_size</c>: 8 MiB.</summary>
    public const int DefaultEncodeBufferMaxSize = 8 * 1024 * 1024;

    private Error _lastPacketError = Error.Ok;

    /// <summary>Godot's <c>allow_object_decoding</c>: whether <c>GetVar</c> decodes full objects. Default false.</summary>
    public bool AllowObjectDecoding { get; set; }

    /// <summary>Godot's <c>get_available_packet_count()</c>.</summary>
    public abstract int AvailablePacketCount { get; }

    /// <summary>Godot's <c>get_packet_error()</c>: the result of the last <see cref="GetPacket"/> or <see cref="TryGetPacket"/>.</summary>
    public Error GetPacketError() => _lastPacketError;

    /// <summary>
    /// Takes the next packet as a new array (Godot's <c>get_packet()</c>). When none is queued it returns an empty array and
    /// <see cref="GetPacketError"/> becomes <see cref="Error.Unavailable"/>.
    /// </summary>
    public byte[] GetPacket() => TryGetPacket(out var packet) ? packet.ToArray() : [];

    /// <summary>
    /// Takes the next packet without copying. The span is lent: it stays valid only until the next call that reads from
    /// this peer (Godot: "gone after the next get_packet"). Game thread only.
    /// </summary>
    public bool TryGetPacket(out ReadOnlySpan<byte> packet)
    {
        var ok = TryGetPacketCore(out packet);
        _lastPacketError = ok ? Error.Ok : Error.Unavailable;
        return ok;
    }

    /// <summary>Implements <see cref="TryGetPacket"/>.</summary>
    protected abstract bool TryGetPacketCore(out ReadOnlySpan<byte> packet);

    /// <summary>Sends one packet (Godot's <c>put_packet()</c>). The bytes are copied or sent before this returns.</summary>
    public abstract Error PutPacket(ReadOnlySpan<byte> packet);

    /// <summary>Sends one packet (Godot's <c>put_packet()</c>).</summary>
    public Error PutPacket(byte[] packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        return PutPacket(packet.AsSpan());
    }
}
