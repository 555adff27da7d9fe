using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using GdNet.Enet.Interop;
using GdNet.Peers;
using GdNet.Server;
using Microsoft.Extensions.Logging;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>
/// The service thread of an <see cref="EnetRelayListener"/>: an ENet host whose peers are connections of a
/// <see cref="RelayRouter"/>. It admits CONNECTs through the router (in the intercept hook, before ENet answers), joins
/// and leaves peers, parses Godot's ENet framing and routes each packet; the relay rules are the router's. Reliable
/// packets the router cannot take yet are held per peer, in order, and routed again each turn.
/// </summary>
internal sealed unsafe partial class EnetServerSession : EnetSession
{
    /// <summary>Godot's <c>close_connection</c> disconnects with the server's own id as the data.</summary>
    private const uint ServerId = 1;

    private const string ReservedIdDetail = "client id is reserved (ids below 2) or not a 31-bit id";
    private const long SweepIntervalMs = 250;

    [ThreadStatic]
    private static HostBatch? t_batch;

    private readonly EnetRelayListener _listener;
    private readonly RelayRouter _router;
    private readonly string _room;
    private readonly long _admissionTimeoutMs;
    private readonly int _maxAdmissions;
    private readonly EnetRelayConnection?[] _bySlot;
    private readonly List<EnetRelayConnection> _connections = [];
    private readonly List<EnetRelayConnection> _backlogged = [];
    private readonly List<(EnetRelayConnection Connection, EnetDisconnectReason Reason, bool Now, uint Data)> _toClose = [];

    // CONNECTs seen, by (address, port, ENet connect id): admissions waiting for an asynchronous check (answered when
    // the client retransmits), accepted ones waiting for ENet's handshake, refused ones (so a retransmission is neither
    // answered nor counted again), and joined ones (so a late retransmission is left to ENet, which ignores it).
    private readonly Dictionary<ConnectKey, Admission> _admissions = [];
    private readonly Dictionary<PeerKey, Admission> _accepted = [];
    private readonly List<Admission> _expired = [];
    private long _nextSweep;

    // Whether the ENetPeer fields sampled each sweep (round-trip time, packet loss) were found where GdNet reads them:
    // checked on the first peer (null until then); false turns the sampling off, with a warning.
    private bool? _peerLayoutOk;
    private int _slotsInUse;

    // With RangeCoder, a client's CONNECT arrives compressed: decompressed here (libenet's own coder) so that admission
    // still happens before ENet answers it.
    private readonly nint _rangeCoder;

    // The packet being routed on the service thread, so that a relay to another peer of this host forwards it itself.
    private EnetPacket* _routingPacket;
    private EnetRelayConnection? _routingFrom;
    private byte _routingChannel;

    private long _packetsIn;
    private long _bytesIn;
    private long _packetsOut;
    private long _bytesOut;

    private readonly record struct ConnectKey(uint Host, ushort Port, uint ConnectId);

    private readonly record struct PeerKey(uint Host, ushort Port, int PeerId);

    private enum AdmissionState
    {
        Pending = 0,
        Accepted,
        Refused,
        Joined,
    }

    private sealed class Admission(ConnectKey key, AdmissionRequest request)
    {
        public ConnectKey Key { get; } = key;

        public AdmissionRequest Request { get; } = request;

        public AdmissionState State { get; set; }

        public Task<AdmissionTicket>? Pending { get; set; }

        public AdmissionTicket? Ticket { get; set; }

        public long Deadline { get; set; }
    }

    // The connections one host send (Room.SendFromHost on the game thread) reaches: one native packet for them all.
    private sealed class HostBatch
    {
        public EnetServerSession? Session;
        public EnetRelayConnection[] Targets = new EnetRelayConnection[16];
        public int Count;

        public void Add(EnetRelayConnection connection)
        {
            if (Count == Targets.Length)
            {
                Array.Resize(ref Targets, Count * 2);
            }

            Targets[Count++] = connection;
        }
    }

    private EnetServerSession(EnetRelayListener listener, RelayRouter router, EnetHostConfig config, string room, long admissionTimeoutMs,
        EnetHostHandle host, ILogger logger)
        : base(config, host, logger, "GdNet ENet server")
    {
        _listener = listener;
        _router = router;
        _room = room;
        _admissionTimeoutMs = admissionTimeoutMs;
        _bySlot = new EnetRelayConnection?[PeerCount];
        _maxAdmissions = PeerCount + 4096;
        _rangeCoder = config.Compression == CompressionModeEnum.RangeCoder ? enet_range_coder_create() : 0;
    }

    /// <summary>Creates the host (the service thread is started by <see cref="Run"/>). Null and an error when the host cannot be created.</summary>
    public static EnetServerSession? Create(EnetRelayListener listener, RelayRouter router, EnetHostConfig config, string room, long admissionTimeoutMs,
        EnetAddress bind, int maxClients, uint inBandwidth, uint outBandwidth, ILogger logger, out Error error)
    {
        var host = CreateHost(config, bind, maxClients, inBandwidth, outBandwidth, server: true, out error);
        if (host is null)
        {
            return null;
        }

        return new EnetServerSession(listener, router, config, room, admissionTimeoutMs, host, logger);
    }

    /// <summary>Starts the service thread (once the listener knows this session).</summary>
    public void Run() => StartThread();

    /// <summary>Connections joined through this host now. Any thread.</summary>
    public int ConnectionCount => Volatile.Read(ref _slotsInUse);

    /// <summary>A snapshot of the traffic counters. Any thread.</summary>
    public EnetListenerStatistics GetStatistics() => new(
        ConnectionCount, Volatile.Read(ref _packetsIn), Volatile.Read(ref _bytesIn), Volatile.Read(ref _packetsOut), Volatile.Read(ref _bytesOut));

    /// <summary>The channel of the packet being routed (service thread, during <see cref="RelayRouter.Route"/> only).</summary>
    public byte RoutingChannel => _routingChannel;

    // ------------------------------------------------------------------ the router's calls (any thread)

    /// <summary><see cref="RelayConnection.Send"/> of <paramref name="connection"/>.</summary>
    public SendResult Send(EnetRelayConnection connection, in RelayPacket packet)
    {
        if (connection.State != EnetConnectionState.Open)
        {
            return SendResult.Closing;
        }

        var channel = EnetFraming.ChannelFor(packet.Mode, packet.Channel, Config.ChannelCount);
        if (IsServiceThread)
        {
            if (_routingPacket != null && packet.Source is { } source && ReferenceEquals(source, _routingFrom))
            {
                // A relay from another peer of this host, inside its Route: forward the received packet itself (same
                // header, flags and channel), by reference count.
                return SendNow(connection, channel, _routingPacket);
            }

            var created = EnetFraming.CreateData(packet.From, packet.To, packet.Payload, EnetFraming.FlagsFor(packet.Mode));
            if (created == null)
            {
                return SendResult.Closing;
            }

            var result = SendNow(connection, channel, created);
            ReleaseIfUnreferenced(created);
            return result;
        }

        if (t_batch is { } batch && batch.Session == this)
        {
            batch.Add(connection);
            return SendResult.Sent;
        }

        var packetCopy = EnetFraming.CreateData(packet.From, packet.To, packet.Payload, EnetFraming.FlagsFor(packet.Mode));
        if (packetCopy == null)
        {
            return SendResult.Closing;
        }

        if (!Enqueue(new Command { Kind = CommandKind.Send, Channel = channel, Packet = packetCopy, Ref = connection }))
        {
            enet_packet_destroy(packetCopy);
            return SendResult.Closing;
        }

        return SendResult.Sent;
    }

    /// <summary>ADD_PEER / REMOVE_PEER to <paramref name="connection"/> on channel 0.</summary>
    public void SendSystemMessage(EnetRelayConnection connection, uint message, int peerId)
    {
        if (connection.State != EnetConnectionState.Open)
        {
            return;
        }

        var packet = EnetFraming.CreateSystemMessage(message, peerId);
        if (packet == null)
        {
            return;
        }

        if (IsServiceThread)
        {
            _ = SendNow(connection, EnetFraming.ChannelConfig, packet);
            ReleaseIfUnreferenced(packet);
        }
        else if (!Enqueue(new Command { Kind = CommandKind.Send, Channel = EnetFraming.ChannelConfig, Packet = packet, Ref = connection }))
        {
            enet_packet_destroy(packet);
        }
    }

    /// <summary>
    /// <see cref="RelayConnection.Close"/>: a kick, a closed room or a shutdown disconnects after what is queued
    /// (<c>disconnect_later</c>; data 0 as Godot's <c>disconnect_peer</c>, or the server's id 1 for a shutdown, as its
    /// <c>close_connection</c>); a slow reader, a rate-limited or misbehaving peer at once.
    /// </summary>
    public void Close(EnetRelayConnection connection, CloseReason reason)
    {
        switch (reason)
        {
            case CloseReason.SlowReader:
            case CloseReason.RateLimited:
            case CloseReason.ProtocolViolation:
                Disconnect(connection, EnetDisconnectReason.LimitExceeded, now: true);
                break;
            case CloseReason.ServerShutdown:
                Disconnect(connection, EnetDisconnectReason.Closed, now: false, ServerId);
                break;
            default:
                Disconnect(connection, EnetDisconnectReason.Kicked, now: false);
                break;
        }
    }

    /// <summary>
    /// Disconnects <paramref name="connection"/>, at once or after what is queued, with <paramref name="data"/> as ENet's
    /// disconnect data and the reason reported when it leaves. Any thread.
    /// </summary>
    public void Disconnect(EnetRelayConnection connection, EnetDisconnectReason reason, bool now, uint data = 0)
    {
        if (IsServiceThread)
        {
            RequestClose(connection, reason, now, data);
        }
        else
        {
            _ = Enqueue(new Command { Kind = now ? CommandKind.KickNow : CommandKind.KickLater, Ref = connection, Target = (int)reason, Channel = (byte)data });
        }
    }

    /// <summary>
    /// <see cref="Room.SendFromHost"/> from a game thread, with every connection of this host it reaches sharing one
    /// native packet (as Godot's server sends one packet to all): one copy per call whatever the fan-out.
    /// </summary>
    public Error SendFromHost(Room room, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel)
    {
        var batch = t_batch ??= new HostBatch();
        if (batch.Session is not null || IsServiceThread)
        {
            return room.SendFromHost(to, payload, mode, channel);
        }

        batch.Session = this;
        Error error;
        try
        {
            error = room.SendFromHost(to, payload, mode, channel);
        }
        finally
        {
            batch.Session = null;
        }

        var count = batch.Count;
        if (count == 0)
        {
            return error;
        }

        batch.Count = 0;
        var packet = EnetFraming.CreateData(RelayRouter.HostPeerId, to, payload, EnetFraming.FlagsFor(mode));
        if (packet == null)
        {
            Array.Clear(batch.Targets, 0, count);
            return Error.OutOfMemory;
        }

        var ch = EnetFraming.ChannelFor(mode, channel, Config.ChannelCount);
        Command command;
        if (count == 1)
        {
            command = new Command { Kind = CommandKind.Send, Channel = ch, Packet = packet, Ref = batch.Targets[0] };
        }
        else
        {
            var targets = ArrayPool<EnetRelayConnection>.Shared.Rent(count);
            Array.Copy(batch.Targets, targets, count);
            command = new Command { Kind = CommandKind.SendMany, Channel = ch, Packet = packet, Ref = targets, Target = count };
        }

        Array.Clear(batch.Targets, 0, count);
        if (!Enqueue(command))
        {
            Discard(ref command);
        }

        return error;
    }

    /// <summary>Disconnects joined peer <paramref name="peerId"/> of this host (Godot's <c>disconnect_peer</c>). False when it is not one.</summary>
    public bool Kick(int peerId, bool now)
    {
        if (_router.FindPeer(peerId) is not EnetRelayConnection c || c.Session != this)
        {
            return false;
        }

        Disconnect(c, EnetDisconnectReason.Kicked, now);
        return true;
    }

    /// <summary>Drops peer <paramref name="peerId"/> at once (its stream cannot make progress). Service thread.</summary>
    public void Drop(int peerId, EnetDisconnectReason reason)
    {
        if (_router.FindPeer(peerId) is EnetRelayConnection c && c.Session == this)
        {
            RequestClose(c, reason, now: true);
        }
    }

    // ------------------------------------------------------------------ service thread: commands and turns

    protected override bool HasBacklog => _backlogged.Count > 0;

    protected override void Execute(ref Command command)
    {
        switch (command.Kind)
        {
            case CommandKind.Send:
            {
                var c = (EnetRelayConnection)command.Ref!;
                if (c.State == EnetConnectionState.Open)
                {
                    _ = SendNow(c, command.Channel, command.Packet);
                }

                ReleaseIfUnreferenced(command.Packet);
                command.Packet = null;
                break;
            }

            case CommandKind.SendMany:
            {
                var targets = (EnetRelayConnection[])command.Ref!;
                foreach (var c in targets.AsSpan(0, command.Target))
                {
                    if (c.State == EnetConnectionState.Open)
                    {
                        _ = SendNow(c, command.Channel, command.Packet);
                    }
                }

                ReleaseIfUnreferenced(command.Packet);
                command.Packet = null;
                Discard(ref command);
                break;
            }

            case CommandKind.KickNow:
            case CommandKind.KickLater:
                RequestClose((EnetRelayConnection)command.Ref!, (EnetDisconnectReason)command.Target, command.Kind == CommandKind.KickNow, command.Channel);
                break;
            default:
                Discard(ref command);
                break;
        }
    }

    protected override void Discard(ref Command command)
    {
        if (command.Kind == CommandKind.SendMany && command.Ref is EnetRelayConnection[] targets)
        {
            Array.Clear(targets, 0, command.Target);
            ArrayPool<EnetRelayConnection>.Shared.Return(targets);
            command.Ref = null;
        }

        base.Discard(ref command);
    }

    protected override void BeforeService() => FlushBacklogs();

    protected override void AfterService()
    {
        ApplyCloses();
        var now = Environment.TickCount64;
        if (now >= _nextSweep)
        {
            _nextSweep = now + SweepIntervalMs;
            Sweep(now, force: false);
            if (_peerLayoutOk == true)
            {
                foreach (var c in CollectionsMarshal.AsSpan(_connections))
                {
                    if (c.Attached)
                    {
                        Volatile.Write(ref c.RoundTripTimeMs, (int)Math.Min(RoundTripTimeOf(c.Peer), int.MaxValue));
                        Volatile.Write(ref c.PacketLossScaled, (int)Math.Min(PacketLossOf(c.Peer), PacketLossScale));
                    }
                }
            }
        }
    }

    protected override void CloseAll()
    {
        var any = false;
        foreach (var c in CollectionsMarshal.AsSpan(_connections))
        {
            if (c.Attached)
            {
                enet_peer_disconnect_now(c.Peer, ServerId);
                any = true;
            }
        }

        if (any)
        {
            enet_host_flush(Host);
            if (StopWaitUsec > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(StopWaitUsec * 10L));
            }
        }
    }

    protected override void OnCrash()
    {
        // Cleanup makes every connection leave the router.
    }

    protected override void Cleanup()
    {
        _toClose.Clear();
        var all = _connections.ToArray();
        foreach (var c in all)
        {
            // No more native calls for them: the host is about to be destroyed.
            if (c.Attached)
            {
                _bySlot[c.Slot] = null;
                c.Attached = false;
                _slotsInUse--;
            }

            c.State = EnetConnectionState.Draining;
            DiscardBacklog(c);
        }

        foreach (var c in all)
        {
            Leave(c, EnetDisconnectReason.Closed);
        }

        foreach (var a in _admissions.Values)
        {
            Release(a);
        }

        _admissions.Clear();
        _accepted.Clear();
        if (_rangeCoder != 0)
        {
            enet_range_coder_destroy(_rangeCoder);
        }
    }

    private SendResult SendNow(EnetRelayConnection connection, byte channel, EnetPacket* packet)
    {
        if (!connection.Attached || enet_peer_send(connection.Peer, channel, packet) != 0)
        {
            return SendResult.Closing;
        }

        var length = (long)packet->DataLength;
        connection.PacketsOutCount++;
        connection.BytesOutCount += length;
        _packetsOut++;
        _bytesOut += length;
        return SendResult.Sent;
    }

    private void RequestClose(EnetRelayConnection connection, EnetDisconnectReason reason, bool now, uint data = 0)
    {
        switch (connection.State)
        {
            case EnetConnectionState.Open:
            case EnetConnectionState.Closing when now:
                if (now)
                {
                    // Its packets are ignored from here on; the disconnect happens after the current event.
                    connection.State = EnetConnectionState.Dropping;
                    connection.LeaveReason = reason;
                }

                _toClose.Add((connection, reason, now, data));
                break;
            default:
                break;
        }
    }

    private void ApplyCloses()
    {
        // Indexed: leaving can close other connections (appended here).
        for (var i = 0; i < _toClose.Count; i++)
        {
            var (c, reason, now, data) = _toClose[i];
            if (!c.Attached)
            {
                continue;
            }

            if (now)
            {
                enet_peer_disconnect_now(c.Peer, data);
                Detach(c);
                DiscardBacklog(c);
                Leave(c, reason);
                LogPeerLeft(Logger, c.PeerId, reason);
            }
            else if (c.State == EnetConnectionState.Open)
            {
                c.State = EnetConnectionState.Closing;
                c.LeaveReason = reason;
                enet_peer_disconnect_later(c.Peer, data);
            }
        }

        _toClose.Clear();
    }

    // ENet no longer has the peer: free its slot and forget its admission.
    private void Detach(EnetRelayConnection c)
    {
        _bySlot[c.Slot] = null;
        c.Attached = false;
        _slotsInUse--;
        if (c.AdmissionKey is Admission a && _admissions.TryGetValue(a.Key, out var current) && current == a)
        {
            _admissions.Remove(a.Key);
        }
    }

    // The connection leaves the router (after its held packets were routed or discarded). Idempotent.
    private void Leave(EnetRelayConnection c, EnetDisconnectReason reason)
    {
        if (c.State == EnetConnectionState.Left)
        {
            return;
        }

        c.State = EnetConnectionState.Left;
        RemoveFromList(c);
        _listener.OnPeerLeaving(c, reason);
        _router.Leave(c);
    }

    private void RemoveFromList(EnetRelayConnection c)
    {
        var last = _connections[^1];
        _connections[c.ListIndex] = last;
        last.ListIndex = c.ListIndex;
        _connections.RemoveAt(_connections.Count - 1);
    }

    // ------------------------------------------------------------------ events

    protected override void Handle(ref EnetEvent ev)
    {
        switch (ev.Type)
        {
            case EventConnect:
                OnConnect(ev.Peer, ev.Data);
                break;
            case EventDisconnect:
                OnDisconnect(ev.Peer);
                break;
            case EventReceive:
                OnReceive(ev.Peer, ev.ChannelId, (EnetPacket*)ev.Packet);
                break;
            default:
                break;
        }
    }

    private void OnConnect(nint peer, uint data)
    {
        var address = PeerAddressOf(peer);
        AdmissionTicket? ticket;
        Admission? admission = null;
        if (data <= int.MaxValue && _accepted.Remove(new PeerKey(address.Host, address.Port, (int)data), out admission))
        {
            ticket = admission.Ticket;
            admission.Ticket = null;
            admission.State = AdmissionState.Joined;
        }
        else
        {
            // Normally admitted in the intercept hook, before ENet answered the CONNECT; this is the fallback for a
            // request the hook could not read.
            ticket = AdmitAtConnect(address, data);
        }

        if (ticket is null)
        {
            enet_peer_disconnect_now(peer, 0);
            return;
        }

        enet_peer_timeout(peer, EnetTimeoutLimit, Config.TimeoutMinimumMs, Config.TimeoutMaximumMs);
        if (_peerLayoutOk is null)
        {
            var layout = CheckPeerLayout(peer, EnetTimeoutLimit, Config.TimeoutMinimumMs, Config.TimeoutMaximumMs);
            _peerLayoutOk = layout is null;
            if (layout is not null)
            {
                LogPeerLayout(Logger, layout);
            }
        }

        var slot = PeerIndexOf(peer);
        var c = new EnetRelayConnection(this, peer, slot, ToEndPoint(address)) { AdmissionKey = admission, ListIndex = _connections.Count };
        _bySlot[slot] = c;
        _slotsInUse++;
        _connections.Add(c);
        LastHeard[slot] = Environment.TickCount64;
        try
        {
            _router.Join(ticket, c);
        }
        catch (ArgumentException)
        {
            // A ticket that can no longer join (released meanwhile): the peer goes, the service thread stays.
            enet_peer_disconnect_now(peer, 0);
            Detach(c);
            c.State = EnetConnectionState.Left;
            RemoveFromList(c);
            ticket.Dispose();
            return;
        }

        LogPeerConnected(Logger, c.PeerId, c.RemoteEndPoint!);
    }

    private void OnDisconnect(nint peer)
    {
        var slot = PeerIndexOf(peer);
        var c = _bySlot[slot];
        if (c is null || c.Peer != peer)
        {
            return; // refused, or dropped at once: already gone
        }

        var timedOut = Environment.TickCount64 - LastHeard[slot] >= Config.TimeoutMinimumMs / 2;
        var reason = c.State is EnetConnectionState.Closing or EnetConnectionState.Dropping ? c.LeaveReason
            : timedOut ? EnetDisconnectReason.TimedOut
            : EnetDisconnectReason.Closed;
        Detach(c);
        if (c.HasBacklog && c.State != EnetConnectionState.Dropping)
        {
            // It leaves once what it sent has been routed.
            c.State = EnetConnectionState.Draining;
            c.LeaveReason = reason;
        }
        else
        {
            DiscardBacklog(c);
            Leave(c, reason);
        }

        LogPeerLeft(Logger, c.PeerId, reason);
    }

    private void OnReceive(nint peer, byte channel, EnetPacket* packet)
    {
        var held = false;
        try
        {
            var c = _bySlot[PeerIndexOf(peer)];
            if (c is null || c.Peer != peer || c.State is not (EnetConnectionState.Open or EnetConnectionState.Closing))
            {
                return;
            }

            var length = (int)packet->DataLength;
            _packetsIn++;
            _bytesIn += length;
            if (channel == EnetFraming.ChannelConfig)
            {
                Report(c, PacketRejectReason.UnsupportedFrame, length, 0, "channel 0 carries the server's system messages only", misbehaviour: true);
                return;
            }

            if (length < EnetFraming.HeaderSize)
            {
                Report(c, PacketRejectReason.TooSmall, length, EnetFraming.HeaderSize, "shorter than the 8-byte source/target header", misbehaviour: true);
                return;
            }

            if (length - EnetFraming.HeaderSize > Config.MaxPacketSize)
            {
                Report(c, PacketRejectReason.TooLarge, length - EnetFraming.HeaderSize, Config.MaxPacketSize, null, misbehaviour: true);
                return;
            }

            var reliable = (packet->Flags & PacketFlagReliable) != 0;
            if (reliable && c.HasBacklog)
            {
                // A reliable stream cannot overtake itself: behind the held ones.
                held = Hold(c, packet, channel);
                return;
            }

            if (RouteOne(c, packet, channel) == RouteResult.RetryLater)
            {
                if (reliable)
                {
                    held = Hold(c, packet, channel);
                }
                else
                {
                    Report(c, PacketRejectReason.QueueFull, length - EnetFraming.HeaderSize, 0, "unreliable packet dropped: the server cannot take it now", misbehaviour: false);
                }
            }
        }
        finally
        {
            if (!held)
            {
                ReleaseIfUnreferenced(packet);
            }
        }
    }

    private RouteResult RouteOne(EnetRelayConnection c, EnetPacket* packet, byte channel)
    {
        var data = new ReadOnlySpan<byte>(packet->Data, (int)packet->DataLength);
        var source = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
        var target = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        _routingPacket = packet;
        _routingFrom = c;
        _routingChannel = channel;
        try
        {
            return _router.Route(c, source, target, data[EnetFraming.HeaderSize..], EnetFraming.ModeOf(packet->Flags), channel);
        }
        finally
        {
            _routingPacket = null;
            _routingFrom = null;
        }
    }

    private void Report(EnetRelayConnection? c, PacketRejectReason reason, long size, long limit, string? note, bool misbehaviour) =>
        _router.ReportRejection(c, new PacketRejection(c?.PeerId ?? 0, reason, size, limit, note), misbehaviour);

    // ------------------------------------------------------------------ held packets

    // Holds a reliable packet the router cannot take yet; false when the peer's held data would exceed MaxWaitingData
    // (the peer is then dropped and the packet is the caller's to release).
    private bool Hold(EnetRelayConnection c, EnetPacket* packet, byte channel)
    {
        var held = new HeldPacket(packet, channel);
        if (c.BacklogBytes + held.Cost > Config.MaxWaitingData)
        {
            // The receiving side is not keeping up with this peer: drop it rather than hold without bound.
            Report(c, PacketRejectReason.QueueFull, (long)packet->DataLength - EnetFraming.HeaderSize, Config.MaxWaitingData,
                "held reliable packets of this peer exceed MaxWaitingData", misbehaviour: false);
            RequestClose(c, EnetDisconnectReason.LimitExceeded, now: true);
            return false;
        }

        c.Backlog ??= new Queue<HeldPacket>();
        if (c.Backlog.Count == 0)
        {
            _backlogged.Add(c);
        }

        c.Backlog.Enqueue(held);
        c.BacklogBytes += held.Cost;
        return true;
    }

    // Routes held packets again, one per peer in turn, until each peer's next one is refused (or the server's send
    // budget is exhausted); peers whose ENet connection has ended leave once theirs are all routed.
    private void FlushBacklogs()
    {
        if (_backlogged.Count == 0)
        {
            return;
        }

        foreach (var c in CollectionsMarshal.AsSpan(_backlogged))
        {
            c.Blocked = false;
        }

        var progress = true;
        while (progress)
        {
            progress = false;
            for (var i = 0; i < _backlogged.Count; i++)
            {
                var c = _backlogged[i];
                if (c.Blocked || c.Backlog!.Count == 0 || c.State is EnetConnectionState.Dropping or EnetConnectionState.Left)
                {
                    continue;
                }

                var held = c.Backlog.Peek();
                if (RouteOne(c, held.Packet, held.Channel) == RouteResult.RetryLater)
                {
                    c.Blocked = true;
                    if (_router.SendBudget.IsExhausted)
                    {
                        progress = false;
                        break;
                    }

                    continue;
                }

                c.Backlog.Dequeue();
                c.BacklogBytes -= held.Cost;
                ReleaseIfUnreferenced(held.Packet);
                progress = true;
            }
        }

        for (var i = _backlogged.Count - 1; i >= 0; i--)
        {
            var c = _backlogged[i];
            if (c.Backlog!.Count != 0)
            {
                continue;
            }

            _backlogged.RemoveAt(i);
            c.BacklogBytes = 0;
            if (c.State == EnetConnectionState.Draining)
            {
                Leave(c, c.LeaveReason);
            }
        }
    }

    private void DiscardBacklog(EnetRelayConnection c)
    {
        if (c.Backlog is not { Count: > 0 } q)
        {
            return;
        }

        while (q.Count > 0)
        {
            ReleaseIfUnreferenced(q.Dequeue().Packet);
        }

        c.BacklogBytes = 0;
        _backlogged.Remove(c);
    }

    // ------------------------------------------------------------------ admission

    protected override int OnDatagram(nint host, EnetEvent* ev, EnetAddress from)
    {
        var data = ReceivedData(host);
        var compression = Config.Compression != CompressionModeEnum.None;
        var info = DatagramInspector.Inspect(data, PeerCount, compression, (long)Config.MaxPacketSize + EnetFraming.HeaderSize);
        if (info.Compressed && info.PeerIndex < 0 && _rangeCoder != 0)
        {
            // For no peer yet: a CONNECT. Anything that does not decompress is left to ENet, which drops it too.
            info = InspectCompressed(data, info);
        }

        if (info.Verdict == DatagramVerdict.Malformed)
        {
            Report(null, PacketRejectReason.Malformed, data.Length, info.NoteValue, DatagramNote(info.Note), misbehaviour: true);
            return 0; // ENet drops it too; it stays the judge
        }

        if (info.PeerIndex >= 0)
        {
            LastHeard[info.PeerIndex] = Environment.TickCount64;
        }

        if (info.HasConnect)
        {
            return OnConnectRequest(from, info.ConnectId, info.ConnectData);
        }

        if (info.OversizedFragment && info.PeerIndex >= 0 && _bySlot[info.PeerIndex] is { } c
            && c.State is EnetConnectionState.Open or EnetConnectionState.Closing && c.LastOversizedSequence != info.OversizedStartSequence)
        {
            c.LastOversizedSequence = info.OversizedStartSequence;
            Report(c, PacketRejectReason.TooLarge, info.OversizedTotalLength - EnetFraming.HeaderSize, Config.MaxPacketSize,
                info.OversizedReliable ? "reliable packet; peer dropped" : "unreliable packet dropped", misbehaviour: true);
            if (info.OversizedReliable)
            {
                RequestClose(c, EnetDisconnectReason.LimitExceeded, now: true);
            }
        }

        return 0;
    }

    // "datagram " + the inspector's note, made once per note (the notes are constants): a flood of garbage allocates nothing.
    private readonly Dictionary<string, string> _datagramNotes = new(ReferenceEqualityComparer.Instance);

    private string DatagramNote(string? note)
    {
        note ??= "is not ENet";
        if (!_datagramNotes.TryGetValue(note, out var full))
        {
            _datagramNotes[note] = full = "datagram " + note;
        }

        return full;
    }

    // Inspects the decompressed form of a compressed datagram: its header (compressed flag cleared) and its commands.
    private DatagramInfo InspectCompressed(ReadOnlySpan<byte> data, DatagramInfo compressed)
    {
        var headerSize = (BinaryPrimitives.ReadUInt16BigEndian(data) & HeaderFlagSentTime) != 0 ? 4 : 2;
        Span<byte> plain = stackalloc byte[MaximumMtu];
        data[..headerSize].CopyTo(plain);
        BinaryPrimitives.WriteUInt16BigEndian(plain, (ushort)(BinaryPrimitives.ReadUInt16BigEndian(data) & ~HeaderFlagCompressed));
        nuint length;
        fixed (byte* source = data)
        fixed (byte* target = plain)
        {
            length = enet_range_coder_decompress(_rangeCoder, source + headerSize, (nuint)(data.Length - headerSize), target + headerSize, (nuint)(plain.Length - headerSize));
        }

        return length == 0
            ? compressed
            : DatagramInspector.Inspect(plain[..(headerSize + (int)length)], PeerCount, compressionEnabled: true, (long)Config.MaxPacketSize + EnetFraming.HeaderSize);
    }

    // A CONNECT from `from`: 0 lets ENet answer it (admitted), 1 consumes it unanswered (refused, or still being checked:
    // the client retransmits its CONNECT and the check's result is used then).
    private int OnConnectRequest(EnetAddress from, uint connectId, uint data)
    {
        var key = new ConnectKey(from.Host, from.Port, connectId);
        if (_admissions.TryGetValue(key, out var known))
        {
            return known.State switch
            {
                AdmissionState.Pending => known.Pending!.IsCompleted ? Resolve(known, Outcome(known.Pending, known.Request)) : 1,
                AdmissionState.Refused => 1,
                _ => 0, // ENet ignores a repeated CONNECT of a peer it has
            };
        }

        var request = NewRequest(from, data);
        var admission = new Admission(key, request);
        if (_admissions.Count >= _maxAdmissions)
        {
            Sweep(Environment.TickCount64, force: true);
            if (_admissions.Count >= _maxAdmissions)
            {
                // Not remembered: under such a flood a retransmission is counted again.
                _router.ReportRefusal(request, AdmissionRefusal.ServerFull, "too many connections being admitted at once");
                return 1;
            }
        }

        _admissions[key] = admission;
        if (data == 0)
        {
            return Refuse(admission, AdmissionRefusal.InvalidId, ReservedIdDetail);
        }

        if (_slotsInUse + _accepted.Count >= PeerCount)
        {
            return Refuse(admission, AdmissionRefusal.ServerFull, $"no free ENet peer slot (MaxClients {PeerCount})");
        }

        var pending = Admit(request);
        if (pending.IsCompleted)
        {
            return Resolve(admission, Outcome(pending, request));
        }

        admission.State = AdmissionState.Pending;
        admission.Pending = pending.AsTask();
        admission.Deadline = Environment.TickCount64 + _admissionTimeoutMs;
        return 1;
    }

    private AdmissionRequest NewRequest(EnetAddress from, uint data) =>
        new(EnetRelayListener.TransportName, ToEndPoint(from), _room) { ConnectData = data, RequestedPeerId = (int)data };

    private ValueTask<AdmissionTicket> Admit(AdmissionRequest request)
    {
        try
        {
            return _router.AdmitAsync(request);
        }
#pragma warning disable CA1031 // a failing admission refuses the connection; it must not reach native ENet
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<AdmissionTicket>(ex);
        }
    }

    // The ticket of a completed admission, or null when it failed (then counted here as refused).
    private AdmissionTicket? Outcome(ValueTask<AdmissionTicket> completed, AdmissionRequest request)
    {
        if (completed.IsCompletedSuccessfully)
        {
            return completed.Result;
        }

        return Outcome(completed.AsTask(), request);
    }

    private AdmissionTicket? Outcome(Task<AdmissionTicket> completed, AdmissionRequest request)
    {
        if (completed.IsCompletedSuccessfully)
        {
            return completed.Result;
        }

        var what = completed.IsCanceled ? "was canceled" : "failed: " + completed.Exception?.InnerException?.GetType().Name;
        _router.ReportRefusal(request, AdmissionRefusal.Other, "the admission check " + what);
        return null;
    }

    private int Resolve(Admission admission, AdmissionTicket? ticket)
    {
        admission.Pending = null;
        if (ticket is not { IsAccepted: true })
        {
            admission.State = AdmissionState.Refused;
            admission.Deadline = Environment.TickCount64 + _admissionTimeoutMs;
            return 1;
        }

        if (_slotsInUse + _accepted.Count >= PeerCount)
        {
            // Slots were taken while an asynchronous check ran.
            ticket.Dispose();
            return Refuse(admission, AdmissionRefusal.ServerFull, $"no free ENet peer slot (MaxClients {PeerCount})");
        }

        admission.State = AdmissionState.Accepted;
        admission.Ticket = ticket;
        admission.Deadline = Environment.TickCount64 + _admissionTimeoutMs;
        _accepted[new PeerKey(admission.Key.Host, admission.Key.Port, ticket.PeerId)] = admission;
        return 0;
    }

    private int Refuse(Admission admission, AdmissionRefusal reason, string detail)
    {
        _router.ReportRefusal(admission.Request, reason, detail);
        admission.State = AdmissionState.Refused;
        admission.Deadline = Environment.TickCount64 + _admissionTimeoutMs;
        return 1;
    }

    // The fallback for a connection whose CONNECT the intercept hook could not read: admitted now, synchronously.
    private AdmissionTicket? AdmitAtConnect(EnetAddress address, uint data)
    {
        var request = NewRequest(address, data);
        if (data == 0)
        {
            _router.ReportRefusal(request, AdmissionRefusal.InvalidId, ReservedIdDetail);
            return null;
        }

        var pending = Admit(request);
        AdmissionTicket? ticket;
        if (pending.IsCompleted)
        {
            ticket = Outcome(pending, request);
        }
        else
        {
            ReleaseWhenDone(pending.AsTask());
            _router.ReportRefusal(request, AdmissionRefusal.Other,
                "the admission check did not complete at once for a CONNECT that could not be read before ENet answered it");
            return null;
        }

        return ticket is { IsAccepted: true } ? ticket : null;
    }

    // Forgets admissions past their deadline, releasing what they reserved: a check whose client stopped retransmitting,
    // an accepted CONNECT whose handshake never completed, a refusal old enough that its client has given up.
    private void Sweep(long now, bool force)
    {
        if (_admissions.Count == 0)
        {
            return;
        }

        foreach (var a in _admissions.Values)
        {
            if (a.State != AdmissionState.Joined && (now >= a.Deadline || (force && a.State == AdmissionState.Refused)))
            {
                _expired.Add(a);
            }
        }

        foreach (var a in CollectionsMarshal.AsSpan(_expired))
        {
            _admissions.Remove(a.Key);
            if (a.State == AdmissionState.Accepted && a.Ticket is { } t)
            {
                _accepted.Remove(new PeerKey(a.Key.Host, a.Key.Port, t.PeerId));
            }

            Release(a);
        }

        _expired.Clear();
    }

    private static void Release(Admission a)
    {
        if (a.Pending is { } pending)
        {
            ReleaseWhenDone(pending);
        }

        a.Ticket?.Dispose();
        a.Ticket = null;
        a.Pending = null;
    }

    private static void ReleaseWhenDone(Task<AdmissionTicket> pending)
    {
        if (pending.IsCompleted)
        {
            if (pending.IsCompletedSuccessfully)
            {
                pending.Result.Dispose();
            }

            return;
        }

        _ = pending.ContinueWith(
            static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "ENet: peer {PeerId} connected from {EndPoint}")]
    private static partial void LogPeerConnected(ILogger logger, int peerId, System.Net.IPEndPoint endPoint);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "ENet: peer {PeerId} left ({Reason})")]
    private static partial void LogPeerLeft(ILogger logger, int peerId, EnetDisconnectReason reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "ENet: the loaded libenet's peer layout is not ENet 1.3's; round-trip time and packet loss will not be reported: {Layout}")]
    private static partial void LogPeerLayout(ILogger logger, string layout);
}
