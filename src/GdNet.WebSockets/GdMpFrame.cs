using System.Buffers.Binary;

namespace GdNet.WebSockets;

/// <summary>The message types of Godot 3's WebSocket multiplayer header (spec §5.1).</summary>
internal enum GdMpMessageType : byte
{
    /// <summary>A MultiplayerAPI packet (Godot's SYS_NONE).</summary>
    Data = 0,

    /// <summary>Server to client: peer id connected.</summary>
    SysAdd = 1,

    /// <summary>Server to client: peer id disconnected.</summary>
    SysDel = 2,

    /// <summary>Server to client: your id.</summary>
    SysId = 3,
}

/// <summary>A parsed 9-byte header: <c>u8 type | i32 from | i32 to</c>, little-endian.</summary>
internal readonly record struct GdMpHeader(GdMpMessageType Type, int From, int To);

/// <summary>
/// The one place that knows Godot 3's <c>gd_mp_api</c> WebSocket framing (spec §5.1): every WebSocket message is a 9-byte
/// header followed by either a MultiplayerAPI packet (DATA) or a 4-byte peer id (SYS_ADD, SYS_DEL, SYS_ID).
/// </summary>
internal static class GdMpFrame
{
    /// <summary>Size of the header in front of every message.</summary>
    public const int HeaderSize = 9;

    /// <summary>Size of a whole system message: header plus a 4-byte id.</summary>
    public const int SystemMessageSize = HeaderSize + 4;

    /// <summary>The sender id the server puts in system messages.</summary>
    public const int ServerId = 1;

    /// <summary>Writes a header into the first <see cref="HeaderSize"/> bytes of <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, GdMpMessageType type, int from, int to)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, HeaderSize);
        destination[0] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(destination[1..], from);
        BinaryPrimitives.WriteInt32LittleEndian(destination[5..], to);
    }

    /// <summary>Writes a whole system message (from 1, to 0, then the id) into <paramref name="destination"/>.</summary>
    public static void WriteSystem(Span<byte> destination, GdMpMessageType type, int id)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, SystemMessageSize);
        WriteHeader(destination, type, ServerId, 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[HeaderSize..], id);
    }

    /// <summary>
    /// Reads the header of <paramref name="message"/>. False when the message is shorter than <see cref="HeaderSize"/>
    /// or its type byte is not one of <see cref="GdMpMessageType"/>; <paramref name="header"/> then holds what could be read.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out GdMpHeader header)
    {
        if (message.Length < HeaderSize)
        {
            header = default;
            return false;
        }

        header = new GdMpHeader(
            (GdMpMessageType)message[0],
            BinaryPrimitives.ReadInt32LittleEndian(message[1..]),
            BinaryPrimitives.ReadInt32LittleEndian(message[5..]));
        return message[0] <= (byte)GdMpMessageType.SysId;
    }

    /// <summary>The id carried by a system message, or false when fewer than 4 bytes follow the header.</summary>
    public static bool TryReadSystemId(ReadOnlySpan<byte> message, out int id)
    {
        if (message.Length < SystemMessageSize)
        {
            id = 0;
            return false;
        }

        id = BinaryPrimitives.ReadInt32LittleEndian(message[HeaderSize..]);
        return true;
    }

    /// <summary>The MultiplayerAPI packet after the header of a DATA message.</summary>
    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> message) => message[HeaderSize..];
}
