using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using GdNet.Enet.Interop;
using GdNet.Peers;
using Microsoft.Extensions.Logging;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>
/// A Godot 3 ENet client (<see cref="NetworkedMultiplayerENet.CreateClient"/>): one host with one peer, the server. The
/// service thread applies the client side of Godot's protocol (its id in the CONNECT data, ADD/REMOVE system messages,
/// the source from the header) and hands packets and events to the peer's <see cref="PeerInbox"/>. The game thread
/// talks to it through <see cref="EnqueueSend"/> and <see cref="EnetSession.Stop"/>.
/// </summary>
internal sealed unsafe partial class EnetClientSession : EnetSession
{
    private readonly NetworkedMultiplayerENet _owner;
    private readonly PeerInbox _inbox;
    private readonly int _uniqueId;
    private readonly nint _serverPeer;
    private readonly int _serverSlot;
    private readonly long _connectDeadline;
    private readonly HashSet<int> _relayedIds = [];

    // Reliable packets (and the events behind them) held while the inbox is full, in arrival order: ENet keeps being
    // serviced, so acknowledgements keep flowing, and they move in as room appears.
    private readonly Queue<Held> _backlog = new();
    private long _backlogBytes;
    private bool _connected;
    private bool _ended;
    private EnetDisconnectReason? _drop;
    private int _lastOversizedSequence = -1;

    // A held packet (Buffer from ArrayPool<byte>.Shared), or, with a null Buffer, an event queued behind held packets.
    private readonly record struct Held(int From, byte[]? Buffer, int Length, byte Channel, PeerEventKind Event, int EventId);

    private EnetClientSession(NetworkedMultiplayerENet owner, EnetHostConfig config, int uniqueId, long connectTimeoutMs, EnetHostHandle host, nint serverPeer)
        : base(config, host, owner.Logger, "GdNet ENet client")
    {
        _owner = owner;
        _inbox = owner.Inbox;
        _uniqueId = uniqueId;
        _serverPeer = serverPeer;
        _serverSlot = PeerIndexOf(serverPeer);
        _connectDeadline = Environment.TickCount64 + connectTimeoutMs;
    }

    /// <summary>The server's address once connected, for <c>GetPeerAddress(1)</c>. Any thread.</summary>
    public IPEndPoint? ServerEndPoint { get; private set; }

    /// <summary>
    /// Creates the host, connects it to <paramref name="connectTo"/> with <paramref name="uniqueId"/> as the CONNECT data,
    /// and starts the service thread. Null and an error when the host cannot be created.
    /// </summary>
    public static EnetClientSession? Start(NetworkedMultiplayerENet owner, EnetHostConfig config, int uniqueId, long connectTimeoutMs,
        EnetAddress bind, uint inBandwidth, uint outBandwidth, EnetAddress connectTo, out Error error)
    {
        var host = CreateHost(config, bind, 1, inBandwidth, outBandwidth, server: false, out error);
        if (host is null)
        {
            return null;
        }

        var serverPeer = enet_host_connect(host, &connectTo, (nuint)config.ChannelCount, (uint)uniqueId);
        if (serverPeer == 0)
        {
            host.Dispose();
            error = Error.CantCreate;
            return null;
        }

        enet_peer_timeout(serverPeer, EnetTimeoutLimit, config.TimeoutMinimumMs, config.TimeoutMaximumMs);
        var session = new EnetClientSession(owner, config, uniqueId, connectTimeoutMs, host, serverPeer);
        session.StartThread();
        return session;
    }

    // ------------------------------------------------------------------ game thread

    /// <summary>Hands an outgoing packet for the server to the service thread; false (packet not taken) once the session ended.</summary>
    public bool EnqueueSend(byte channel, EnetPacket* packet) =>
        Enqueue(new Command { Kind = CommandKind.Send, Channel = channel, Packet = packet });

    // ------------------------------------------------------------------ service thread

    protected override bool Ended => _ended;

    protected override bool HasBacklog => _backlog.Count > 0;

    protected override void Execute(ref Command command)
    {
        if (command.Kind == CommandKind.Send)
        {
            if (_connected && !_ended)
            {
                _ = enet_peer_send(_serverPeer, command.Channel, command.Packet);
            }

            ReleaseIfUnreferenced(command.Packet);
            command.Packet = null;
        }
        else
        {
            Discard(ref command);
        }
    }

    protected override void BeforeService() => FlushBacklog();

    protected override void AfterService()
    {
        ApplyDrop();
        if (!_connected && !_ended && Environment.TickCount64 >= _connectDeadline)
        {
            enet_peer_reset(_serverPeer);
            _ended = true;
            _inbox.EnqueueEvent(PeerEventKind.ConnectionFailed);
        }
    }

    // A client whose connection ended still hands over what it holds, then the ServerDisconnected behind it.
    protected override void AfterLoop()
    {
        while (!StopRequested && _backlog.Count > 0)
        {
            FlushBacklog();
            if (_backlog.Count > 0)
            {
                Thread.Sleep(1);
            }
        }
    }

    protected override void CloseAll()
    {
        if (_ended)
        {
            return;
        }

        // Godot's close_connection: disconnect at once with our own id as the data.
        enet_peer_disconnect_now(_serverPeer, (uint)_uniqueId);
        enet_host_flush(Host);
        if (StopWaitUsec > 0)
        {
            Thread.Sleep(TimeSpan.FromTicks(StopWaitUsec * 10L));
        }
    }

    protected override void OnCrash()
    {
        if (!_ended)
        {
            _inbox.EnqueueEvent(_connected ? PeerEventKind.ServerDisconnected : PeerEventKind.ConnectionFailed);
        }
    }

    protected override void Cleanup() => DiscardBacklog();

    protected override void Handle(ref EnetEvent ev)
    {
        if (ev.Peer != _serverPeer)
        {
            if (ev.Type == EventReceive)
            {
                ReleaseIfUnreferenced((EnetPacket*)ev.Packet);
            }

            return;
        }

        switch (ev.Type)
        {
            case EventConnect:
                OnConnect();
                break;
            case EventDisconnect:
                OnDisconnect(ev.Data);
                break;
            case EventReceive:
                OnReceive(ev.ChannelId, (EnetPacket*)ev.Packet);
                break;
            default:
                break;
        }
    }

    private void OnConnect()
    {
        if (_connected)
        {
            return;
        }

        _connected = true;
        LastHeard[_serverSlot] = Environment.TickCount64;
        ServerEndPoint = ToEndPoint(PeerAddressOf(_serverPeer));
        _inbox.EnqueueEvent(PeerEventKind.PeerConnected, NetworkedMultiplayerPeer.TargetPeerServer);
        _inbox.EnqueueEvent(PeerEventKind.ConnectionSucceeded);
    }

    private void OnDisconnect(uint data)
    {
        var silence = Environment.TickCount64 - LastHeard[_serverSlot];
        var timedOut = silence >= Config.TimeoutMinimumMs / 2;
        _ended = true;
        if (!_connected)
        {
            _inbox.EnqueueEvent(PeerEventKind.ConnectionFailed);
            return;
        }

        var reason = timedOut ? EnetDisconnectReason.TimedOut : data == 0 ? EnetDisconnectReason.Kicked : EnetDisconnectReason.Closed;
        _owner.RecordLeft(NetworkedMultiplayerPeer.TargetPeerServer, reason);
        Event(PeerEventKind.ServerDisconnected, 0);
    }

    private void OnReceive(byte channel, EnetPacket* packet)
    {
        try
        {
            if (_connected && !_ended)
            {
                var data = new ReadOnlySpan<byte>(packet->Data, (int)packet->DataLength);
                Receive(channel, data, (packet->Flags & PacketFlagReliable) != 0);
            }
        }
        finally
        {
            ReleaseIfUnreferenced(packet);
        }
    }

    private void Receive(byte channel, ReadOnlySpan<byte> data, bool reliable)
    {
        if (channel == EnetFraming.ChannelConfig)
        {
            switch (EnetFraming.ReadSystemMessage(data, _uniqueId, out var message, out var id))
            {
                case SystemMessageKind.TooShort:
                    Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, data.Length, 8, "system message shorter than 8 bytes");
                    break;
                case SystemMessageKind.InvalidPeerId:
                    Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, id, 0, "system message names an invalid peer id");
                    break;
                case SystemMessageKind.AddPeer:
                    if (_relayedIds.Add((int)id))
                    {
                        Event(PeerEventKind.PeerConnected, (int)id);
                    }

                    break;
                case SystemMessageKind.RemovePeer:
                    if (_relayedIds.Remove((int)id))
                    {
                        _owner.RecordLeft((int)id, EnetDisconnectReason.LeftServer);
                        Event(PeerEventKind.PeerDisconnected, (int)id);
                    }

                    break;
                default:
                    Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, message, 0, "unknown system message");
                    break;
            }

            return;
        }

        if (data.Length < EnetFraming.HeaderSize)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.TooSmall, data.Length, EnetFraming.HeaderSize, "shorter than the 8-byte source/target header");
            return;
        }

        if (data.Length - EnetFraming.HeaderSize > Config.MaxPacketSize)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.TooLarge, data.Length - EnetFraming.HeaderSize, Config.MaxPacketSize, null);
            return;
        }

        // Like Godot, a client takes the source from the header (the server checked it) and ignores the target.
        var source = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (source < 1 || source > int.MaxValue)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, source, 0, "source id is not a peer id");
            return;
        }

        Deliver((int)source, data[EnetFraming.HeaderSize..], channel, reliable);
    }

    private void Deliver(int from, ReadOnlySpan<byte> payload, byte channel, bool reliable)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        if (reliable && payload.Length <= _inbox.MaxBytes && (_backlog.Count > 0 || !InboxHasRoom(payload.Length)))
        {
            // A reliable stream cannot skip a packet: hold it (in order, behind the other held ones).
            Hold(new Held(from, buffer, payload.Length, channel, default, 0));
            return;
        }

        if (!_owner.DeliverFromService(from, buffer, payload.Length, channel).IsAccepted && reliable)
        {
            // Larger than MaxQueuedBytes: it can never fit, so the stream cannot make progress.
            _drop ??= EnetDisconnectReason.LimitExceeded;
        }
    }

    // Only the service thread adds to the inbox, so room seen here is still there at the enqueue.
    private bool InboxHasRoom(int length) =>
        _inbox.AvailablePacketCount < _inbox.MaxPackets && _inbox.QueuedBytes + length <= _inbox.MaxBytes;

    private void Hold(Held held)
    {
        if (held.Buffer is not null && _backlogBytes + HeldCost(held.Length) > Config.MaxWaitingData)
        {
            // The game thread is not keeping up: drop the connection rather than hold without bound.
            ArrayPool<byte>.Shared.Return(held.Buffer);
            if (_drop is null)
            {
                Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.QueueFull, held.Length, Config.MaxWaitingData, "held reliable packets of this peer exceed MaxWaitingData");
                _drop = EnetDisconnectReason.LimitExceeded;
            }

            return;
        }

        _backlog.Enqueue(held);
        _backlogBytes += HeldCost(held.Length);
    }

    // What a held packet counts against MaxWaitingData: its bytes plus its bookkeeping, so tiny packets are bounded too.
    private static long HeldCost(int length) => length + 64L;

    // Queues an event for the game thread, behind the held packets, if any.
    private void Event(PeerEventKind kind, int id)
    {
        if (_backlog.Count > 0)
        {
            _backlog.Enqueue(new Held(0, null, 0, 0, kind, id));
        }
        else
        {
            _inbox.EnqueueEvent(kind, id);
        }
    }

    // Moves held packets into the inbox while there is room.
    private void FlushBacklog()
    {
        DequeueEvents();
        while (_backlog.Count > 0)
        {
            var held = _backlog.Peek();
            if (!InboxHasRoom(held.Length))
            {
                return;
            }

            _backlog.Dequeue();
            _backlogBytes -= HeldCost(held.Length);
            if (!_owner.DeliverFromService(held.From, held.Buffer!, held.Length, held.Channel).IsAccepted)
            {
                _drop ??= EnetDisconnectReason.LimitExceeded;
            }

            DequeueEvents();
        }

        void DequeueEvents()
        {
            while (_backlog.Count > 0 && _backlog.Peek().Buffer is null)
            {
                var e = _backlog.Dequeue();
                _inbox.EnqueueEvent(e.Event, e.EventId);
            }
        }
    }

    // Drops what is held (its queued events still reach the game thread).
    private void DiscardBacklog()
    {
        while (_backlog.Count > 0)
        {
            var held = _backlog.Dequeue();
            if (held.Buffer is null)
            {
                _inbox.EnqueueEvent(held.Event, held.EventId);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(held.Buffer);
            }
        }

        _backlogBytes = 0;
    }

    private void ApplyDrop()
    {
        if (_drop is not { } reason)
        {
            return;
        }

        _drop = null;
        DiscardBacklog();
        if (!_ended)
        {
            enet_peer_disconnect_now(_serverPeer, (uint)_uniqueId);
            _ended = true;
            _owner.RecordLeft(NetworkedMultiplayerPeer.TargetPeerServer, reason);
            _inbox.EnqueueEvent(PeerEventKind.ServerDisconnected);
        }
    }

    private void Reject(int peer, PacketRejectReason reason, long size, long limit, string? note)
    {
        _inbox.Reject(new PacketRejection(peer, reason, size, limit, note));
        LogRejected(Logger, peer, reason, size, note);
    }

    // ------------------------------------------------------------------ intercept hook

    protected override int OnDatagram(nint host, EnetEvent* ev, EnetAddress from)
    {
        var data = ReceivedData(host);
        var info = DatagramInspector.Inspect(data, PeerCount, Config.Compression != CompressionModeEnum.None, (long)Config.MaxPacketSize + EnetFraming.HeaderSize);
        if (info.Verdict == DatagramVerdict.Malformed)
        {
            Reject(0, PacketRejectReason.Malformed, data.Length, info.NoteValue, "datagram " + info.Note);
            return 0; // ENet drops it too; it stays the judge
        }

        if (info.PeerIndex >= 0)
        {
            LastHeard[info.PeerIndex] = Environment.TickCount64;
        }

        if (info.OversizedFragment && info.PeerIndex == _serverSlot && _connected && _lastOversizedSequence != info.OversizedStartSequence)
        {
            _lastOversizedSequence = info.OversizedStartSequence;
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.TooLarge, info.OversizedTotalLength - EnetFraming.HeaderSize, Config.MaxPacketSize,
                info.OversizedReliable ? "reliable packet; peer dropped" : "unreliable packet dropped");
            if (info.OversizedReliable)
            {
                _drop ??= EnetDisconnectReason.LimitExceeded;
            }
        }

        return 0;
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "ENet: refused a packet from peer {PeerId}: {Reason} ({Size}) {Note}")]
    private static partial void LogRejected(ILogger logger, int peerId, PacketRejectReason reason, long size, string? note);
}
