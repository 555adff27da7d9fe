using System.Buffers;
using System.Globalization;
using System.Numerics;
using GdNet.Variants;

namespace GdNet.Peers;

// Godot's PacketPeer Variant helpers: get_var, put_var and encode_buffer_max_size (spec §2.1, §1.9).
public abstract partial class PacketPeer
{
    /// <summary>The smallest <see cref="EncodeBufferMaxSize"/> Godot accepts: 1024 bytes.</summary>
    public const int MinEncodeBufferMaxSize = 1024;

    /// <summary>The largest <see cref="EncodeBufferMaxSize"/> Godot accepts: 256 MiB.</summary>
    public const int MaxEncodeBufferMaxSize = 256 * 1024 * 1024;

    private int _encodeBufferMaxSize = DefaultEncodeBufferMaxSize;

    /// <summary>
    /// Godot's <c>encode_buffer_max_size</c>: the largest encoding <see cref="PutVar"/> sends (default 8 MiB). The setter
    /// rounds up to the next power of two (1500 becomes 2048), as Godot does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1024 or above 256 MiB (268435456).</exception>
    public int EncodeBufferMaxSize
    {
        get => _encodeBufferMaxSize;
        set
        {
            if (value is < MinEncodeBufferMaxSize or > MaxEncodeBufferMaxSize)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(value),
                    value,
                    string.Create(CultureInfo.InvariantCulture, $"EncodeBufferMaxSize must be between {MinEncodeBufferMaxSize} and {MaxEncodeBufferMaxSize} (256 MiB); it is rounded up to the next power of two."));
            }

            _encodeBufferMaxSize = (int)BitOperations.RoundUpToPowerOf2((uint)value);
        }
    }

    /// <summary>
    /// Godot's <c>get_var(allow_objects)</c>: takes the next packet and decodes it as one Variant (bytes after it are
    /// ignored). Returns nil when no packet is queued or the packet is not a valid Variant; use <see cref="TryGetVar"/> to
    /// know why. Full objects are decoded (as <see cref="ObjectData"/>, never instantiated) when
    /// <paramref name="allowObjects"/> or <see cref="AllowObjectDecoding"/> is true. Does not change
    /// <see cref="GetPacketError"/>. Game thread only.
    /// </summary>
    public Variant GetVar(bool allowObjects = false) => TryGetVar(out var value, out _, allowObjects) ? value : default;

    /// <summary>
    /// Takes the next packet and decodes it as one Variant, without throwing. On failure the packet is consumed, the value
    /// is nil and <paramref name="error"/> says why (<see cref="VariantErrorReason.NoPacket"/> when none was queued).
    /// Game thread only.
    /// </summary>
    public bool TryGetVar(out Variant value, out VariantError error, bool allowObjects = false)
    {
        if (!TryGetPacketCore(out var packet))
        {
            value = default;
            error = new VariantError(VariantErrorReason.NoPacket, 0, Error.Unavailable);
            return false;
        }

        var options = new VariantReadOptions { AllowObjects = allowObjects || AllowObjectDecoding };
        return VariantCodec.TryRead(packet, options, out value, out _, out error);
    }

    /// <summary>
    /// Godot's <c>put_var(var, full_objects)</c>: encodes <paramref name="value"/> and sends it as one packet. Objects are
    /// encoded in full when <paramref name="fullObjects"/> or <see cref="AllowObjectDecoding"/> is true. Encodes through a
    /// pooled buffer.
    /// </summary>
    /// <returns><see cref="Error.OutOfMemory"/> when the encoding is larger than <see cref="EncodeBufferMaxSize"/> or the
    /// value nests deeper than <see cref="VariantCodec.DefaultMaxDepth"/> (Godot 3.4+); otherwise the result of
    /// <see cref="PutPacket(ReadOnlySpan{byte})"/>.</returns>
    public Error PutVar(in Variant value, bool fullObjects = false)
    {
        var full = fullObjects || AllowObjectDecoding;
        if (!VariantCodec.TryGetEncodedSize(value, full, out var size) || size > _encodeBufferMaxSize)
        {
            return Error.OutOfMemory;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            // Measured above, so this only fails if another thread mutates the value meanwhile.
            var writer = new VariantWriter(buffer, full);
            if (!writer.TryWriteValue(value, 0) || writer.Position != size)
            {
                return Error.Failed;
            }

            return PutPacket(buffer.AsSpan(0, writer.Position));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
