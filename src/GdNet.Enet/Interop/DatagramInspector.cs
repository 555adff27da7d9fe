using System.Buffers.Binary;

namespace GdNet.Enet.Interop;

/// <summary>What <see cref="DatagramInspector.Inspect"/> found in one UDP datagram.</summary>
internal enum DatagramVerdict
{
    /// <summary>A well-formed ENet 1.3 datagram (or a compressed one, which is not looked into).</summary>
    Ok = 0,

    /// <summary>Not something ENet will process; <see cref="DatagramInfo.Note"/> says why.</summary>
    Malformed,
}

/// <summary>The facts the service thread needs from one datagram, before ENet processes it.</summary>
internal struct DatagramInfo
{
    public DatagramVerdict Verdict;

    /// <summary>Why the datagram is malformed (a constant string), or null.</summary>
    public string? Note;

    /// <summary>The number behind <see cref="Note"/> (a peer slot, a command number…).</summary>
    public long NoteValue;

    /// <summary>The receiving peer slot named in the header, or -1 for "no peer yet" (0xFFF, used by CONNECT).</summary>
    public int PeerIndex;

    public bool Compressed;

    public bool HasConnect;
    public uint ConnectId;
    public uint ConnectData;

    /// <summary>A fragment announcing a packet larger than the limit given to <see cref="DatagramInspector.Inspect"/>.</summary>
    public bool OversizedFragment;
    public bool OversizedReliable;
    public ushort OversizedStartSequence;
    public uint OversizedTotalLength;
}

/// <summary>
/// Reads the ENet 1.3 protocol header and command list of a raw datagram (protocol numbers are big-endian), without
/// touching ENet. The service thread runs it from ENet's intercept hook to count garbage, to see CONNECT requests (and
/// the Godot client id in their data) before ENet allocates a peer slot, and to spot fragments of oversized packets.
/// </summary>
internal static class DatagramInspector
{
    public const int CommandAcknowledge = 1;
    public const int CommandConnect = 2;
    public const int CommandSendReliable = 6;
    public const int CommandSendUnreliable = 7;
    public const int CommandSendFragment = 8;
    public const int CommandSendUnsequenced = 9;
    public const int CommandSendUnreliableFragment = 12;
    public const int CommandCount = 13;

    private const ushort HeaderFlagCompressed = 1 << 14;
    private const ushort HeaderFlagSentTime = 1 << 15;
    private const int PeerIdMask = 0x0FFF;

    // sizeof(ENetProtocol*) per command number, 0 for NONE (invalid).
    private static ReadOnlySpan<byte> CommandSizes => [0, 8, 48, 44, 8, 4, 6, 8, 24, 8, 12, 16, 24];

    /// <summary>Inspects <paramref name="datagram"/> as received by a host with <paramref name="peerCount"/> slots.</summary>
    /// <param name="datagram">The raw UDP payload.</param>
    /// <param name="peerCount">The host's peer slots.</param>
    /// <param name="compressionEnabled">Whether the host has a compressor (else compressed datagrams are garbage).</param>
    /// <param name="maxPacketLength">ENet packets longer than this (Godot header included) are oversized.</param>
    public static DatagramInfo Inspect(ReadOnlySpan<byte> datagram, int peerCount, bool compressionEnabled, long maxPacketLength)
    {
        var info = new DatagramInfo { PeerIndex = -1 };
        if (datagram.Length < 2)
        {
            return Malformed(ref info, "shorter than an ENet header", datagram.Length);
        }

        var field = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        var headerSize = (field & HeaderFlagSentTime) != 0 ? 4 : 2;
        if (datagram.Length < headerSize)
        {
            return Malformed(ref info, "shorter than its ENet header", datagram.Length);
        }

        var peerId = field & PeerIdMask;
        if (peerId != EnetNative.MaximumPeerId)
        {
            if (peerId >= peerCount)
            {
                return Malformed(ref info, "addressed to a peer slot this host does not have", peerId);
            }

            info.PeerIndex = peerId;
        }

        if ((field & HeaderFlagCompressed) != 0)
        {
            info.Compressed = true;
            return compressionEnabled
                ? info
                : Malformed(ref info, "compressed, but this host's CompressionMode is None (do both sides use the same compression?)", 0);
        }

        var offset = headerSize;
        while (offset < datagram.Length)
        {
            if (datagram.Length - offset < 4)
            {
                return Malformed(ref info, "ends inside a command header", offset);
            }

            var number = datagram[offset] & 0x0F;
            if (number == 0 || number >= CommandCount)
            {
                return Malformed(ref info, "holds an unknown ENet command", number);
            }

            int size = CommandSizes[number];
            if (datagram.Length - offset < size)
            {
                return Malformed(ref info, "ends inside a command", number);
            }

            if (info.PeerIndex < 0 && number != CommandConnect)
            {
                return Malformed(ref info, "has a command other than CONNECT for no peer", number);
            }

            var command = datagram.Slice(offset, size);
            var dataLength = 0;
            switch (number)
            {
                case CommandConnect:
                    info.HasConnect = true;
                    info.ConnectId = BinaryPrimitives.ReadUInt32BigEndian(command[40..]);
                    info.ConnectData = BinaryPrimitives.ReadUInt32BigEndian(command[44..]);
                    break;
                case CommandSendReliable:
                    dataLength = BinaryPrimitives.ReadUInt16BigEndian(command[4..]);
                    break;
                case CommandSendUnreliable:
                case CommandSendUnsequenced:
                    dataLength = BinaryPrimitives.ReadUInt16BigEndian(command[6..]);
                    break;
                case CommandSendFragment:
                case CommandSendUnreliableFragment:
                    dataLength = BinaryPrimitives.ReadUInt16BigEndian(command[6..]);
                    var totalLength = BinaryPrimitives.ReadUInt32BigEndian(command[16..]);
                    if (totalLength > maxPacketLength && !info.OversizedFragment)
                    {
                        info.OversizedFragment = true;
                        info.OversizedReliable = number == CommandSendFragment;
                        info.OversizedStartSequence = BinaryPrimitives.ReadUInt16BigEndian(command[4..]);
                        info.OversizedTotalLength = totalLength;
                    }

                    break;
                default:
                    break;
            }

            offset += size;
            if (datagram.Length - offset < dataLength)
            {
                return Malformed(ref info, "ends inside a command's data", number);
            }

            offset += dataLength;
        }

        return info;
    }

    private static DatagramInfo Malformed(ref DatagramInfo info, string note, long value)
    {
        info.Verdict = DatagramVerdict.Malformed;
        info.Note = note;
        info.NoteValue = value;
        return info;
    }
}
