using System.Net;
using System.Security.Cryptography.X509Certificates;
using GdNet.Peers;
using GdNet.Server;

namespace GdNet.WebSockets;

/// <summary>
/// Godot 3's <c>WebSocketServer</c> in multiplayer mode (<c>gd_mp_api = true</c>, spec §5): the server (peer 1) that Godot
/// 3 <c>WebSocketClient</c>s and <see cref="WebSocketClient"/>s join. It assigns each client a random id, tells everyone
/// who joined and left (SYS_ID, SYS_ADD, SYS_DEL), relays packets between clients, and hands packets for the server to
/// the game thread. Runs on Kestrel, in process.
/// </summary>
/// <remarks>
/// <para>Built on GdNet.Server: the server owns a <see cref="RelayRouter"/> (Godot's relay rules, one room, no rate or
/// per-address limits) and a <see cref="WebSocketRelayListener"/> that ignores the URL path, as Godot does; this class is
/// the router's hosted logic of that room (peer 1), delivering into the game thread's inbox.</para>
/// <para>Rules for what clients send (spec §5.3), each failure a counted <see cref="PacketRejection"/>: a message shorter
/// than 9 bytes (<see cref="PacketRejectReason.TooSmall"/>), an unknown type byte (<see cref="PacketRejectReason.Malformed"/>),
/// a system message (<see cref="PacketRejectReason.UnsupportedFrame"/>), a text frame (UnsupportedFrame), a <c>from</c>
/// that is not the sender's id (<see cref="PacketRejectReason.SpoofedSource"/>), a target that is the sender or not
/// connected (<see cref="PacketRejectReason.UnknownTarget"/>), a message over <see cref="WebSocketMultiplayerPeer.MaxPacketSize"/>
/// (<see cref="PacketRejectReason.TooLarge"/>, then close 1009). Only the offending client is affected.</para>
/// <para>Deliberate difference from Godot 3.2.3: a client's packet to <c>-1</c> ("everyone but the server") is relayed to
/// the other clients and <b>not</b> delivered to the server. Godot 3.2.3's WebSocket server also delivers it locally (a
/// bug: it compares against the negated sender id); its ENet server, and this one, do not.</para>
/// <para>Refused connections (<see cref="NetworkedMultiplayerPeer.RefuseNewConnections"/>, <see cref="MaxClients"/>, an
/// unacceptable subprotocol) get an HTTP error instead of the upgrade and are counted as
/// <see cref="PacketRejectReason.Refused"/>.</para>
/// </remarks>
public sealed class WebSocketServer : WebSocketMultiplayerPeer
{
    private readonly Lock _gate = new();
    private string _bindIp = "*";
    private int _maxClients = 4096;
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(3);
    private X509Certificate2? _certificate;
    private volatile RelayRouter? _router;
    private volatile WebSocketRelayListener? _listener;
    private Room? _room;
    private volatile bool _listening;
    private bool _stopped = true;
    private Task? _stopTask;

    /// <summary>Godot's <c>bind_ip</c>: <c>"*"</c> (every interface, the default as in Godot), <c>"localhost"</c>, or an IP address.</summary>
    /// <exception cref="ArgumentException">Not <c>*</c>, <c>localhost</c> or an IP address.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public string BindIp
    {
        get => _bindIp;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!WebSocketRelayListener.IsValidBindIp(value))
            {
                throw new ArgumentException(WebSocketRelayListener.BindIpMessage(value), nameof(value));
            }

            ThrowIfActive(nameof(BindIp));
            _bindIp = value;
        }
    }

    /// <summary>
    /// Godot's <c>ssl_certificate</c> and <c>private_key</c> in one: when set, the server speaks <c>wss://</c> (TLS) with
    /// this certificate, which must hold its private key. Null (the default) is plain <c>ws://</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public X509Certificate2? SslCertificate
    {
        get => _certificate;
        set
        {
            if (value is not null && !value.HasPrivateKey)
            {
                throw new ArgumentException(WebSocketRelayListener.CertificateMessage, nameof(value));
            }

            ThrowIfActive(nameof(SslCertificate));
            _certificate = value;
        }
    }

    /// <summary>The most clients connected at once (default 4096); more are refused with HTTP 503. May change while listening.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxClients
    {
        get => _maxClients;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxClients = value;
            if (_router is { } router)
            {
                router.Options.MaxPeers = value;
                router.Options.MaxPeersPerRoom = value;
            }
        }
    }

    /// <summary>Godot's <c>refuse_new_connections</c>: while true, new clients are refused (HTTP 503); connected ones stay.</summary>
    public override bool RefuseNewConnections
    {
        get => base.RefuseNewConnections;
        set
        {
            base.RefuseNewConnections = value;
            _router?.SetAccepting(!value);
        }
    }

    /// <summary>Godot's <c>handshake_timeout</c>: how long a client may take to send its HTTP upgrade request. Default 3 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(HandshakeTimeout));
            _handshakeTimeout = value;
        }
    }

    /// <summary>How long a client's message may take to arrive whole once it began (see <see cref="WebSocketRelayListener.IncompleteMessageTimeout"/>); set before <c>Listen</c>.</summary>
    internal TimeSpan IncompleteMessageTimeout { get; set; } = WsLimits.DefaultIncompleteMessageTimeout;

    /// <summary>The port actually listened on (useful after <c>Listen(0)</c>), 0 when not listening.</summary>
    public int LocalPort => _listener?.LocalPort ?? 0;

    /// <summary>The URL clients connect to, e.g. <c>ws://127.0.0.1:9080</c>, or null when not listening.</summary>
    public string? Url => _listener?.Url;

    /// <summary>How many clients are connected now. Any thread.</summary>
    public int PeerCount => _router?.PeerCount ?? 0;

    private protected override bool IsActive => !_stopped;

    /// <summary>Godot's <c>is_listening()</c>.</summary>
    public bool IsListening() => _listening;

    /// <summary>
    /// Godot's <c>listen(port, protocols, gd_mp_api)</c>: starts accepting clients on <see cref="BindIp"/>:<paramref name="port"/>
    /// (0 picks a free port, see <see cref="LocalPort"/>). With <paramref name="protocols"/> the server accepts only
    /// clients offering one of them (the first the client lists that is in <paramref name="protocols"/> is chosen);
    /// without, only clients offering none.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, <see cref="Error.AlreadyInUse"/> when the port is taken, or <see cref="Error.CantCreate"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The port is outside 0–65535, or <paramref name="gdMpApi"/> is false.</exception>
    /// <exception cref="InvalidOperationException">Already listening: call <see cref="Stop"/> first.</exception>
    public Error Listen(int port, string[]? protocols = null, bool gdMpApi = true) =>
        Task.Run(() => ListenAsync(port, protocols, gdMpApi)).GetAwaiter().GetResult();

    /// <inheritdoc cref="Listen"/>
    public async Task<Error> ListenAsync(int port, string[]? protocols = null, bool gdMpApi = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (!gdMpApi)
        {
            throw new ArgumentOutOfRangeException(nameof(gdMpApi), "Only the multiplayer protocol (gdMpApi = true) is supported; for plain WebSockets use System.Net.WebSockets directly.");
        }

        lock (_gate)
        {
            if (!_stopped)
            {
                throw new InvalidOperationException("The server is already listening; call Stop() before listening again.");
            }

            _stopped = false;
        }

        // Godot's server: one game, every client relayed, no rate or per-address limits.
        var router = new RelayRouter(new RelayOptions
        {
            MaxPeers = _maxClients,
            MaxPeersPerRoom = _maxClients,
            MaxRooms = 1,
            MaxConnectionsPerAddress = 0,
            ConnectionsPerSecondPerAddress = 0,
            MaxPacketsPerSecond = 0,
            MaxBytesPerSecond = 0,
            RelayBetweenClients = true,
        }, Logger)
        {
            HostFactory = room => new ServerHost(this, room),
        };
        router.PacketRejected += (_, rejection) => Inbox.Reject(rejection);
        router.SetAccepting(!RefuseNewConnections);
        var listener = new WebSocketRelayListener(router, Logger)
        {
            BindIp = _bindIp,
            SslCertificate = _certificate,
            MaxPacketSize = MaxPacketSize,
            MaxQueuedBytes = MaxQueuedBytes,
            MaxViolations = MaxViolations,
            HandshakeTimeout = _handshakeTimeout,
            CloseTimeout = CloseTimeout,
            IncompleteMessageTimeout = IncompleteMessageTimeout,
            RoomsFromPath = false,
            Protocols = protocols ?? [],
        };
        listener.RequestRefused += (endPoint, _, reason) =>
            Inbox.Reject(new PacketRejection(0, PacketRejectReason.Refused, 0, 0, reason + " (from " + endPoint?.Address + ")"));
        _router = router;
        _listener = listener;
        var err = await listener.ListenAsync(port).ConfigureAwait(false);
        if (err != Error.Ok)
        {
            _router = null;
            _listener = null;
            lock (_gate)
            {
                _stopped = true;
            }

            return err;
        }

        _listening = true;
        return Error.Ok;
    }

    /// <summary>Godot's <c>stop()</c>: closes every client (1001 "server stopping"), stops listening, drops queued packets and events.</summary>
    public void Stop() => Task.Run(StopAsync).GetAwaiter().GetResult();

    /// <inheritdoc cref="Stop"/>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (_stopTask is not null)
            {
                return _stopTask;
            }

            if (_stopped || !_listening)
            {
                return Task.CompletedTask;
            }

            _listening = false;
            _stopTask = Task.Run(StopCoreAsync);
            return _stopTask;
        }
    }

    private async Task StopCoreAsync()
    {
        await _listener!.StopAsync().ConfigureAwait(false);
        Inbox.Clear();
        SignalInboxRoom();
        lock (_gate)
        {
            _stopped = true;
            _stopTask = null;
        }
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>
    /// Godot's <c>disconnect_peer(id, code, reason)</c>: closes that client's connection after what is already queued for
    /// it. Its <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/> follows once the socket is closed (at most
    /// <see cref="WebSocketMultiplayerPeer.CloseTimeout"/> later).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not a close code an application may send (1000, 1001, 3000–4999).</exception>
    /// <returns>False when no such client is connected.</returns>
    public bool DisconnectPeer(int id, int code = WsCloseCodes.Normal, string reason = "")
    {
        if (code != WsCloseCodes.Normal && code != WsCloseCodes.GoingAway && code is < 3000 or > 4999)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Use 1000 (normal), 1001 (going away) or an application code from 3000 to 4999.");
        }

        if (Find(id) is not { } c)
        {
            return false;
        }

        Log.Kicked(Logger, id, reason);
        c.CloseWith(code, reason ?? string.Empty);
        return true;
    }

    /// <summary>Godot's <c>has_peer(id)</c>. Any thread.</summary>
    public bool HasPeer(int id) => Find(id) is not null;

    /// <summary>The ids of the connected clients. Any thread.</summary>
    public int[] GetPeers()
    {
        var members = Volatile.Read(ref _room)?.Members ?? [];
        var ids = new int[members.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = members[i].PeerId;
        }

        return ids;
    }

    /// <summary>Godot's <c>get_peer_address(id)</c>: the client's IP address, or an empty string if unknown.</summary>
    public string GetPeerAddress(int id) => Find(id)?.RemoteEndPoint?.Address.ToString() ?? string.Empty;

    /// <summary>Godot's <c>get_peer_port(id)</c>: the client's TCP port, or 0 if unknown.</summary>
    public int GetPeerPort(int id) => Find(id)?.RemoteEndPoint?.Port ?? 0;

    /// <summary>Wire-level counters (messages and bytes through the sockets, relayed messages, connections). Any thread.</summary>
    public WebSocketTransportStats GetTransportStats() => _listener?.GetTransportStats() ?? default;

    /// <inheritdoc/>
    public override ConnectionStatus GetConnectionStatus() => _listening ? ConnectionStatus.Connected : ConnectionStatus.Disconnected;

    /// <inheritdoc/>
    public override int GetUniqueId() => TargetPeerServer;

    /// <inheritdoc/>
    public override bool IsServer() => true;

    /// <summary>
    /// Sends <paramref name="packet"/> to the target set by <c>SetTargetPeer</c>: 0 every client, −N every client but N,
    /// N that client. A target of 1 (the server itself) sends nothing, as in Godot.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>; <see cref="Error.Unconfigured"/> when not listening; <see cref="Error.InvalidParameter"/>
    /// when the target client is not connected or the packet exceeds <see cref="WebSocketMultiplayerPeer.MaxPacketSize"/>.</returns>
    public override Error PutPacket(ReadOnlySpan<byte> packet)
    {
        if (!_listening)
        {
            return Error.Unconfigured;
        }

        var to = TargetPeer;
        if (!CheckOutgoingSize(to, packet.Length))
        {
            return Error.InvalidParameter;
        }

        if (to == TargetPeerServer)
        {
            return Error.Ok;
        }

        // No room means no client: a broadcast reaches nobody, a client target does not exist.
        var room = Volatile.Read(ref _room);
        var err = room?.SendFromHost(to, packet, TransferModeEnum.Reliable) ?? Error.Unconfigured;
        if (err == Error.Unconfigured)
        {
            err = to > 0 ? Error.InvalidParameter : Error.Ok;
        }

        if (err != Error.Ok)
        {
            return err;
        }

        Statistics.CountOut(to, packet.Length);
        return Error.Ok;
    }

    private WsRelayConnection? Find(int id) => _router?.FindPeer(id) as WsRelayConnection;

    /// <summary>
    /// The server as the hosted logic (peer 1) of the router's one room: joins and leaves become the game thread's
    /// events, packets for the server go into its inbox (full: the sender's socket waits, nothing is dropped). The router
    /// makes one each time the room is created (on the first client after it was empty).
    /// </summary>
    private sealed class ServerHost : IRoomHost
    {
        private readonly WebSocketServer _owner;
        private readonly Room _room;

        public ServerHost(WebSocketServer owner, Room room)
        {
            _owner = owner;
            _room = room;
            Volatile.Write(ref owner._room, room);
        }

        public void PeerJoined(int peerId) => _owner.Inbox.EnqueueEvent(PeerEventKind.PeerConnected, peerId);

        public void PeerLeft(int peerId)
        {
            _owner.Inbox.EnqueueEvent(PeerEventKind.PeerDisconnected, peerId);
            _owner.Statistics.Forget(peerId);
        }

        public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode) =>
            _owner.TryDeliver(from, payload) ? HostDelivery.Accepted : HostDelivery.Full;

        public Task WhenRoomAsync(int length) => _owner.WhenInboxMayHaveRoomAsync(length);

        // The room went (its last client left): a later client makes a new one.
        public void Dispose() => Interlocked.CompareExchange(ref _owner._room, null, _room);
    }
}
