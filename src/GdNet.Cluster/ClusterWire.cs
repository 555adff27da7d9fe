using System.Buffers.Binary;
using System.Text;
using GdNet.Peers;

namespace GdNet.Cluster;

/// <summary>
/// The bytes of one NATS message between nodes: a header (version, kind, the sender's per-subject sequence number, the
/// sender's node key) and, for room traffic, records one after another. Packets travel as the MultiplayerAPI bytes the
/// client sent, behind a 14-byte record header (source, target, mode, channel, length): nothing is re-encoded.
/// </summary>
/// <remarks>
/// <code>
/// message: u8 version (1) | u8 kind | u64 sequence | u8 nodeKeyLength | nodeKey (UTF-8) | records…
/// kind 1 room traffic; 2 heartbeat; 3 goodbye (the node is leaving the cluster)
/// record:  u8 type | …   (little-endian)
///   1 packet   i32 from | i32 to | u8 mode | u8 channel | i32 length | payload
///   2 joined   i32 peer
///   3 left     i32 peer
///   4 members  u8 flags (1: please answer with yours) | i32 count | i32 peer…
///   5 kick     i32 peer | u8 reasonLength | reason (UTF-8, at most 123 bytes: a WebSocket close reason)
///   6 host     (nothing: the sending node now runs the room's hosted logic)
/// </code>
/// </remarks>
internal static class ClusterWire
{
    public const byte Version = 1;
    public const byte KindRoom = 1;
    public const byte KindHeartbeat = 2;
    public const byte KindGoodbye = 3;

    public const byte RecordPacket = 1;
    public const byte RecordJoined = 2;
    public const byte RecordLeft = 3;
    public const byte RecordMembers = 4;
    public const byte RecordKick = 5;
    public const byte RecordHost = 6;

    /// <summary>The longest kick reason carried (a WebSocket close frame's reason limit).</summary>
    public const int MaxReasonBytes = 123;

    public const byte MembersAnswer = 1;

    public const int PacketRecordHeader = 1 + 4 + 4 + 1 + 1 + 4;

    public static int HeaderLength(byte[] nodeKey) => 1 + 1 + 8 + 1 + nodeKey.Length;

    public static void WriteHeader(Span<byte> to, byte kind, ulong sequence, byte[] nodeKey)
    {
        to[0] = Version;
        to[1] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(to[2..], sequence);
        to[10] = (byte)nodeKey.Length;
        nodeKey.CopyTo(to[11..]);
    }

    /// <summary>Reads a message header; false when it is not one of ours (counted by the caller).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out byte kind, out ulong sequence, out ReadOnlySpan<byte> nodeKey, out int bodyOffset)
    {
        kind = 0;
        sequence = 0;
        nodeKey = default;
        bodyOffset = 0;
        if (message.Length < 11 || message[0] != Version)
        {
            return false;
        }

        kind = message[1];
        sequence = BinaryPrimitives.ReadUInt64LittleEndian(message[2..]);
        var keyLength = message[10];
        if (message.Length < 11 + keyLength || keyLength == 0)
        {
            return false;
        }

        nodeKey = message.Slice(11, keyLength);
        bodyOffset = 11 + keyLength;
        return true;
    }

    public static void WritePacket(Span<byte> to, int from, int target, TransferModeEnum mode, int channel, ReadOnlySpan<byte> payload)
    {
        to[0] = RecordPacket;
        BinaryPrimitives.WriteInt32LittleEndian(to[1..], from);
        BinaryPrimitives.WriteInt32LittleEndian(to[5..], target);
        to[9] = (byte)mode;
        to[10] = (byte)channel;
        BinaryPrimitives.WriteInt32LittleEndian(to[11..], payload.Length);
        payload.CopyTo(to[PacketRecordHeader..]);
    }

    public static void WritePeer(Span<byte> to, byte type, int peer)
    {
        to[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(to[1..], peer);
    }

    /// <summary>The length of a kick record; <paramref name="reasonBytes"/> is the reason cut to <see cref="MaxReasonBytes"/> whole characters.</summary>
    public static int KickLength(string reason, out int reasonBytes)
    {
        reasonBytes = 0;
        foreach (var rune in reason.EnumerateRunes())
        {
            if (reasonBytes + rune.Utf8SequenceLength > MaxReasonBytes)
            {
                break;
            }

            reasonBytes += rune.Utf8SequenceLength;
        }

        return 1 + 4 + 1 + reasonBytes;
    }

    public static void WriteKick(Span<byte> to, int peer, string reason, int reasonBytes)
    {
        to[0] = RecordKick;
        BinaryPrimitives.WriteInt32LittleEndian(to[1..], peer);
        to[5] = (byte)reasonBytes;
        var written = 0;
        foreach (var rune in reason.EnumerateRunes())
        {
            if (written + rune.Utf8SequenceLength > reasonBytes)
            {
                break;
            }

            written += rune.EncodeToUtf8(to[(6 + written)..]);
        }
    }

    public static int MembersLength(int count) => 1 + 1 + 4 + (4 * count);

    public static void WriteMembers(Span<byte> to, byte flags, ReadOnlySpan<int> peers)
    {
        to[0] = RecordMembers;
        to[1] = flags;
        BinaryPrimitives.WriteInt32LittleEndian(to[2..], peers.Length);
        for (var i = 0; i < peers.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(to[(6 + (4 * i))..], peers[i]);
        }
    }

    public static string NodeKeyString(ReadOnlySpan<byte> key) => Encoding.UTF8.GetString(key);
}
