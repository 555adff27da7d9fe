using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using GdNet.Enet.Interop;
using GdNet.Peers;
using GdNet.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>
/// Godot 3.2.3's <c>NetworkedMultiplayerENet</c> (spec §6), on the native ENet 1.3 library Godot embeds: byte-compatible
/// with Godot servers and clients (channel layout, 8-byte source/target header, client id in the CONNECT data, ADD/REMOVE
/// system messages, server relay).
/// </summary>
/// <remarks>
/// <para><b>Server.</b> <see cref="CreateServer"/> runs Godot's server on GdNet's relay core: a private
/// <see cref="RelayRouter"/> (one room, <see cref="ServerRelay"/> as its relay switch, no rate or per-address limits, as
/// Godot has none) with an <see cref="EnetRelayListener"/> as its ENet transport and this peer as the room's hosted logic
/// (peer 1). The relay rules are the router's; this class hands its packets and events to the game thread.</para>
/// <para><b>Threading.</b> The ENet host lives on a service thread of its own: it services the socket, applies Godot's
/// rules and queues packets (in pooled buffers) and events. Everything public here is for the game thread unless it
/// says otherwise; events are raised on the game thread from <see cref="Poll"/> and the packet-reading members, in
/// order: a peer's connect event, then its packets, then its disconnect event.</para>
/// <para><b>Limits.</b> ENet's own defaults (32 MiB per packet and per peer's waiting data) are replaced by
/// <see cref="MaxPacketSize"/> and <see cref="MaxWaitingData"/>. Garbage datagrams, oversized packets and refused
/// connections are counted in <see cref="NetworkedMultiplayerPeer.Statistics"/> and reported through
/// <see cref="NetworkedMultiplayerPeer.PacketRejected"/>; they never throw.</para>
/// <para><b>Differences from Godot 3.2.3</b>: a refused connection (<see cref="NetworkedMultiplayerPeer.RefuseNewConnections"/>,
/// a reserved or duplicate client id, a full server) is never answered, as with Godot's bundled ENet (the Debian build
/// accepts then resets it); <see cref="DisconnectPeer"/> with <c>now</c> raises <c>PeerDisconnected</c> at the next
/// <see cref="Poll"/> instead of inside the call; DTLS and the Godot-only compressors are not supported.</para>
/// </remarks>
public sealed partial class NetworkedMultiplayerENet : NetworkedMultiplayerPeer, IDisposable
{
    /// <summary>Godot's <c>get_max_packet_size()</c> for ENet (1 &lt;&lt; 24).</summary>
    public const int GodotMaxPacketSize = 1 << 24;

    /// <summary>Default <see cref="MaxPacketSize"/>: 1 MiB.</summary>
    public const int DefaultMaxPacketSize = 1 << 20;

    /// <summary>Default <see cref="MaxWaitingData"/>: 4 MiB per peer.</summary>
    public const long DefaultMaxWaitingData = 4L << 20;

    /// <summary>The system channel (server's ADD/REMOVE messages).</summary>
    public const int ChannelConfig = 0;

    /// <summary>The channel of <see cref="TransferModeEnum.Reliable"/>.</summary>
    public const int ChannelReliable = 1;

    /// <summary>The channel of the unreliable modes.</summary>
    public const int ChannelUnreliable = 2;

    /// <summary>Godot's largest <c>max_clients</c> (ENet's peer id limit).</summary>
    public const int MaxClientsLimit = 4095;

    private readonly HashSet<int> _peers = [];
    private readonly ConcurrentDictionary<int, EnetDisconnectReason> _leftReasons = new();
    private readonly Lock _channelGate = new();
    private readonly Queue<byte> _channels = new();
    private EnetClientSession? _client;
    private ServerParts? _server;
    private bool _active;
    private bool _isServer;
    private int _uniqueId;
    private ConnectionStatus _status;
    private int _targetPeer;
    private int _lastChannel = -1;
    private volatile bool _refuse;
    private IPAddress _bindIp = IPAddress.Any;
    private CompressionModeEnum _compression;
    private int _channelCount = 3;
    private int _transferChannel = -1;
    private bool _serverRelay = true;
    private int _maxPacketSize = DefaultMaxPacketSize;
    private long _maxWaitingData = DefaultMaxWaitingData;
    private long _relayedBefore;
    private TimeSpan _timeoutMinimum = TimeSpan.FromSeconds(5);
    private TimeSpan _timeoutMaximum = TimeSpan.FromSeconds(30);
    private TimeSpan _connectTimeout = TimeSpan.FromSeconds(10);
    private bool _disposed;

    /// <summary>Creates an inactive peer; call <see cref="CreateServer"/> or <see cref="CreateClient"/>.</summary>
    /// <param name="logger">Receives connects, disconnects (Information) and refused packets (Debug); by default a logger of
    /// <see cref="GdNetLogging.LoggerFactory"/>.</param>
    public NetworkedMultiplayerENet(ILogger? logger = null)
    {
        if (logger is not null)
        {
            Logger = logger;
        }

        Inbox = new PeerInbox(this);

        // Game-thread state follows the events as they are raised, so it agrees with what handlers have seen. These
        // handlers are subscribed first and so run before the user's.
        PeerConnected += id =>
        {
            _peers.Add(id);
            if (!_isServer && id == TargetPeerServer)
            {
                _status = ConnectionStatus.Connected;
            }
        };
        PeerDisconnected += id =>
        {
            _peers.Remove(id);
            ReportLeft(id);
        };
        ConnectionSucceeded += () => _status = ConnectionStatus.Connected;
        ConnectionFailed += EndClient;
        ServerDisconnected += () =>
        {
            ReportLeft(TargetPeerServer);
            EndClient();
        };
    }

    // ------------------------------------------------------------------ Godot properties

    /// <summary>Godot's <c>compression_mode</c>: None (Godot's default) or RangeCoder. Set it before creating.</summary>
    /// <exception cref="ArgumentOutOfRangeException">FastLz, Zlib or Zstd (Godot-only compressors), or an unknown value.</exception>
    /// <exception cref="InvalidOperationException">The peer is active.</exception>
    public CompressionModeEnum CompressionMode
    {
        get => _compression;
        set
        {
            if (value is not (CompressionModeEnum.None or CompressionModeEnum.RangeCoder))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    "GdNet supports CompressionModeEnum.None and RangeCoder; FastLz, Zlib and Zstd are Godot-only ENet compressors. Use the same mode on both sides.");
            }

            ThrowIfActive(nameof(CompressionMode));
            _compression = value;
        }
    }

    /// <summary>Godot's <c>channel_count</c>: at least 3 (config, reliable, unreliable), at most 255. Set it before creating.</summary>
    public int ChannelCount
    {
        get => _channelCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 3);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 255);
            ThrowIfActive(nameof(ChannelCount));
            if (_transferChannel >= value)
            {
                throw new InvalidOperationException($"TransferChannel {_transferChannel} would not exist with {value} channels; lower TransferChannel first.");
            }

            _channelCount = value;
        }
    }

    /// <summary>
    /// Godot's <c>transfer_channel</c>: −1 uses the mode's channel; 1 … <see cref="ChannelCount"/>−1 overrides it (the
    /// flags still follow <see cref="NetworkedMultiplayerPeer.TransferMode"/>). 0 is reserved.
    /// </summary>
    public int TransferChannel
    {
        get => _transferChannel;
        set
        {
            if (value < -1 || value >= _channelCount || value == ChannelConfig)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"TransferChannel must be -1 or 1..{_channelCount - 1}; channel 0 is ENet's system channel.");
            }

            _transferChannel = value;
        }
    }

    /// <summary>Godot's <c>always_ordered</c>: unreliable packets are sent sequenced (ENet flag 0) instead of unsequenced.</summary>
    public bool AlwaysOrdered { get; set; }

    /// <summary>Godot's <c>server_relay</c> (default true): the server relays client packets and announces peers. Set it before creating.</summary>
    public bool ServerRelay
    {
        get => _serverRelay;
        set
        {
            ThrowIfActive(nameof(ServerRelay));
            _serverRelay = value;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Any thread. Refused clients are never answered; each attempt is counted as <see cref="PacketRejectReason.Refused"/>.</remarks>
    public override bool RefuseNewConnections
    {
        get => _refuse;
        set
        {
            _refuse = value;
            _server?.Router.SetAccepting(!value);
        }
    }

    // ------------------------------------------------------------------ GdNet options

    /// <summary>
    /// The largest packet (payload, without the 8-byte header) sent or accepted; default 1 MiB, at most
    /// <see cref="GodotMaxPacketSize"/>. Larger incoming packets are refused (<see cref="PacketRejectReason.TooLarge"/>) before
    /// ENet allocates them; a peer sending an oversized reliable packet is disconnected. Set it before creating.
    /// </summary>
    public int MaxPacketSize
    {
        get => _maxPacketSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, GodotMaxPacketSize);
            ThrowIfActive(nameof(MaxPacketSize));
            _maxPacketSize = value;
        }
    }

    /// <summary>
    /// ENet's <c>maximumWaitingData</c>: bytes one peer may keep waiting in ENet (fragments being reassembled, packets
    /// out of order); default 4 MiB (ENet's is 32 MiB). At least <see cref="MaxPacketSize"/>. Set it before creating.
    /// </summary>
    public long MaxWaitingData
    {
        get => _maxWaitingData;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 4096);
            ThrowIfActive(nameof(MaxWaitingData));
            _maxWaitingData = value;
        }
    }

    /// <summary>
    /// ENet's peer timeout (<c>enet_peer_timeout</c>): a peer is dropped when its reliable data stays unacknowledged for
    /// this long (and its retransmissions ran out), or for <see cref="PeerTimeoutMaximum"/> in any case. ENet's default 5 s.
    /// </summary>
    public TimeSpan PeerTimeoutMinimum
    {
        get => _timeoutMinimum;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(200));
            ThrowIfActive(nameof(PeerTimeoutMinimum));
            _timeoutMinimum = value;
        }
    }

    /// <summary>The longest a peer may stay silent before it is dropped; ENet's default 30 s. At least <see cref="PeerTimeoutMinimum"/>.</summary>
    public TimeSpan PeerTimeoutMaximum
    {
        get => _timeoutMaximum;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(200));
            ThrowIfActive(nameof(PeerTimeoutMaximum));
            _timeoutMaximum = value;
        }
    }

    /// <summary>A client that is not connected after this long gives up with <c>ConnectionFailed</c>. Default 10 s.</summary>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(100));
            ThrowIfActive(nameof(ConnectTimeout));
            _connectTimeout = value;
        }
    }

    /// <summary>
    /// The most packets waiting for the game thread (default <see cref="PeerInbox.DefaultMaxPackets"/>). Beyond it an
    /// unreliable packet is dropped (counted as <see cref="PacketRejectReason.QueueFull"/>), and a reliable one is held
    /// for its peer, in order with that peer's later packets and events, and moved in as <see cref="Poll"/>/reads make
    /// room, so reliable streams are never cut. Only a peer whose own held data exceeds <see cref="MaxWaitingData"/> is
    /// disconnected (<c>LimitExceeded</c>), as is the sender of a reliable packet larger than
    /// <see cref="MaxQueuedBytes"/>, which can never fit. Any time.
    /// </summary>
    public int MaxQueuedPackets
    {
        get => Inbox.MaxPackets;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Inbox.MaxPackets = value;
        }
    }

    /// <summary>The most bytes waiting for the game thread (default 64 MiB); as <see cref="MaxQueuedPackets"/>. Any time.</summary>
    public long MaxQueuedBytes
    {
        get => Inbox.MaxBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Inbox.MaxBytes = value;
        }
    }

    /// <summary>
    /// A peer left: raised on the game thread with the reason, just before <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/>
    /// (or, for a client's server, id 1, before <see cref="NetworkedMultiplayerPeer.ServerDisconnected"/>).
    /// </summary>
    public event Action<int, EnetDisconnectReason>? PeerLeft;

    /// <summary>The version of the ENet library in use, loading it if needed.</summary>
    /// <exception cref="DllNotFoundException">ENet is not installed; the message names the package.</exception>
    public static Version EnetVersion
    {
        get
        {
            EnsureLoaded();
            return LinkedVersion!;
        }
    }

    /// <summary>Forces the client id the next <see cref="CreateClient"/> sends (tests craft bad ids with it).</summary>
    internal int? ForcedClientId { get; set; }

    internal PeerInbox Inbox { get; }

    // ------------------------------------------------------------------ Godot methods

    /// <summary>
    /// Godot's <c>create_server</c>: listens on <paramref name="port"/> (0 = any free port, see <see cref="GetLocalPort"/>)
    /// at the address given to <see cref="SetBindIp"/> (all by default).
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, or <see cref="Error.CantCreate"/> when the host cannot be created (port in use).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A port outside 0..65535, max clients outside 1..4095, a negative bandwidth.</exception>
    /// <exception cref="InvalidOperationException">Already active: call <see cref="CloseConnection"/> first.</exception>
    /// <exception cref="DllNotFoundException">ENet is not installed; the message names the package.</exception>
    public Error CreateServer(int port, int maxClients = 32, int inBandwidth = 0, int outBandwidth = 0)
    {
        ValidatePort(port, nameof(port));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClients, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxClients, MaxClientsLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(inBandwidth);
        ArgumentOutOfRangeException.ThrowIfNegative(outBandwidth);
        BeginCreate();
        var server = StartServer(port, maxClients, inBandwidth, outBandwidth, out var error);
        if (server is null)
        {
            return error;
        }

        _server = server;
        Activate(server: true, TargetPeerServer, ConnectionStatus.Connected);
        return Error.Ok;
    }

    /// <summary>
    /// Godot's <c>create_client</c>: connects to <paramref name="address"/> (an IPv4 address or a host name) and
    /// <paramref name="port"/>, from <paramref name="clientPort"/> (0 = any). The client picks a random id ≥ 2 and sends it
    /// in the CONNECT data. Status becomes Connecting; then <c>PeerConnected(1)</c> and <c>ConnectionSucceeded</c>, or
    /// <c>ConnectionFailed</c> (after <see cref="ConnectTimeout"/> at the latest).
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, <see cref="Error.CantResolve"/> or <see cref="Error.CantCreate"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A port outside 1..65535, a client port outside 0..65535, a negative bandwidth.</exception>
    /// <exception cref="InvalidOperationException">Already active: call <see cref="CloseConnection"/> first.</exception>
    public Error CreateClient(string address, int port, int inBandwidth = 0, int outBandwidth = 0, int clientPort = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        ValidatePort(port, nameof(port));
        ArgumentOutOfRangeException.ThrowIfZero(port);
        ValidatePort(clientPort, nameof(clientPort));
        ArgumentOutOfRangeException.ThrowIfNegative(inBandwidth);
        ArgumentOutOfRangeException.ThrowIfNegative(outBandwidth);
        BeginCreate();
        var ip = Resolve(address);
        if (ip is null)
        {
            return Error.CantResolve;
        }

        var id = ForcedClientId ?? Random.Shared.Next(2, int.MaxValue);
        var session = EnetClientSession.Start(this, HostConfig(), id, (long)_connectTimeout.TotalMilliseconds, ToAddress(_bindIp, clientPort),
            (uint)inBandwidth, (uint)outBandwidth, ToAddress(ip, port), out var error);
        if (session is null)
        {
            return error;
        }

        _client = session;
        Activate(server: false, id, ConnectionStatus.Connecting);
        return Error.Ok;
    }

    /// <summary>
    /// Godot's <c>close_connection</c>: disconnects every peer at once (data = own id), waits <paramref name="waitUsec"/>
    /// for the notices to leave, destroys the host and joins the service thread. No events are raised; queued packets
    /// are dropped. Does nothing when inactive.
    /// </summary>
    public void CloseConnection(uint waitUsec = 100)
    {
        var client = _client;
        var server = _server;
        if (client is null && server is null)
        {
            return;
        }

        _client = null;
        _server = null;
        client?.Stop(waitUsec);
        if (server is not null)
        {
            server.Listener.Stop(waitUsec);
            _relayedBefore += server.Router.GetStatistics().Relayed;
        }

        Inbox.Clear();
        lock (_channelGate)
        {
            _channels.Clear();
        }

        _peers.Clear();
        _leftReasons.Clear();
        _active = false;
        _isServer = false;
        _uniqueId = 0;
        _lastChannel = -1;
        _status = ConnectionStatus.Disconnected;
    }

    /// <summary>
    /// Godot's <c>disconnect_peer</c> (server only): kicks client <paramref name="id"/>. With <paramref name="now"/> false
    /// the client is told after its queued packets (graceful); with true it is dropped at once and
    /// <c>PeerDisconnected</c> follows at the next <see cref="Poll"/>. Either way <see cref="PeerLeft"/> says Kicked.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not an active server.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a connected client.</exception>
    public void DisconnectPeer(int id, bool now = false)
    {
        if (!_active || !_isServer)
        {
            throw new InvalidOperationException("DisconnectPeer kicks a client from a server; call it on an active server (clients call CloseConnection).");
        }

        if (id == TargetPeerServer || !_peers.Contains(id))
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Not a connected client; kick ids received in PeerConnected.");
        }

        if (now)
        {
            _peers.Remove(id);
        }

        _ = _server!.Listener.Session?.Kick(id, now);
    }

    /// <summary>Godot's <c>set_bind_ip</c>: the IPv4 address the next server or client binds to; "*" for all addresses.</summary>
    /// <exception cref="ArgumentException">Not an IPv4 address and not "*".</exception>
    public void SetBindIp(string ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (ip == "*")
        {
            _bindIp = IPAddress.Any;
            return;
        }

        if (!IPAddress.TryParse(ip, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"'{ip}' is not an IPv4 address (ENet 1.3 is IPv4-only); use \"*\" for all addresses.", nameof(ip));
        }

        _bindIp = parsed;
    }

    /// <summary>Godot's <c>get_peer_address</c>: the IP address of connected peer <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a directly connected peer.</exception>
    public string GetPeerAddress(int id) => EndPointOf(id).Address.ToString();

    /// <summary>Godot's <c>get_peer_port</c>: the UDP port of connected peer <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a directly connected peer.</exception>
    public int GetPeerPort(int id) => EndPointOf(id).Port;

    /// <summary>
    /// Server: client packets forwarded to other clients so far, over every server this peer has run (one per receiving
    /// client; relay on; the relay core's count). Any thread.
    /// </summary>
    public long RelayedPackets => _relayedBefore + (_server?.Router.GetStatistics().Relayed ?? 0);

    /// <summary>The local UDP port of the host (useful after <c>CreateServer(0)</c>); 0 when inactive.</summary>
    public int GetLocalPort() => _client?.LocalEndPoint.Port ?? _server?.Listener.LocalPort ?? 0;

    /// <summary>Godot's <c>get_packet_channel</c>: the ENet channel of the next packet, −1 when none is queued.</summary>
    public int GetPacketChannel()
    {
        if (!Inbox.TryPeekSender(out _))
        {
            return -1;
        }

        lock (_channelGate)
        {
            return _channels.TryPeek(out var channel) ? channel : -1;
        }
    }

    /// <summary>Godot's <c>get_last_packet_channel</c>: the channel of the packet last read, −1 after <see cref="Poll"/>.</summary>
    public int GetLastPacketChannel() => _lastChannel;

    // ------------------------------------------------------------------ NetworkedMultiplayerPeer

    /// <inheritdoc/>
    public override int AvailablePacketCount => Inbox.AvailablePacketCount;

    /// <inheritdoc/>
    public override void SetTargetPeer(int id) => _targetPeer = id;

    /// <inheritdoc/>
    /// <remarks>0 when no packet is queued.</remarks>
    public override int GetPacketPeer() => Inbox.TryPeekSender(out var from) ? from : 0;

    /// <inheritdoc/>
    public override void Poll()
    {
        _lastChannel = -1;
        Inbox.RaiseDueEvents();
    }

    /// <inheritdoc/>
    public override ConnectionStatus GetConnectionStatus() => _status;

    /// <inheritdoc/>
    public override int GetUniqueId() => _active ? _uniqueId : 0;

    /// <inheritdoc/>
    public override bool IsServer() => _active && _isServer;

    /// <inheritdoc/>
    public override int GetMaxPacketSize() => _maxPacketSize;

    /// <summary>
    /// Godot's <c>put_packet</c>: sends to the target peer with the transfer mode's channel and flags (spec §6.1). A
    /// client always sends through the server, which relays.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>; <see cref="Error.Unconfigured"/> when not connected; <see cref="Error.InvalidParameter"/>
    /// when the target is not a known peer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The packet is larger than <see cref="MaxPacketSize"/>.</exception>
    public override unsafe Error PutPacket(ReadOnlySpan<byte> packet)
    {
        if ((_client is null && _server is null) || _status != ConnectionStatus.Connected)
        {
            return Error.Unconfigured;
        }

        if (packet.Length > _maxPacketSize)
        {
            throw new ArgumentOutOfRangeException(nameof(packet), packet.Length,
                $"The packet is larger than MaxPacketSize ({_maxPacketSize} bytes); send less or raise MaxPacketSize on both sides before creating.");
        }

        var target = _targetPeer;
        if (target != 0 && (target == int.MinValue || !_peers.Contains(Math.Abs(target))))
        {
            return Error.InvalidParameter;
        }

        var mode = TransferMode;
        if (_server is { } server)
        {
            // The relay core sends to the room's members; with AlwaysOrdered, unreliable goes sequenced (flag 0).
            var sendMode = mode == TransferModeEnum.Unreliable && AlwaysOrdered ? TransferModeEnum.UnreliableOrdered : mode;
            var error = server.SendFromHost(target, packet, sendMode, _transferChannel);
            if (error is not (Error.Ok or Error.InvalidParameter or Error.Unconfigured))
            {
                return error; // out of memory; a target that left meanwhile, or no room (nobody connected), sends nothing, as Godot
            }
        }
        else
        {
            var native = EnetFraming.CreateData(_uniqueId, target, packet, EnetFraming.FlagsFor(mode, AlwaysOrdered));
            if (native == null)
            {
                return Error.OutOfMemory;
            }

            if (!_client!.EnqueueSend(EnetFraming.ChannelFor(mode, _transferChannel, _channelCount), native))
            {
                enet_packet_destroy(native);
                return Error.Unconfigured;
            }
        }

        Statistics.CountOut(target, packet.Length);
        return Error.Ok;
    }

    /// <inheritdoc/>
    protected override bool TryGetPacketCore(out ReadOnlySpan<byte> packet)
    {
        if (!Inbox.TryDequeue(out _, out packet))
        {
            return false;
        }

        lock (_channelGate)
        {
            _lastChannel = _channels.TryDequeue(out var channel) ? channel : -1;
        }

        return true;
    }

    /// <summary>Closes the connection (as <see cref="CloseConnection"/>) and releases the queues. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CloseConnection();
        Inbox.Dispose();
    }

    // ------------------------------------------------------------------ service-thread entry points

    // Queues a packet and its channel together, so the channel queue stays aligned with the inbox. Service thread.
    internal DeliverResult DeliverFromService(int from, byte[] rentedBuffer, int length, byte channel)
    {
        lock (_channelGate)
        {
            var result = Inbox.TryEnqueueOwned(from, rentedBuffer, length);
            if (result.IsAccepted)
            {
                _channels.Enqueue(channel);
            }

            return result;
        }
    }

    // As above, copying the payload into the inbox's pooled memory. Service thread.
    internal DeliverResult DeliverFromService(int from, ReadOnlySpan<byte> payload, byte channel)
    {
        lock (_channelGate)
        {
            var result = Inbox.TryEnqueue(from, payload);
            if (result.IsAccepted)
            {
                _channels.Enqueue(channel);
            }

            return result;
        }
    }

    // Remembers why a peer left, for PeerLeft when its disconnect event is raised. Service thread.
    internal void RecordLeft(int id, EnetDisconnectReason reason) => _leftReasons[id] = reason;

    // ------------------------------------------------------------------ helpers

    private void ReportLeft(int id)
    {
        var reason = _leftReasons.TryRemove(id, out var r) ? r : EnetDisconnectReason.Closed;
        PeerLeft?.Invoke(id, reason);
    }

    // A client's session ended by itself (connection failed or server gone): Godot closes the connection.
    private void EndClient()
    {
        _status = ConnectionStatus.Disconnected;
        _active = false;
        _peers.Clear();
    }

    private void BeginCreate()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_active)
        {
            throw new InvalidOperationException("This peer is already active; call CloseConnection() before creating another server or client.");
        }

        if (_maxWaitingData < _maxPacketSize)
        {
            throw new InvalidOperationException($"MaxWaitingData ({_maxWaitingData}) must be at least MaxPacketSize ({_maxPacketSize}).");
        }

        if (_timeoutMaximum < _timeoutMinimum)
        {
            throw new InvalidOperationException($"PeerTimeoutMaximum ({_timeoutMaximum}) must be at least PeerTimeoutMinimum ({_timeoutMinimum}).");
        }

        // A session that ended by itself (client lost its server) is joined and cleared here.
        CloseConnection(0);
    }

    private EnetHostConfig HostConfig() => new(
        _channelCount, _compression, _maxPacketSize, _maxWaitingData, (uint)_timeoutMinimum.TotalMilliseconds, (uint)_timeoutMaximum.TotalMilliseconds);

    private void Activate(bool server, int id, ConnectionStatus status)
    {
        _isServer = server;
        _uniqueId = id;
        _status = status;
        _active = true;
        _targetPeer = 0;
    }

    private IPEndPoint EndPointOf(int id)
    {
        if (_peers.Contains(id))
        {
            var ep = _server is { } server ? server.Router.FindPeer(id)?.RemoteEndPoint
                : id == TargetPeerServer ? _client?.ServerEndPoint
                : null;
            if (ep is not null)
            {
                return ep;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(id), id, "Not a directly connected peer (a client knows only the server's address).");
    }

    private void ThrowIfActive(string property)
    {
        if (_active)
        {
            throw new InvalidOperationException($"Set {property} before CreateServer/CreateClient (or after CloseConnection).");
        }
    }

    private static void ValidatePort(int port, string name)
    {
        if (port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(name, port, "A UDP port is 0..65535.");
        }
    }

    private static IPAddress? Resolve(string address)
    {
        if (IPAddress.TryParse(address, out var ip))
        {
            return ip.AddressFamily == AddressFamily.InterNetwork ? ip
                : ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4()
                : throw new ArgumentException($"'{address}' is an IPv6 address; ENet 1.3 (as in Godot 3) is IPv4-only.", nameof(address));
        }

        try
        {
            foreach (var candidate in Dns.GetHostAddresses(address, AddressFamily.InterNetwork))
            {
                return candidate;
            }
        }
        catch (SocketException)
        {
        }

        return null;
    }
}
