using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GdNet.Enet.Interop;
using GdNet.Peers;
using Microsoft.Extensions.Logging;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>What one server or client session was created with. Immutable once the session runs.</summary>
internal sealed record EnetSessionConfig(
    bool IsServer,
    int UniqueId,
    int ChannelCount,
    bool ServerRelay,
    CompressionModeEnum Compression,
    int MaxPacketSize,
    long MaxWaitingData,
    uint TimeoutMinimumMs,
    uint TimeoutMaximumMs,
    long ConnectTimeoutMs);

/// <summary>
/// One active ENet host and the service thread that owns it (<see cref="NetworkedMultiplayerENet"/> makes one per
/// <c>CreateServer</c>/<c>CreateClient</c>). The thread services the host, applies Godot's rules (ids, system
/// messages, relay), and hands packets and events to the peer's <see cref="PeerInbox"/>. The game thread talks to it only
/// through <see cref="EnqueueSend"/>, <see cref="EnqueueKick"/> and <see cref="Stop"/>.
/// </summary>
internal sealed unsafe partial class EnetSession : IDisposable
{
    /// <summary>The Godot header on data channels: u32 source, i32 target.</summary>
    public const int HeaderSize = 8;

    public const byte ChannelConfig = 0;
    public const uint SysMsgAddPeer = 0;
    public const uint SysMsgRemovePeer = 1;

    private const uint EnetTimeoutLimit = 32; // ENET_PEER_TIMEOUT_LIMIT, ENet's default
    private const uint BlockMs = 10;
    private const int ServerReceiveBuffer = 4 << 20;
    private const int MaxEventsPerTurn = 8192;

    [ThreadStatic]
    private static EnetSession? t_current;

    private readonly NetworkedMultiplayerENet _owner;
    private readonly PeerInbox _inbox;
    private readonly ILogger _logger;
    private readonly EnetSessionConfig _config;
    private readonly EnetHostHandle _host;
    private readonly Thread _thread;
    private readonly int _peerCount;

    // Commands from the game thread.
    private readonly Lock _commandGate = new();
    private List<Command> _pending = new(256);
    private List<Command> _draining = new(256);
    private bool _sleeping;
    private bool _closed;
    private volatile bool _stopRequested;
    private uint _stopWaitUsec;

    // Wake-up: a loopback datagram to the host's own socket ends a blocking enet_host_service early.
    private readonly Socket? _wakeSocket;
    private readonly EnetAddress _wakeFrom;

    // Service-thread state.
    private readonly Dictionary<int, RemotePeer> _byId = [];
    private readonly List<RemotePeer> _peers = [];
    private readonly RemotePeer?[] _byIndex;
    private readonly long[] _lastHeard;
    private readonly List<(RemotePeer Peer, EnetDisconnectReason Reason)> _toDrop = [];

    // Peers with held packets: when the game thread's inbox is full, a reliable packet is held per peer (ENet keeps
    // being serviced, so acknowledgements and other peers keep flowing) and moved in as room appears.
    private readonly List<RemotePeer> _backlogged = [];
    private readonly uint[] _refusedConnectIds = new uint[16];
    private int _refusedConnectNext;
    private readonly nint _serverPeer;
    private readonly long _connectDeadline;
    private readonly HashSet<int> _relayedIds = [];
    private bool _connected;
    private bool _ended;
    private int _serviceErrors;

    private struct Command
    {
        public CommandKind Kind;
        public int Target;
        public byte Channel;
        public EnetPacket* Packet;
    }

    private enum CommandKind
    {
        Send = 0,
        KickNow,
        KickLater,
    }

    private sealed class RemotePeer(int id, nint ptr, int index, IPEndPoint endPoint)
    {
        public int Id { get; } = id;

        public nint Ptr { get; } = ptr;

        public int Index { get; } = index;

        public IPEndPoint EndPoint { get; } = endPoint;

        public bool Kicked { get; set; }

        public int LastOversizedSequence { get; set; } = -1;

        // Reliable packets (and the events behind them) held while the inbox is full, in arrival order.
        public Queue<Held>? Backlog { get; set; }

        public long BacklogBytes { get; set; }
    }

    // A held packet (Buffer from ArrayPool<byte>.Shared), or, with a null Buffer, an event queued behind held packets.
    private readonly record struct Held(int From, byte[]? Buffer, int Length, byte Channel, PeerEventKind Event, int EventId);

    private EnetSession(NetworkedMultiplayerENet owner, EnetSessionConfig config, EnetHostHandle host, nint serverPeer)
    {
        _owner = owner;
        _inbox = owner.Inbox;
        _logger = owner.Logger;
        _config = config;
        _host = host;
        _serverPeer = serverPeer;
        _peerCount = PeerCountOf(host);
        _byIndex = new RemotePeer?[_peerCount];
        _lastHeard = new long[_peerCount];
        _connectDeadline = Environment.TickCount64 + config.ConnectTimeoutMs;
        LocalEndPoint = ToEndPoint(HostAddressOf(host));
        try
        {
            var target = LocalEndPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : LocalEndPoint.Address;
            _wakeSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _wakeSocket.Connect(new IPEndPoint(target, LocalEndPoint.Port));
            _wakeFrom = ToAddress(((IPEndPoint)_wakeSocket.LocalEndPoint!).Address, ((IPEndPoint)_wakeSocket.LocalEndPoint!).Port);
        }
        catch (SocketException)
        {
            // Without a wake socket commands wait for the next turn (at most BlockMs).
            _wakeSocket?.Dispose();
            _wakeSocket = null;
        }

        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = config.IsServer ? "GdNet ENet server" : "GdNet ENet client",
        };
    }

    /// <summary>The host's bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Remote endpoints by peer id, for <c>GetPeerAddress</c>/<c>GetPeerPort</c>. Any thread.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<int, IPEndPoint> EndPoints { get; } = new();

    /// <summary>Whether the service thread has ended (stopped, failed, or the client lost its server). Any thread.</summary>
    public bool HasEnded => !_thread.IsAlive;

    /// <summary>
    /// Creates the host (on the calling thread, before the service thread exists), configures it, and starts the
    /// service thread. Returns null and an error when the host cannot be created (e.g. the port is taken).
    /// </summary>
    public static EnetSession? Start(NetworkedMultiplayerENet owner, EnetSessionConfig config, EnetAddress bind, int maxClients,
        uint inBandwidth, uint outBandwidth, EnetAddress? connectTo, out Error error)
    {
        EnsureLoaded();
        var raw = enet_host_create(&bind, (nuint)maxClients, (nuint)config.ChannelCount, inBandwidth, outBandwidth);
        if (raw == 0)
        {
            error = Error.CantCreate;
            return null;
        }

        var host = new EnetHostHandle(raw);
        var layout = CheckHostLayout(host, maxClients, config.ChannelCount);
        if (layout is not null)
        {
            host.Dispose();
            throw new PlatformNotSupportedException("The loaded ENet library's ENetHost layout is not the ENet 1.3 LP64 layout GdNet was built for: " + layout);
        }

        // ENet's defaults (32 MiB per packet and per peer's waiting data) let one remote peer make the host allocate
        // that much; GdNet's limits replace them. The Godot header counts towards ENet's packet size.
        SetLimits(host, (long)config.MaxPacketSize + HeaderSize, config.MaxWaitingData);
        if (config.IsServer)
        {
            // ENet asks for 256 KiB; a server that many clients send to at once loses fewer datagrams (and so fewer
            // retransmissions and timeouts) with more. The OS caps it (Linux: net.core.rmem_max); failure is harmless.
            _ = enet_socket_set_option(SocketOf(host), SocketOptionReceiveBuffer, ServerReceiveBuffer);
        }
        if (config.Compression == CompressionModeEnum.RangeCoder)
        {
            if (enet_host_compress_with_range_coder(host) != 0)
            {
                host.Dispose();
                error = Error.CantCreate;
                return null;
            }
        }
        else
        {
            enet_host_compress(host, 0);
        }

        SetIntercept(host, &InterceptThunk);
        nint serverPeer = 0;
        if (connectTo is { } address)
        {
            serverPeer = enet_host_connect(host, &address, (nuint)config.ChannelCount, (uint)config.UniqueId);
            if (serverPeer == 0)
            {
                host.Dispose();
                error = Error.CantCreate;
                return null;
            }

            enet_peer_timeout(serverPeer, EnetTimeoutLimit, config.TimeoutMinimumMs, config.TimeoutMaximumMs);
        }

        var session = new EnetSession(owner, config, host, serverPeer);
        session._thread.Start();
        error = Error.Ok;
        return session;
    }

    // ------------------------------------------------------------------ game thread

    /// <summary>Hands an outgoing packet to the service thread; false (packet not taken) once the session ended.</summary>
    public bool EnqueueSend(int target, byte channel, EnetPacket* packet) =>
        Enqueue(new Command { Kind = CommandKind.Send, Target = target, Channel = channel, Packet = packet });

    /// <summary>Asks the service thread to kick peer <paramref name="id"/>.</summary>
    public bool EnqueueKick(int id, bool now) =>
        Enqueue(new Command { Kind = now ? CommandKind.KickNow : CommandKind.KickLater, Target = id });

    private bool Enqueue(in Command command)
    {
        bool wake;
        lock (_commandGate)
        {
            if (_closed)
            {
                return false;
            }

            _pending.Add(command);
            wake = _sleeping;
            _sleeping = false;
        }

        if (wake)
        {
            Wake();
        }

        return true;
    }

    private void Wake()
    {
        try
        {
            _wakeSocket?.Send([0]);
        }
        catch (SocketException)
        {
            // the service thread notices within BlockMs anyway
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Stops the service thread: it disconnects every peer (data = own id, as Godot's <c>close_connection</c>), flushes,
    /// waits <paramref name="waitUsec"/>, destroys the host and exits; this joins it. Idempotent. Game thread.
    /// </summary>
    public void Stop(uint waitUsec)
    {
        _stopWaitUsec = waitUsec;
        _stopRequested = true;
        Wake();
        if (Thread.CurrentThread != _thread && !_thread.Join(TimeSpan.FromSeconds(10)))
        {
            LogJoinTimeout(_logger);
        }

        _wakeSocket?.Dispose();
    }

    /// <inheritdoc cref="Stop"/>
    public void Dispose() => Stop(0);

    // ------------------------------------------------------------------ service thread

    private void Run()
    {
        t_current = this;
        try
        {
            EnetEvent ev;
            while (!_stopRequested && !_ended)
            {
                var worked = DrainCommands();
                FlushBacklogs();
                var events = 0;
                int result;
                while ((result = enet_host_service(_host, &ev, 0)) > 0)
                {
                    Handle(ref ev);
                    if (++events >= MaxEventsPerTurn || _ended)
                    {
                        break;
                    }
                }

                if (result < 0)
                {
                    // A socket error: log the first of a run, and back off so a persistent one cannot spin the thread.
                    if (_serviceErrors++ == 0)
                    {
                        LogServiceError(_logger);
                    }

                    Thread.Sleep(1);
                }
                else
                {
                    _serviceErrors = 0;
                }

                ApplyDrops();
                CheckConnectTimeout();
                if (worked || events > 0 || _ended || _stopRequested)
                {
                    continue;
                }

                lock (_commandGate)
                {
                    if (_pending.Count != 0)
                    {
                        continue;
                    }

                    _sleeping = true;
                }

                result = enet_host_service(_host, &ev, _backlogged.Count > 0 ? 1u : BlockMs);
                lock (_commandGate)
                {
                    _sleeping = false;
                }

                if (result > 0)
                {
                    Handle(ref ev);
                }
            }

            // A client whose connection ended still hands over what it holds, then the ServerDisconnected behind it.
            while (!_stopRequested && _backlogged.Count > 0)
            {
                FlushBacklogs();
                if (_backlogged.Count > 0)
                {
                    Thread.Sleep(1);
                }
            }

            if (_stopRequested)
            {
                CloseAll();
            }
        }
#pragma warning disable CA1031 // the service thread must end cleanly whatever happens; the failure is logged
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogServiceCrash(_logger, e);
            if (!_config.IsServer && !_ended)
            {
                _inbox.EnqueueEvent(_connected ? PeerEventKind.ServerDisconnected : PeerEventKind.ConnectionFailed);
            }
        }
        finally
        {
            lock (_commandGate)
            {
                _closed = true;
                (_draining, _pending) = (_pending, _draining);
            }

            foreach (var c in CollectionsMarshal.AsSpan(_draining))
            {
                if (c.Packet != null)
                {
                    enet_packet_destroy(c.Packet);
                }
            }

            _draining.Clear();
            foreach (var rp in _backlogged.ToArray())
            {
                DiscardBacklog(rp);
            }

            _host.Dispose();
            t_current = null;
        }
    }

    private bool DrainCommands()
    {
        lock (_commandGate)
        {
            if (_pending.Count == 0)
            {
                return false;
            }

            (_draining, _pending) = (_pending, _draining);
        }

        var sent = false;
        foreach (ref var c in CollectionsMarshal.AsSpan(_draining))
        {
            switch (c.Kind)
            {
                case CommandKind.Send:
                    Send(c.Target, c.Channel, c.Packet);
                    c.Packet = null;
                    sent = true;
                    break;
                case CommandKind.KickNow:
                case CommandKind.KickLater:
                    if (_byId.TryGetValue(c.Target, out var rp))
                    {
                        if (c.Kind == CommandKind.KickNow)
                        {
                            enet_peer_disconnect_now(rp.Ptr, 0);
                            Remove(rp, EnetDisconnectReason.Kicked);
                        }
                        else
                        {
                            rp.Kicked = true;
                            enet_peer_disconnect_later(rp.Ptr, 0);
                        }
                    }

                    sent = true;
                    break;
                default:
                    break;
            }
        }

        _draining.Clear();
        if (sent)
        {
            enet_host_flush(_host);
        }

        return true;
    }

    private void Send(int target, byte channel, EnetPacket* packet)
    {
        if (!_config.IsServer)
        {
            if (_connected)
            {
                _ = enet_peer_send(_serverPeer, channel, packet);
            }
        }
        else if (target > 0)
        {
            if (_byId.TryGetValue(target, out var rp))
            {
                _ = enet_peer_send(rp.Ptr, channel, packet);
            }
        }
        else
        {
            var exclude = -target;
            foreach (var rp in CollectionsMarshal.AsSpan(_peers))
            {
                if (rp.Id != exclude)
                {
                    _ = enet_peer_send(rp.Ptr, channel, packet);
                }
            }
        }

        ReleaseIfUnreferenced(packet);
    }

    private void Handle(ref EnetEvent ev)
    {
        switch (ev.Type)
        {
            case EventConnect:
                OnConnect(ev.Peer, ev.Data);
                break;
            case EventDisconnect:
                OnDisconnect(ev.Peer, ev.Data);
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
        if (!_config.IsServer)
        {
            if (peer != _serverPeer || _connected)
            {
                return;
            }

            _connected = true;
            var index = PeerIndexOf(peer);
            _lastHeard[index] = Environment.TickCount64;
            var server = new RemotePeer(NetworkedMultiplayerPeer.TargetPeerServer, peer, index, ToEndPoint(PeerAddressOf(peer)));
            _byIndex[index] = server;
            EndPoints[server.Id] = server.EndPoint;
            _inbox.EnqueueEvent(PeerEventKind.PeerConnected, NetworkedMultiplayerPeer.TargetPeerServer);
            _inbox.EnqueueEvent(PeerEventKind.ConnectionSucceeded);
            return;
        }

        // Normally refused earlier, in the intercept hook, before ENet answers the CONNECT. This is the fallback for
        // requests the hook cannot read (compressed datagrams).
        var id = (int)data;
        var refusal = RefusalOf(data, PeerAddressOf(peer), out _);
        if (refusal is not null)
        {
            enet_peer_disconnect_now(peer, 0);
            Reject(0, PacketRejectReason.Refused, id, 0, refusal);
            return;
        }

        enet_peer_timeout(peer, EnetTimeoutLimit, _config.TimeoutMinimumMs, _config.TimeoutMaximumMs);
        var slot = PeerIndexOf(peer);
        var rp = new RemotePeer(id, peer, slot, ToEndPoint(PeerAddressOf(peer)));
        _byId[id] = rp;
        _peers.Add(rp);
        _byIndex[slot] = rp;
        _lastHeard[slot] = Environment.TickCount64;
        EndPoints[id] = rp.EndPoint;
        _inbox.EnqueueEvent(PeerEventKind.PeerConnected, id);
        LogPeerConnected(_logger, id, rp.EndPoint);
        if (!_config.ServerRelay)
        {
            return;
        }

        foreach (var other in CollectionsMarshal.AsSpan(_peers))
        {
            if (other != rp)
            {
                SendSysMsg(rp.Ptr, SysMsgAddPeer, other.Id);
                SendSysMsg(other.Ptr, SysMsgAddPeer, id);
            }
        }
    }

    // Why a CONNECT carrying client id <paramref name="data"/> from <paramref name="from"/> is refused; null if not.
    // <paramref name="retransmission"/> is set for a repeated CONNECT of a peer already connected (not a refusal).
    private string? RefusalOf(uint data, EnetAddress from, out bool retransmission)
    {
        retransmission = false;
        if (_owner.RefusingConnections)
        {
            return "refusing new connections";
        }

        if (data < 2 || data > int.MaxValue)
        {
            return "client id is reserved (ids below 2) or not a 31-bit id";
        }

        if (_byId.TryGetValue((int)data, out var existing))
        {
            var ep = ToEndPoint(from);
            retransmission = existing.EndPoint.Equals(ep);
            return "client id already connected";
        }

        if (_peers.Count >= _peerCount)
        {
            return "server full";
        }

        return null;
    }

    private void OnDisconnect(nint peer, uint data)
    {
        var index = PeerIndexOf(peer);
        var silence = Environment.TickCount64 - _lastHeard[index];
        var timedOut = silence >= _config.TimeoutMinimumMs / 2;
        if (!_config.IsServer)
        {
            if (peer != _serverPeer)
            {
                return;
            }

            _ended = true;
            if (!_connected)
            {
                _inbox.EnqueueEvent(PeerEventKind.ConnectionFailed);
                return;
            }

            var reason = timedOut ? EnetDisconnectReason.TimedOut : data == 0 ? EnetDisconnectReason.Kicked : EnetDisconnectReason.Closed;
            _owner.RecordLeft(NetworkedMultiplayerPeer.TargetPeerServer, reason);
            Event(_byIndex[index], PeerEventKind.ServerDisconnected, 0);
            return;
        }

        var rp = _byIndex[index];
        if (rp is null || rp.Ptr != peer)
        {
            return; // refused, or kicked with now=true: already reported
        }

        Remove(rp, rp.Kicked ? EnetDisconnectReason.Kicked : timedOut ? EnetDisconnectReason.TimedOut : EnetDisconnectReason.Closed);
    }

    // Server: forgets a peer, tells the others (relay on), and queues its PeerDisconnected.
    private void Remove(RemotePeer rp, EnetDisconnectReason reason)
    {
        _byId.Remove(rp.Id);
        _peers.Remove(rp);
        _byIndex[rp.Index] = null;
        EndPoints.TryRemove(rp.Id, out _);
        if (_config.ServerRelay)
        {
            foreach (var other in CollectionsMarshal.AsSpan(_peers))
            {
                SendSysMsg(other.Ptr, SysMsgRemovePeer, rp.Id);
            }
        }

        _owner.RecordLeft(rp.Id, reason);
        Event(rp, PeerEventKind.PeerDisconnected, rp.Id);
        LogPeerLeft(_logger, rp.Id, reason);
    }

    private static void SendSysMsg(nint peer, uint message, int id)
    {
        var packet = enet_packet_create(null, 8, PacketFlagReliable);
        if (packet == null)
        {
            return;
        }

        var span = new Span<byte>(packet->Data, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(span, message);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)id);
        _ = enet_peer_send(peer, ChannelConfig, packet);
        ReleaseIfUnreferenced(packet);
    }

    private void OnReceive(nint peer, byte channel, EnetPacket* packet)
    {
        try
        {
            var length = (int)packet->DataLength;
            var data = new ReadOnlySpan<byte>(packet->Data, length);
            var reliable = (packet->Flags & PacketFlagReliable) != 0;
            if (_config.IsServer)
            {
                var rp = _byIndex[PeerIndexOf(peer)];
                if (rp is null || rp.Ptr != peer)
                {
                    return;
                }

                ServerReceive(rp, channel, packet, data, reliable);
            }
            else if (peer == _serverPeer)
            {
                ClientReceive(channel, data, reliable);
            }
        }
        finally
        {
            ReleaseIfUnreferenced(packet);
        }
    }

    private void ServerReceive(RemotePeer rp, byte channel, EnetPacket* packet, ReadOnlySpan<byte> data, bool reliable)
    {
        if (channel == ChannelConfig)
        {
            Reject(rp.Id, PacketRejectReason.UnsupportedFrame, data.Length, 0, "channel 0 carries the server's system messages only");
            return;
        }

        if (data.Length < HeaderSize)
        {
            Reject(rp.Id, PacketRejectReason.TooSmall, data.Length, HeaderSize, "shorter than the 8-byte source/target header");
            return;
        }

        if (data.Length - HeaderSize > _config.MaxPacketSize)
        {
            Reject(rp.Id, PacketRejectReason.TooLarge, data.Length - HeaderSize, _config.MaxPacketSize, null);
            return;
        }

        var source = BinaryPrimitives.ReadUInt32LittleEndian(data);
        var target = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (source != (uint)rp.Id)
        {
            Reject(rp.Id, PacketRejectReason.SpoofedSource, source, 0, "source id is not the sender's id");
            return;
        }

        bool local;
        if (target == NetworkedMultiplayerPeer.TargetPeerServer)
        {
            local = true;
        }
        else if (!_config.ServerRelay)
        {
            // Godot drops every packet not addressed to the server when relay is off, broadcasts included.
            Reject(rp.Id, PacketRejectReason.UnknownTarget, target, 0, "server relay is off");
            return;
        }
        else if (target <= 0)
        {
            var exclude = target == int.MinValue ? 0 : -target;
            foreach (var other in CollectionsMarshal.AsSpan(_peers))
            {
                if (other != rp && other.Id != exclude && enet_peer_send(other.Ptr, channel, packet) == 0)
                {
                    _owner.CountRelayed();
                }
            }

            local = exclude != NetworkedMultiplayerPeer.TargetPeerServer;
        }
        else
        {
            if (target == rp.Id || !_byId.TryGetValue(target, out var destination))
            {
                Reject(rp.Id, PacketRejectReason.UnknownTarget, target, 0, target == rp.Id ? "relay target is the sender itself" : "relay target is not connected");
                return;
            }

            if (enet_peer_send(destination.Ptr, channel, packet) == 0)
            {
                _owner.CountRelayed();
            }

            local = false;
        }

        if (local)
        {
            Deliver(rp, rp.Id, data[HeaderSize..], channel, reliable);
        }
    }

    private void ClientReceive(byte channel, ReadOnlySpan<byte> data, bool reliable)
    {
        if (channel == ChannelConfig)
        {
            if (data.Length < 8)
            {
                Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, data.Length, 8, "system message shorter than 8 bytes");
                return;
            }

            var message = BinaryPrimitives.ReadUInt32LittleEndian(data);
            var id = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            if (id < 2 || id > int.MaxValue || id == (uint)_config.UniqueId)
            {
                Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, id, 0, "system message names an invalid peer id");
                return;
            }

            if (message == SysMsgAddPeer)
            {
                if (_relayedIds.Add((int)id))
                {
                    Event(ServerRemote, PeerEventKind.PeerConnected, (int)id);
                }
            }
            else if (message == SysMsgRemovePeer)
            {
                if (_relayedIds.Remove((int)id))
                {
                    _owner.RecordLeft((int)id, EnetDisconnectReason.LeftServer);
                    Event(ServerRemote, PeerEventKind.PeerDisconnected, (int)id);
                }
            }
            else
            {
                Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, message, 0, "unknown system message");
            }

            return;
        }

        if (data.Length < HeaderSize)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.TooSmall, data.Length, HeaderSize, "shorter than the 8-byte source/target header");
            return;
        }

        if (data.Length - HeaderSize > _config.MaxPacketSize)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.TooLarge, data.Length - HeaderSize, _config.MaxPacketSize, null);
            return;
        }

        // Like Godot, a client takes the source from the header (the server checked it) and ignores the target.
        var source = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (source < 1 || source > int.MaxValue)
        {
            Reject(NetworkedMultiplayerPeer.TargetPeerServer, PacketRejectReason.Malformed, source, 0, "source id is not a peer id");
            return;
        }

        Deliver(_byIndex[PeerIndexOf(_serverPeer)], (int)source, data[HeaderSize..], channel, reliable);
    }

    private void Deliver(RemotePeer? via, int from, ReadOnlySpan<byte> payload, byte channel, bool reliable)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        if (reliable && via is not null && payload.Length <= _inbox.MaxBytes && (via.Backlog is { Count: > 0 } || !InboxHasRoom(payload.Length)))
        {
            // A reliable stream cannot skip a packet: hold it (in order, behind the peer's other held ones).
            Hold(via, new Held(from, buffer, payload.Length, channel, default, 0));
            return;
        }

        if (!_owner.DeliverFromService(from, buffer, payload.Length, channel).IsAccepted && reliable && via is not null)
        {
            // Larger than MaxQueuedBytes: it can never fit, so the peer's stream cannot make progress.
            QueueDrop(via, EnetDisconnectReason.LimitExceeded);
        }
    }

    // Client: the server's entry (null before the connection).
    private RemotePeer? ServerRemote => _byIndex[PeerIndexOf(_serverPeer)];

    // Only the service thread adds to the inbox, so room seen here is still there at the enqueue.
    private bool InboxHasRoom(int length) =>
        _inbox.AvailablePacketCount < _inbox.MaxPackets && _inbox.QueuedBytes + length <= _inbox.MaxBytes;

    private void Hold(RemotePeer rp, Held held)
    {
        if (held.Buffer is not null && rp.BacklogBytes + HeldCost(held.Length) > _config.MaxWaitingData)
        {
            // The game thread is not keeping up with this peer: drop it rather than hold without bound.
            ArrayPool<byte>.Shared.Return(held.Buffer);
            if (!IsDropping(rp))
            {
                Reject(rp.Id, PacketRejectReason.QueueFull, held.Length, _config.MaxWaitingData, "held reliable packets of this peer exceed MaxWaitingData");
                QueueDrop(rp, EnetDisconnectReason.LimitExceeded);
            }

            return;
        }

        rp.Backlog ??= new Queue<Held>();
        if (rp.Backlog.Count == 0)
        {
            _backlogged.Add(rp);
        }

        rp.Backlog.Enqueue(held);
        rp.BacklogBytes += HeldCost(held.Length);
    }

    // What a held packet counts against MaxWaitingData: its bytes plus its bookkeeping, so tiny packets are bounded too.
    private static long HeldCost(int length) => length + 64L;

    // Queues an event for the game thread, behind the packets held for rp, if any.
    private void Event(RemotePeer? rp, PeerEventKind kind, int id)
    {
        if (rp?.Backlog is { Count: > 0 } backlog)
        {
            backlog.Enqueue(new Held(0, null, 0, 0, kind, id));
        }
        else
        {
            _inbox.EnqueueEvent(kind, id);
        }
    }

    // Moves held packets into the inbox while there is room, one per peer in turn.
    private void FlushBacklogs()
    {
        var room = true;
        while (room && _backlogged.Count > 0)
        {
            foreach (var rp in CollectionsMarshal.AsSpan(_backlogged))
            {
                var q = rp.Backlog!;
                DequeueEvents(q);
                if (q.Count > 0)
                {
                    var held = q.Peek();
                    if (!InboxHasRoom(held.Length))
                    {
                        room = false;
                        break;
                    }

                    q.Dequeue();
                    rp.BacklogBytes -= HeldCost(held.Length);
                    if (!_owner.DeliverFromService(held.From, held.Buffer!, held.Length, held.Channel).IsAccepted)
                    {
                        QueueDrop(rp, EnetDisconnectReason.LimitExceeded);
                    }

                    DequeueEvents(q);
                }
            }

            _backlogged.RemoveAll(static rp => rp.Backlog!.Count == 0);
        }

        void DequeueEvents(Queue<Held> q)
        {
            while (q.Count > 0 && q.Peek().Buffer is null)
            {
                var e = q.Dequeue();
                _inbox.EnqueueEvent(e.Event, e.EventId);
            }
        }
    }

    // Drops what is held for rp (its queued events still reach the game thread).
    private void DiscardBacklog(RemotePeer rp)
    {
        if (rp.Backlog is not { Count: > 0 } q)
        {
            return;
        }

        while (q.Count > 0)
        {
            var held = q.Dequeue();
            if (held.Buffer is null)
            {
                _inbox.EnqueueEvent(held.Event, held.EventId);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(held.Buffer);
            }
        }

        rp.BacklogBytes = 0;
        _backlogged.Remove(rp);
    }

    private bool IsDropping(RemotePeer rp)
    {
        foreach (var d in CollectionsMarshal.AsSpan(_toDrop))
        {
            if (d.Peer == rp)
            {
                return true;
            }
        }

        return false;
    }

    private void QueueDrop(RemotePeer rp, EnetDisconnectReason reason)
    {
        foreach (var d in CollectionsMarshal.AsSpan(_toDrop))
        {
            if (d.Peer == rp)
            {
                return;
            }
        }

        _toDrop.Add((rp, reason));
    }

    private void ApplyDrops()
    {
        if (_toDrop.Count == 0)
        {
            return;
        }

        foreach (var (rp, reason) in CollectionsMarshal.AsSpan(_toDrop))
        {
            DiscardBacklog(rp);
            if (!_config.IsServer)
            {
                if (!_ended)
                {
                    enet_peer_disconnect_now(_serverPeer, (uint)_config.UniqueId);
                    _ended = true;
                    _owner.RecordLeft(NetworkedMultiplayerPeer.TargetPeerServer, reason);
                    _inbox.EnqueueEvent(PeerEventKind.ServerDisconnected);
                }
            }
            else if (_byIndex[rp.Index] == rp)
            {
                enet_peer_disconnect_now(rp.Ptr, 0);
                Remove(rp, reason);
            }
        }

        _toDrop.Clear();
    }

    private void CheckConnectTimeout()
    {
        if (!_config.IsServer && !_connected && !_ended && Environment.TickCount64 >= _connectDeadline)
        {
            enet_peer_reset(_serverPeer);
            _ended = true;
            _inbox.EnqueueEvent(PeerEventKind.ConnectionFailed);
        }
    }

    private void CloseAll()
    {
        var any = false;
        foreach (var rp in CollectionsMarshal.AsSpan(_peers))
        {
            enet_peer_disconnect_now(rp.Ptr, (uint)_config.UniqueId);
            any = true;
        }

        if (!_config.IsServer && !_ended)
        {
            enet_peer_disconnect_now(_serverPeer, (uint)_config.UniqueId);
            any = true;
        }

        if (any)
        {
            enet_host_flush(_host);
            if (_stopWaitUsec > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(_stopWaitUsec * 10L));
            }
        }
    }

    private void Reject(int peer, PacketRejectReason reason, long size, long limit, string? note)
    {
        _inbox.Reject(new PacketRejection(peer, reason, size, limit, note));
        LogRejected(_logger, peer, reason, size, note);
    }

    // ------------------------------------------------------------------ intercept hook (service thread, inside enet_host_service)

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int InterceptThunk(nint host, nint ev)
    {
        try
        {
            return t_current?.OnDatagram(host, (EnetEvent*)ev) ?? 0;
        }
#pragma warning disable CA1031 // nothing may unwind through native ENet
        catch (Exception)
#pragma warning restore CA1031
        {
            return 0;
        }
    }

    // 0: let ENet process the datagram; 1: consumed here (ENet skips it, or returns ev if its type was set).
    private int OnDatagram(nint host, EnetEvent* ev)
    {
        var from = ReceivedAddress(host);
        if (_wakeSocket is not null && from.Port == _wakeFrom.Port && from.Host == _wakeFrom.Host)
        {
            // Consumed, and an event so that enet_host_service returns now: otherwise it would keep waiting for the
            // rest of its timeout and the commands that caused the wake-up would wait with it.
            if (ev != null)
            {
                ev->Type = EventWake;
            }

            return 1;
        }

        var data = ReceivedData(host);
        var info = DatagramInspector.Inspect(data, _peerCount, _config.Compression != CompressionModeEnum.None, (long)_config.MaxPacketSize + HeaderSize);
        if (info.Verdict == DatagramVerdict.Malformed)
        {
            Reject(0, PacketRejectReason.Malformed, data.Length, info.NoteValue, "datagram " + info.Note);
            return 0; // ENet drops it too; it stays the judge
        }

        if (info.PeerIndex >= 0)
        {
            _lastHeard[info.PeerIndex] = Environment.TickCount64;
        }

        if (info.HasConnect && _config.IsServer)
        {
            var refusal = RefusalOf(info.ConnectData, from, out var retransmission);
            if (refusal is not null)
            {
                if (!retransmission && !RecentlyRefused(info.ConnectId))
                {
                    Reject(0, PacketRejectReason.Refused, info.ConnectData, _peerCount, refusal);
                }

                return 1; // never answered: the client's connection fails, as with Godot's own ENet build
            }
        }

        if (info.OversizedFragment && info.PeerIndex >= 0 && _byIndex[info.PeerIndex] is { } rp && rp.LastOversizedSequence != info.OversizedStartSequence)
        {
            rp.LastOversizedSequence = info.OversizedStartSequence;
            Reject(rp.Id, PacketRejectReason.TooLarge, info.OversizedTotalLength - HeaderSize, _config.MaxPacketSize,
                info.OversizedReliable ? "reliable packet; peer dropped" : "unreliable packet dropped");
            if (info.OversizedReliable)
            {
                QueueDrop(rp, EnetDisconnectReason.LimitExceeded);
            }
        }

        return 0;
    }

    private bool RecentlyRefused(uint connectId)
    {
        foreach (var id in _refusedConnectIds)
        {
            if (id == connectId && connectId != 0)
            {
                return true;
            }
        }

        _refusedConnectIds[_refusedConnectNext] = connectId;
        _refusedConnectNext = (_refusedConnectNext + 1) % _refusedConnectIds.Length;
        return false;
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(Level = LogLevel.Debug, Message = "ENet: refused a packet from peer {PeerId}: {Reason} ({Size}) {Note}")]
    private static partial void LogRejected(ILogger logger, int peerId, PacketRejectReason reason, long size, string? note);

    [LoggerMessage(Level = LogLevel.Information, Message = "ENet: peer {PeerId} connected from {EndPoint}")]
    private static partial void LogPeerConnected(ILogger logger, int peerId, IPEndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "ENet: peer {PeerId} left ({Reason})")]
    private static partial void LogPeerLeft(ILogger logger, int peerId, EnetDisconnectReason reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ENet: enet_host_service reported a socket error")]
    private static partial void LogServiceError(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "ENet: the service thread failed")]
    private static partial void LogServiceCrash(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ENet: the service thread did not stop within 10 s")]
    private static partial void LogJoinTimeout(ILogger logger);
}
