using System.Buffers.Binary;
using GdNet.Enet;
using GdNet.Enet.Interop;
using GdNet.Peers;

namespace GdNet.Fuzz;

/// <summary>
/// <c>enet</c>: the ENet datagram inspector (<see cref="DatagramInspector"/>, run on every UDP datagram before native ENet
/// sees it), Godot's system messages as a client reads them (<see cref="EnetFraming.ReadSystemMessage"/>, on the same
/// bytes) and Godot's ENet framing helpers (<see cref="EnetFraming"/>). Input: <c>u8 peer slots − 1 · u8 flags (bit 0:
/// compression on) · u32 LE max packet length · datagram</c>. Malformed input: verdict
/// <see cref="DatagramVerdict.Malformed"/> with a note. Checks: a verdict is consistent with the facts reported (peer
/// slot in range, a CONNECT only where there is no peer, an oversized fragment really over the limit).
/// </summary>
internal sealed class EnetTarget : FuzzTarget
{
    private const int Prefix = 6;



    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < Prefix)
        {
            return;
        }

        var peerCount = input[0] + 1;
        var compression = (input[1] & 1) != 0;
        long maxPacketLength = BinaryPrimitives.ReadUInt32LittleEndian(input[2..]);
        var datagram = input[Prefix..];

        var info = DatagramInspector.Inspect(datagram, peerCount, compression, maxPacketLength);
        if (info.Verdict == DatagramVerdict.Malformed)
        {
            FuzzCheckException.Check(!string.IsNullOrEmpty(info.Note), "a malformed datagram says why");
        }
        else
        {
            FuzzCheckException.Check(info.Verdict == DatagramVerdict.Ok && info.Note is null, "an accepted datagram has no note");
            FuzzCheckException.Check(info.PeerIndex >= -1 && info.PeerIndex < peerCount, $"peer slot {info.PeerIndex} of {peerCount}");
            FuzzCheckException.Check(!info.Compressed || compression, "a compressed datagram passes only with compression on");
            FuzzCheckException.Check(!info.HasConnect || info.PeerIndex == -1 || datagram.Length >= 2 + 48, "CONNECT data read from a whole command");
            FuzzCheckException.Check(!info.OversizedFragment || info.OversizedTotalLength > maxPacketLength, "an oversized fragment is over the limit");
        }

        // The framing helpers every received packet goes through, with the flags and channel from the datagram's start.
        var flags = datagram.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(datagram) : 0u;
        var mode = EnetFraming.ModeOf(flags);
        FuzzCheckException.Check(Enum.IsDefined(mode), "ModeOf gives a transfer mode");
        FuzzCheckException.Check(EnetFraming.ModeOf(EnetFraming.FlagsFor(mode)) == mode, "FlagsFor/ModeOf round trip");
        var channel = EnetFraming.ChannelFor(mode, (sbyte)input[1], peerCount);
        FuzzCheckException.Check(channel != EnetFraming.ChannelConfig, "data never goes on the system channel");

        // The same bytes as a system message on channel 0 (client side), received by peer 2 + the first byte.
        var selfId = 2 + input[0];
        var kind = EnetFraming.ReadSystemMessage(datagram, selfId, out var message, out var peerId);
        switch (kind)
        {
            case SystemMessageKind.TooShort:
                FuzzCheckException.Check(datagram.Length < 8, "a system message of 8 bytes or more is not too short");
                break;
            case SystemMessageKind.InvalidPeerId:
                FuzzCheckException.Check(peerId < 2 || peerId > int.MaxValue || peerId == (uint)selfId, $"peer id {peerId} refused");
                break;
            default:
                FuzzCheckException.Check(peerId is >= 2 and <= int.MaxValue && peerId != (uint)selfId, $"peer id {peerId} accepted");
                FuzzCheckException.Check((kind == SystemMessageKind.AddPeer) == (message == EnetFraming.SysMsgAddPeer)
                    && (kind == SystemMessageKind.RemovePeer) == (message == EnetFraming.SysMsgRemovePeer), $"message {message} read as {kind}");
                break;
        }
    }
}
