using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace GdNet.WebSockets;

/// <summary>The opcodes of RFC 6455 §5.2.</summary>
internal enum WsOpcode : byte
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// <summary>One parsed frame header (RFC 6455 §5.2).</summary>
/// <param name="Fin">The FIN bit: the last frame of a message.</param>
/// <param name="Opcode">The opcode.</param>
/// <param name="Masked">The MASK bit.</param>
/// <param name="Mask">The masking key as laid out in memory (for <see cref="Rfc6455.MaskCopy"/>), 0 when not masked.</param>
/// <param name="PayloadLength">The declared payload length (0 to 2^63 − 1).</param>
/// <param name="HeaderLength">The header's size in bytes (2 to 14).</param>
internal readonly record struct WsFrameHeader(bool Fin, WsOpcode Opcode, bool Masked, uint Mask, long PayloadLength, int HeaderLength)
{
    /// <summary>Close, ping or pong.</summary>
    public bool IsControl => ((byte)Opcode & 0x8) != 0;
}

/// <summary>The outcome of <see cref="Rfc6455.TryReadHeader"/>.</summary>
internal enum WsHeaderStatus
{
    /// <summary>The data ends inside the header: read more, nothing was consumed.</summary>
    NeedMore,

    /// <summary>A valid header.</summary>
    Ok,

    /// <summary>A protocol error (close 1002); the reason says which.</summary>
    Invalid,
}

/// <summary>
/// RFC 6455 without any I/O: frame headers (parsed and written), masking, close payloads and codes, and the opening
/// handshake's key and accept values. The one place that knows the wire format of WebSocket frames; pure functions over
/// spans, no allocation (except the text of an error), so a fuzz harness can call them.
/// </summary>
internal static class Rfc6455
{
    private const byte FinBinary = 0x82;
    private const byte MaskBit = 0x80;

    /// <summary>The largest header: 2 bytes, a 64-bit length, a masking key.</summary>
    public const int MaxHeaderSize = 14;

    /// <summary>The largest control frame payload (§5.5).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>The largest control frame: header with a 7-bit length and a mask, and 125 bytes.</summary>
    public const int MaxControlFrame = 2 + 4 + MaxControlPayload;

    /// <summary>The GUID appended to the key for <c>Sec-WebSocket-Accept</c> (§1.3).</summary>
    public const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>
    /// Parses the frame header at the start of <paramref name="data"/>. Refuses (protocol error) what no endpoint here may
    /// send: reserved bits (no extension is ever negotiated), unknown opcodes, fragmented or over-125-byte control frames,
    /// a 64-bit length with its top bit set, and lengths not in their minimal form (§5.2: "the minimal number of bytes
    /// MUST be used"). Masking is not checked here: which side must mask is the caller's rule.
    /// </summary>
    public static WsHeaderStatus TryReadHeader(ReadOnlySpan<byte> data, out WsFrameHeader header, out string? error)
    {
        header = default;
        error = null;
        if (data.Length < 2)
        {
            return WsHeaderStatus.NeedMore;
        }

        var b0 = data[0];
        var b1 = data[1];
        if ((b0 & 0x70) != 0)
        {
            error = "reserved bits set (no extension was negotiated)";
            return WsHeaderStatus.Invalid;
        }

        var opcode = (WsOpcode)(b0 & 0x0F);
        if (opcode is not (WsOpcode.Continuation or WsOpcode.Text or WsOpcode.Binary or WsOpcode.Close or WsOpcode.Ping or WsOpcode.Pong))
        {
            error = UnknownOpcode((int)opcode);
            return WsHeaderStatus.Invalid;
        }

        var fin = (b0 & 0x80) != 0;
        var masked = (b1 & MaskBit) != 0;
        var len7 = b1 & 0x7F;
        var control = ((byte)opcode & 0x8) != 0;
        if (control && !fin)
        {
            error = "fragmented control frame";
            return WsHeaderStatus.Invalid;
        }

        if (control && len7 > MaxControlPayload)
        {
            error = "control frame longer than 125 bytes";
            return WsHeaderStatus.Invalid;
        }

        long length;
        int n;
        if (len7 <= 125)
        {
            length = len7;
            n = 2;
        }
        else if (len7 == 126)
        {
            if (data.Length < 4)
            {
                return WsHeaderStatus.NeedMore;
            }

            length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            if (length <= 125)
            {
                error = "payload length not in its minimal form (16 bits for 125 or less)";
                return WsHeaderStatus.Invalid;
            }

            n = 4;
        }
        else
        {
            if (data.Length < 10)
            {
                return WsHeaderStatus.NeedMore;
            }

            var l64 = BinaryPrimitives.ReadUInt64BigEndian(data[2..]);
            if (l64 > long.MaxValue)
            {
                error = "64-bit payload length with its most significant bit set";
                return WsHeaderStatus.Invalid;
            }

            if (l64 <= ushort.MaxValue)
            {
                error = "payload length not in its minimal form (64 bits for 65535 or less)";
                return WsHeaderStatus.Invalid;
            }

            length = (long)l64;
            n = 10;
        }

        uint mask = 0;
        if (masked)
        {
            if (data.Length < n + 4)
            {
                return WsHeaderStatus.NeedMore;
            }

            mask = MemoryMarshal.Read<uint>(data[n..]);
            n += 4;
        }

        header = new WsFrameHeader(fin, opcode, masked, mask, length, n);
        return WsHeaderStatus.Ok;
    }

    private static string UnknownOpcode(int opcode) => string.Create(CultureInfo.InvariantCulture, $"unknown opcode 0x{opcode:X}");

    /// <summary>
    /// Whether <paramref name="code"/> may be received in a close frame (§7.4): 1000–1003, 1007–1014 (the IANA registry's
    /// defined codes), 3000–4999. 1004–1006 and 1015 must never be sent; the rest is reserved.
    /// </summary>
    public static bool IsValidReceivedCloseCode(int code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

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
    /// Writes a whole control frame (<paramref name="opcode"/> with FIN, at most 125 bytes of payload: the close code, when
    /// not 0, then <paramref name="payload"/>), masked with <paramref name="mask"/> when <paramref name="masked"/>. Returns its
    /// size; <paramref name="destination"/> needs <see cref="MaxControlFrame"/> bytes.
    /// </summary>
    public static int WriteControlFrame(Span<byte> destination, WsOpcode opcode, int closeCode, ReadOnlySpan<byte> payload, bool masked, uint mask)
    {
        var codeBytes = closeCode != 0 ? 2 : 0;
        var length = codeBytes + payload.Length;
        if (length > MaxControlPayload)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), "A control frame's payload is at most 125 bytes.");
        }

        destination[0] = (byte)(0x80 | (byte)opcode);
        destination[1] = (byte)((masked ? MaskBit : 0) | length);
        var n = 2;
        if (masked)
        {
            MemoryMarshal.Write(destination[n..], in mask);
            n += 4;
        }

        Span<byte> code = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(code, (ushort)closeCode);
        if (masked)
        {
            var offset = MaskCopy(code[..codeBytes], destination[n..], mask, 0);
            MaskCopy(payload, destination[(n + codeBytes)..], mask, offset);
        }
        else
        {
            code[..codeBytes].CopyTo(destination[n..]);
            payload.CopyTo(destination[(n + codeBytes)..]);
        }

        return n + length;
    }

    /// <summary>
    /// Encodes a close reason as UTF-8 into <paramref name="destination"/> (123 bytes: the close frame's 125 less the code),
    /// cut at a character boundary when longer. Returns the bytes written.
    /// </summary>
    public static int EncodeCloseReason(string reason, Span<byte> destination)
    {
        var room = Math.Min(destination.Length, MaxControlPayload - 2);
        var chars = reason.AsSpan();
        var n = chars.Length;
        while (n > 0 && Encoding.UTF8.GetByteCount(chars[..n]) > room)
        {
            n--;
            if (n > 0 && char.IsLowSurrogate(chars[n]))
            {
                n--;
            }
        }

        return Encoding.UTF8.GetBytes(chars[..n], destination);
    }

    /// <summary>Whether <paramref name="key"/> is a valid <c>Sec-WebSocket-Key</c>: base64 of exactly 16 bytes (§4.2.1).</summary>
    public static bool IsValidKey(ReadOnlySpan<char> key)
    {
        key = key.Trim();
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64Chars(key, decoded, out var n) && n == 16;
    }

    /// <summary>The <c>Sec-WebSocket-Accept</c> value for <paramref name="key"/>: base64(SHA-1(key + GUID)) (§4.2.2).</summary>
    public static string ComputeAccept(ReadOnlySpan<char> key)
    {
        key = key.Trim();
        Span<byte> input = stackalloc byte[key.Length * 3 + AcceptGuid.Length];
        var n = Encoding.ASCII.GetBytes(key, input);
        n += Encoding.ASCII.GetBytes(AcceptGuid, input[n..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
#pragma warning disable CA5350 // SHA-1 is what RFC 6455 prescribes for the accept value; it protects nothing.
        SHA1.HashData(input[..n], hash);
#pragma warning restore CA5350
        return Convert.ToBase64String(hash);
    }

    /// <summary>A fresh random <c>Sec-WebSocket-Key</c> (16 random bytes, base64).</summary>
    public static string NewKey()
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        return Convert.ToBase64String(nonce);
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
