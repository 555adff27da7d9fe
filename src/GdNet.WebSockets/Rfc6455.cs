using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace GdNet.WebSockets;

/// <summary>
/// Writes RFC 6455 data frames (FIN + binary opcode, one frame per message), masked when a client sends them. Only the
/// send side of data frames lives here; receiving, control frames (ping, pong, close) and the handshake stay with
/// <see cref="System.Net.WebSockets.WebSocket"/>.
/// </summary>
internal static class Rfc6455
{
    private const byte FinBinary = 0x82;
    private const byte MaskBit = 0x80;

    /// <summary>The frame header size for a payload of <paramref name="length"/> bytes.</summary>
    public static int HeaderSize(int length, bool masked) =>
        (length <= 125 ? 2 : length <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>Writes the header of a binary frame; returns its size. <paramref name="mask"/> is written when masked.</summary>
    public static int WriteHeader(Span<byte> destination, int length, bool masked, uint mask)
    {
        var maskBit = masked ? MaskBit : (byte)0;
        destination[0] = FinBinary;
        int n;
        if (length <= 125)
        {
            destination[1] = (byte)(maskBit | length);
            n = 2;
        }
        else if (length <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)length);
            n = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)length);
            n = 10;
        }

        if (masked)
        {
            MemoryMarshal.Write(destination[n..], in mask);
            n += 4;
        }

        return n;
    }

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/> XOR-ed with the 4-byte <paramref name="mask"/>
    /// (as laid out in memory), starting at mask byte <paramref name="maskOffset"/> (0–3). Returns the next offset.
    /// </summary>
    public static int MaskCopy(ReadOnlySpan<byte> source, Span<byte> destination, uint mask, int maskOffset)
    {
        // Rotate so that mask byte `maskOffset` comes first (little-endian memory order).
        var rotated = BitOperations.RotateRight(mask, maskOffset * 8);
        var wide = rotated | ((ulong)rotated << 32);
        var i = 0;
        for (; i + 8 <= source.Length; i += 8)
        {
            var v = MemoryMarshal.Read<ulong>(source[i..]) ^ wide;
            MemoryMarshal.Write(destination[i..], in v);
        }

        var b = MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in rotated));
        for (var j = 0; i < source.Length; i++, j++)
        {
            destination[i] = (byte)(source[i] ^ b[j & 3]);
        }

        return (maskOffset + source.Length) & 3;
    }
}

/// <summary>
/// Masking keys for one client connection, drawn from <see cref="RandomNumberGenerator"/> (RFC 6455 §5.3: a strong
/// source of entropy) 64 at a time, so a frame does not pay for a call into the system's CSPRNG. Not thread-safe: used
/// under the owning queue's lock.
/// </summary>
internal sealed class MaskSource
{
    private readonly uint[] _keys = new uint[64];
    private int _next = 64;

    public uint Next()
    {
        if (_next == _keys.Length)
        {
            RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(_keys.AsSpan()));
            _next = 0;
        }

        return _keys[_next++];
    }
}
