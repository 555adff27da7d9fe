using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace GdNet.Multiplayer;

/// <summary>The first byte of every MultiplayerAPI packet (spec §3.1).</summary>
internal enum NetworkCommand : byte
{
    RemoteCall = 0,
    RemoteSet = 1,
    SimplifyPath = 2,
    ConfirmPath = 3,
    Raw = 4,
}

/// <summary>
/// The MultiplayerAPI packet layouts (spec §3.2), in one place. All integers little-endian.
/// <code>
/// REMOTE_CALL   u8 0 · u32 target · name\0 · u8 argc · argc × Variant [· path\0 when target bit 31 is set]
/// REMOTE_SET    u8 1 · u32 target · name\0 · Variant [· path\0]
/// SIMPLIFY_PATH u8 2 · u32 cache id · path\0
/// CONFIRM_PATH  u8 3 · path\0
/// RAW           u8 4 · bytes (≥ 1)
/// </code>
/// <c>target</c> is the sender's path-cache id, or <c>0x80000000 | offset</c> where offset is the byte offset of the node
/// path appended after the arguments.
/// </summary>
internal static class RpcPacket
{
    /// <summary>Command byte and target/cache id.</summary>
    public const int HeaderSize = 5;

    /// <summary>Smallest REMOTE_CALL/REMOTE_SET Godot accepts: header plus one byte.</summary>
    public const int MinCallSize = 6;

    /// <summary>Smallest SIMPLIFY_PATH: header only (an empty path).</summary>
    public const int MinSimplifySize = 5;

    /// <summary>Smallest CONFIRM_PATH and RAW packet.</summary>
    public const int MinConfirmSize = 2;

    /// <inheritdoc cref="MinConfirmSize"/>
    public const int MinRawSize = 2;

    /// <summary>Bit 31 of the target: the node path is inside this packet at the offset in the low 31 bits.</summary>
    public const uint FullPathFlag = 0x8000_0000u;

    /// <summary>The argument count is one byte.</summary>
    public const int MaxArguments = 255;

    // ---- writing ------------------------------------------------------------------------------------------------

    /// <summary>Writes <c>cmd · target · name\0</c> and returns the offset after the NUL.</summary>
    public static int WriteCallHeader(Span<byte> destination, NetworkCommand command, uint target, ReadOnlySpan<byte> nameUtf8)
    {
        destination[0] = (byte)command;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], target);
        nameUtf8.CopyTo(destination[HeaderSize..]);
        destination[HeaderSize + nameUtf8.Length] = 0;
        return HeaderSize + nameUtf8.Length + 1;
    }

    /// <summary>Rewrites the target field of a REMOTE_CALL/REMOTE_SET packet.</summary>
    public static void WriteTarget(Span<byte> packet, uint target) => BinaryPrimitives.WriteUInt32LittleEndian(packet[1..], target);

    /// <summary>A complete SIMPLIFY_PATH packet.</summary>
    public static byte[] BuildSimplifyPath(int cacheId, ReadOnlySpan<byte> pathUtf8)
    {
        var packet = new byte[HeaderSize + pathUtf8.Length + 1];
        packet[0] = (byte)NetworkCommand.SimplifyPath;
        BinaryPrimitives.WriteInt32LittleEndian(packet.AsSpan(1), cacheId);
        pathUtf8.CopyTo(packet.AsSpan(HeaderSize));
        return packet;
    }

    /// <summary>A complete CONFIRM_PATH packet.</summary>
    public static byte[] BuildConfirmPath(string path)
    {
        var packet = new byte[1 + Encoding.UTF8.GetByteCount(path) + 1];
        packet[0] = (byte)NetworkCommand.ConfirmPath;
        Encoding.UTF8.GetBytes(path, packet.AsSpan(1));
        return packet;
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    /// <summary>The u32 after the command byte. The caller has checked the length.</summary>
    public static uint ReadTarget(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32LittleEndian(packet[1..]);

    /// <summary>
    /// The NUL-terminated string starting at <paramref name="start"/>; false when there is no NUL before the end.
    /// <paramref name="next"/> is the offset after the NUL.
    /// </summary>
    public static bool TryReadCString(ReadOnlySpan<byte> packet, int start, out ReadOnlySpan<byte> value, out int next)
    {
        var nul = packet[start..].IndexOf((byte)0);
        if (nul < 0)
        {
            value = default;
            next = packet.Length;
            return false;
        }

        value = packet.Slice(start, nul);
        next = start + nul + 1;
        return true;
    }

    /// <summary>A path as Godot parses it: UTF-8 from <paramref name="start"/> up to the first NUL or the end.</summary>
    public static ReadOnlySpan<byte> ReadPath(ReadOnlySpan<byte> packet, int start)
    {
        var rest = packet[start..];
        var nul = rest.IndexOf((byte)0);
        return nul < 0 ? rest : rest[..nul];
    }

    /// <summary>
    /// Decodes UTF-8 into <paramref name="buffer"/> (invalid sequences become U+FFFD, so they never match a name); returns
    /// the chars written, or -1 when the buffer is too small.
    /// </summary>
    public static int DecodeName(ReadOnlySpan<byte> utf8, Span<char> buffer)
    {
        var status = Utf8.ToUtf16(utf8, buffer, out _, out var written, replaceInvalidSequences: true);
        return status == System.Buffers.OperationStatus.Done ? written : -1;
    }
}
