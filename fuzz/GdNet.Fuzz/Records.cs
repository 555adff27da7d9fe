using System.Buffers.Binary;

namespace GdNet.Fuzz;

/// <summary>
/// Splits one input into several records (packets, messages): each is <c>u8 selector · u16 LE length · bytes</c>; a
/// length past the end takes the rest. Seeds are written in the same form (fuzz/corpus/make-seeds.py).
/// </summary>
internal ref struct Records(ReadOnlySpan<byte> input)
{
    private ReadOnlySpan<byte> _rest = input;

    public bool TryNext(out byte selector, out ReadOnlySpan<byte> payload)
    {
        if (_rest.Length < 3)
        {
            selector = 0;
            payload = default;
            return false;
        }

        selector = _rest[0];
        var length = BinaryPrimitives.ReadUInt16LittleEndian(_rest[1..]);
        var body = _rest[3..];
        var n = Math.Min(length, body.Length);
        payload = body[..n];
        _rest = body[n..];
        return true;
    }

    /// <summary>Writes one record (used by the seed tools and tests).</summary>
    public static byte[] Encode(byte selector, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[3 + payload.Length];
        bytes[0] = selector;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(1), checked((ushort)payload.Length));
        payload.CopyTo(bytes.AsSpan(3));
        return bytes;
    }
}
