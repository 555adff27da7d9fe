using System.Buffers.Binary;
using GdNet.Peers;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>
/// Godot 3's ENet framing (spec §6.1–6.3) in one place, for the client's <c>PutPacket</c> and the server's connections:
/// the channel and ENet flags of each transfer mode, the 8-byte source/target header, and the system messages.
/// </summary>
internal static unsafe class EnetFraming
{
    /// <summary>The Godot header on data channels: u32 source, i32 target (little-endian).</summary>
    public const int HeaderSize = 8;

    public const byte ChannelConfig = 0;
    public const byte ChannelReliable = 1;
    public const byte ChannelUnreliable = 2;

    public const uint SysMsgAddPeer = 0;
    public const uint SysMsgRemovePeer = 1;

    /// <summary>
    /// The ENet flags Godot sends <paramref name="mode"/> with: Reliable → RELIABLE; Unreliable → UNSEQUENCED (flag 0
    /// with <c>always_ordered</c>); UnreliableOrdered → 0 (sequenced unreliable).
    /// </summary>
    public static uint FlagsFor(TransferModeEnum mode, bool alwaysOrdered = false) => mode switch
    {
        TransferModeEnum.Unreliable => alwaysOrdered ? 0 : PacketFlagUnsequenced,
        TransferModeEnum.UnreliableOrdered => 0,
        _ => PacketFlagReliable,
    };

    /// <summary>
    /// The channel Godot sends on: <paramref name="requested"/> when it is a data channel the host has (Godot's
    /// <c>transfer_channel</c>, or the channel a relayed packet came on), else 1 for Reliable and 2 for the unreliable modes.
    /// </summary>
    public static byte ChannelFor(TransferModeEnum mode, int requested, int channelCount) =>
        requested > ChannelConfig && requested < channelCount ? (byte)requested
        : mode == TransferModeEnum.Reliable ? ChannelReliable : ChannelUnreliable;

    /// <summary>The transfer mode of a received packet, from its ENet flags.</summary>
    public static TransferModeEnum ModeOf(uint flags) =>
        (flags & PacketFlagReliable) != 0 ? TransferModeEnum.Reliable
        : (flags & PacketFlagUnsequenced) != 0 ? TransferModeEnum.Unreliable
        : TransferModeEnum.UnreliableOrdered;

    /// <summary>
    /// A new ENet packet holding Godot's header (<paramref name="from"/>, <paramref name="to"/>) and
    /// <paramref name="payload"/> (one copy into native memory), or null when ENet cannot allocate it. Any thread.
    /// </summary>
    public static EnetPacket* CreateData(int from, int to, ReadOnlySpan<byte> payload, uint flags)
    {
        var packet = enet_packet_create(null, (nuint)(payload.Length + HeaderSize), flags);
        if (packet == null)
        {
            return null;
        }

        var data = new Span<byte>(packet->Data, payload.Length + HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)from);
        BinaryPrimitives.WriteInt32LittleEndian(data[4..], to);
        payload.CopyTo(data[HeaderSize..]);
        return packet;
    }

    /// <summary>
    /// Reads a system message as a client receives it on channel 0: u32 message, u32 peer id (little-endian), in Godot's
    /// order of checks: at least 8 bytes, then an id that can be another peer's (2 to <see cref="int.MaxValue"/>, not
    /// <paramref name="selfId"/>), then a known message. <paramref name="message"/> and <paramref name="peerId"/> hold
    /// what was read (0 when too short).
    /// </summary>
    public static SystemMessageKind ReadSystemMessage(ReadOnlySpan<byte> data, int selfId, out uint message, out uint peerId)
    {
        if (data.Length < 8)
        {
            message = 0;
            peerId = 0;
            return SystemMessageKind.TooShort;
        }

        message = BinaryPrimitives.ReadUInt32LittleEndian(data);
        peerId = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (peerId < 2 || peerId > int.MaxValue || peerId == (uint)selfId)
        {
            return SystemMessageKind.InvalidPeerId;
        }

        return message switch
        {
            SysMsgAddPeer => SystemMessageKind.AddPeer,
            SysMsgRemovePeer => SystemMessageKind.RemovePeer,
            _ => SystemMessageKind.Unknown,
        };
    }

    /// <summary>A new system message (reliable, for channel 0): u32 message, u32 peer id. Null when ENet cannot allocate it. Any thread.</summary>
    public static EnetPacket* CreateSystemMessage(uint message, int peerId)
    {
        var packet = enet_packet_create(null, 8, PacketFlagReliable);
        if (packet == null)
        {
            return null;
        }

        var span = new Span<byte>(packet->Data, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(span, message);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)peerId);
        return packet;
    }
}

/// <summary>What <see cref="EnetFraming.ReadSystemMessage"/> found.</summary>
internal enum SystemMessageKind
{
    /// <summary>ADD_PEER with a valid id.</summary>
    AddPeer,

    /// <summary>REMOVE_PEER with a valid id.</summary>
    RemovePeer,

    /// <summary>Shorter than 8 bytes.</summary>
    TooShort,

    /// <summary>The id is reserved (below 2), not a 31-bit id, or the receiver's own.</summary>
    InvalidPeerId,

    /// <summary>A valid id with a message number Godot does not have.</summary>
    Unknown,
}
