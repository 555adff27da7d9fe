using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Enet;

public sealed partial class NetworkedMultiplayerENet
{
    // Godot's notes for refused connections, by the router's reason (the router's detail for the rest).
    private static string RefusalNote(AdmissionRefusal reason, string detail) => reason switch
    {
        AdmissionRefusal.NotAccepting => "refusing new connections",
        AdmissionRefusal.InvalidId => "client id is reserved (ids below 2) or not a 31-bit id",
        AdmissionRefusal.IdTaken => "client id already connected",
        AdmissionRefusal.ServerFull or AdmissionRefusal.RoomFull => "server full",
        _ => detail,
    };

    // The server: a private relay core with Godot's rules and no limits Godot does not have, an ENet listener as its
    // transport, and this peer as the hosted logic (peer 1) of its one room.
    private ServerParts? StartServer(int port, int maxClients, int inBandwidth, int outBandwidth, out Error error)
    {
        var router = new RelayRouter(
            new RelayOptions
            {
                MaxPeers = maxClients,
                MaxPeersPerRoom = maxClients,
                MaxRooms = 1,
                MaxConnectionsPerAddress = 0,
                ConnectionsPerSecondPerAddress = 0,
                MaxPacketsPerSecond = 0,
                MaxBytesPerSecond = 0,
                RelayBetweenClients = _serverRelay,
            },
            Logger);
        router.SetAccepting(!_refuse);
        var listener = new EnetRelayListener(router, Logger)
        {
            BindIp = _bindIp.ToString(),
            MaxClients = maxClients,
            MaxPacketSize = _maxPacketSize,
            MaxWaitingData = _maxWaitingData,
            ChannelCount = _channelCount,
            CompressionMode = _compression,
            IncomingBandwidth = inBandwidth,
            OutgoingBandwidth = outBandwidth,
            PeerTimeoutMinimum = _timeoutMinimum,
            PeerTimeoutMaximum = _timeoutMaximum,
        };
        var parts = new ServerParts(this, router, listener);
        router.HostFactory = room =>
        {
            parts.Room = room;
            return parts;
        };
        router.PacketRejected += (_, rejection) => Inbox.Reject(rejection);
        router.ConnectionRefused += (request, reason, detail) =>
            Inbox.Reject(new PacketRejection(0, PacketRejectReason.Refused, request.ConnectData ?? 0, maxClients, RefusalNote(reason, detail)));
        listener.PeerLeaving = (connection, reason) => RecordLeft(connection.PeerId, reason);
        error = listener.Listen(port);
        return error == Error.Ok ? parts : null;
    }

    /// <summary>
    /// A running server's parts, and the room's hosted logic: joins and leaves become this peer's events, packets for
    /// peer 1 go to its inbox (reliable ones wait, held by the listener, while the inbox is full; unreliable ones are
    /// dropped and counted). Called on the listener's service thread.
    /// </summary>
    private sealed class ServerParts(NetworkedMultiplayerENet owner, RelayRouter router, EnetRelayListener listener) : IRoomHost
    {
        public RelayRouter Router { get; } = router;

        public EnetRelayListener Listener { get; } = listener;

        /// <summary>The room (created when the first client is admitted, replaced after it emptied).</summary>
        public volatile Room? Room;

        // Sends from the game thread to the room's members; with no room there is nobody to send to.
        public Error SendFromHost(int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel)
        {
            var room = Room;
            var session = Listener.Session;
            if (room is null || session is null)
            {
                return Error.Ok;
            }

            return session.SendFromHost(room, to, payload, mode, channel);
        }

        public void PeerJoined(int peerId) => owner.Inbox.EnqueueEvent(PeerEventKind.PeerConnected, peerId);

        public void PeerLeft(int peerId) => owner.Inbox.EnqueueEvent(PeerEventKind.PeerDisconnected, peerId);

        public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
        {
            var session = Listener.Session;
            var channel = session?.RoutingChannel ?? EnetFraming.ChannelReliable;
            if (mode != TransferModeEnum.Reliable)
            {
                // Unreliable: dropped (and counted by the inbox) when there is no room, the relay goes on.
                return owner.DeliverFromService(from, payload, channel).IsAccepted ? HostDelivery.Accepted : HostDelivery.Rejected;
            }

            var inbox = owner.Inbox;
            if (payload.Length > inbox.MaxBytes)
            {
                // It can never fit, so the sender's reliable stream cannot make progress: refused (counted) and dropped.
                _ = owner.DeliverFromService(from, payload, channel);
                session?.Drop(from, EnetDisconnectReason.LimitExceeded);
                return HostDelivery.Rejected;
            }

            // Only the service thread adds to the inbox, so room seen here is still there at the enqueue.
            if (inbox.AvailablePacketCount >= inbox.MaxPackets || inbox.QueuedBytes + payload.Length > inbox.MaxBytes)
            {
                return HostDelivery.Full;
            }

            return owner.DeliverFromService(from, payload, channel).IsAccepted ? HostDelivery.Accepted : HostDelivery.Full;
        }

        public Task WhenRoomAsync(int length)
        {
            var inbox = owner.Inbox;
            return inbox.AvailablePacketCount < inbox.MaxPackets && inbox.QueuedBytes + length <= inbox.MaxBytes
                ? Task.CompletedTask
                : Task.Delay(1);
        }

        // The router disposes a room's host when the room empties; this one lives as long as the server.
        public void Dispose()
        {
        }
    }
}
