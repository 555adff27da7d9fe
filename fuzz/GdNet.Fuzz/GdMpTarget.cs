using System.Net;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Server;
using GdNet.WebSockets;

namespace GdNet.Fuzz;

/// <summary>
/// <c>gdmp</c>: Godot's WebSocket <c>gd_mp_api</c> framing (<see cref="GdMpFrame"/>) and the relay router behind it. A
/// fresh <see cref="RelayRouter"/> per input (no rate limits, no clock in play) with three members of room <c>a</c>
/// (ids 2, 3, 4) and one of room <c>b</c> (id 5); the input's first byte chooses the options (bit 0: relay between
/// clients off; bit 1: room <c>a</c> has hosted logic, a <see cref="MultiplayerRoomHost"/> with the
/// <see cref="FuzzScene"/>). Then each record (<c>u8 selector · u16 length · bytes</c>) is one WebSocket message from
/// member <c>selector % 4</c>, handled as the WebSocket relay connection does: header parsed, DATA routed, anything
/// else refused; bit 2 of the selector polls the hosted logic, bit 3 makes the sender leave afterwards.
/// Malformed input: a false TryReadHeader / TryReadSystemId or a router rejection.
/// </summary>
internal sealed class GdMpTarget : FuzzTarget
{
    private static readonly IPEndPoint Address = new(IPAddress.Loopback, 40000);



    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var config = input[0];
        var router = new RelayRouter(new RelayOptions
        {
            MaxConnectionsPerAddress = 0,
            ConnectionsPerSecondPerAddress = 0,
            MaxPacketsPerSecond = 0,
            MaxBytesPerSecond = 0,
            RelayBetweenClients = (config & 1) == 0,
        });
        MultiplayerRoomHost? host = null;
        if ((config & 2) != 0)
        {
            router.HostFactory = room => room.Name == "a" ? host = new MultiplayerRoomHost(room, (api, _) => FuzzScene.Build(api, 2)) : null;
        }

        var members = new[] { Join(router, "a", 2), Join(router, "a", 3), Join(router, "a", 4), Join(router, "b", 5) };
        var records = new Records(input[1..]);
        while (records.TryNext(out var selector, out var message))
        {
            var from = members[selector & 3];
            Receive(router, from, message);
            if ((selector & 4) != 0)
            {
                host?.Poll();
            }

            if ((selector & 8) != 0 && from.Room is not null)
            {
                router.Leave(from);
            }
        }

        host?.Poll();
        foreach (var m in members)
        {
            router.Leave(m);
        }

        FuzzCheckException.Check(router.PeerCount == 0, "every member left");
    }

    // What WsRelayConnection does with one message from its client.
    private static void Receive(RelayRouter router, Member from, ReadOnlySpan<byte> message)
    {
        if (!GdMpFrame.TryReadHeader(message, out var header))
        {
            FuzzCheckException.Check(message.Length < GdMpFrame.HeaderSize || message[0] > (byte)GdMpMessageType.SysId, "TryReadHeader refused a valid header");
            router.ReportRejection(from, new PacketRejection(from.PeerId, PacketRejectReason.Malformed, message.Length, 0, "bad header"), misbehaviour: true);
            return;
        }

        if (header.Type != GdMpMessageType.Data)
        {
            // A client does not send system messages; read the id all the same.
            _ = GdMpFrame.TryReadSystemId(message, out _);
            router.ReportRejection(from, new PacketRejection(from.PeerId, PacketRejectReason.UnsupportedFrame, message.Length, 0, "system message from a client"), misbehaviour: true);
            return;
        }

        var payload = GdMpFrame.Payload(message);
        FuzzCheckException.Check(payload.Length == message.Length - GdMpFrame.HeaderSize, "payload length");
        _ = router.Route(from, header.From, header.To, payload, TransferModeEnum.Reliable);
    }

    private static Member Join(RelayRouter router, string room, int id)
    {
        var member = new Member(Address);
        var pending = router.AdmitAsync(new AdmissionRequest("ws", Address, room) { RequestedPeerId = id });
        FuzzCheckException.Check(pending.IsCompleted, "admission without hooks completes at once");
        using var ticket = pending.AsTask().GetAwaiter().GetResult();
        FuzzCheckException.Check(ticket.IsAccepted, $"member {id} admitted: {ticket.Detail}");
        router.Join(ticket, member);
        return member;
    }

    /// <summary>A relay member that only counts what the router asks of it (a transport would frame and send it).</summary>
    private sealed class Member(IPEndPoint endPoint) : RelayConnection("ws", endPoint)
    {
        public long Sent { get; private set; }

        protected override void Welcome()
        {
        }

        protected override SendResult Send(in RelayPacket packet)
        {
            Span<byte> header = stackalloc byte[GdMpFrame.HeaderSize];
            GdMpFrame.WriteHeader(header, GdMpMessageType.Data, packet.From, packet.To);
            Sent += header.Length + packet.Payload.Length;
            return SendResult.Sent;
        }

        protected override void SendPeerAdded(int peerId) => Sent++;

        protected override void SendPeerRemoved(int peerId) => Sent++;

        protected override void Close(CloseReason reason, string detail)
        {
        }
    }
}
