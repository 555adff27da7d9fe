using System.Diagnostics;
using GdNet.Peers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet.Multiplayer;

/// <summary>Receives a RAW packet (<see cref="MultiplayerAPI.SendBytes(ReadOnlySpan{byte}, int, TransferModeEnum)"/>).
/// The span is lent for the call only; copy it to keep it.</summary>
public delegate void NetworkPeerPacketHandler(int senderId, ReadOnlySpan<byte> packet);

/// <summary>
/// Godot 3's high-level multiplayer (<c>MultiplayerAPI</c>): RPCs and rsets on <see cref="Node"/>s over any
/// <see cref="NetworkedMultiplayerPeer"/>, byte-compatible with Godot 3.2.3 peers (spec §3).
/// </summary>
/// <remarks>
/// <para>Usage (a chat: one <c>[RemoteSync]</c> method, called by everyone):</para>
/// <code>
/// public sealed class Lobby : Node
/// {
///     [RemoteSync]
///     public void Say(string text) =&gt; Console.WriteLine($"{Multiplayer!.GetRpcSenderId()}: {text}");
///
///     [Puppet(Name = "welcome")] // wire name for a Godot peer whose GDScript method is "welcome"
///     public void Welcome(int yourId, string server) { }
/// }
///
/// var api = new MultiplayerAPI();                 // root node "root", as Godot's /root
/// var main = new Node { Name = "Main" };
/// api.RootNode.AddChild(main);
/// var lobby = new Lobby { Name = "Lobby" };        // wire path "Main/Lobby"
/// main.AddChild(lobby);
/// api.NetworkPeer = peer;                          // connecting or connected
/// api.NetworkPeerConnected += id =&gt; lobby.RpcId(id, nameof(Lobby.Welcome), id, "gdnet");
/// lobby.Rpc(nameof(Lobby.Say), "hello");           // runs here and on every peer
/// while (running) { api.Poll(); /* game frame */ }  // receives and dispatches on this thread
/// </code>
/// <para><b>Threading:</b> game thread only. <see cref="Poll"/> reads the peer (at most <see cref="MaxPacketsPerPoll"/>
/// packets per call) and runs handlers and events on the caller's thread; <c>Rpc*</c>/<c>Rset*</c> put packets on the
/// peer synchronously.</para>
/// <para><b>Remote input never throws:</b> anything wrong with a received packet (or a handler that throws) raises
/// <see cref="RpcRejected"/> with a reason, is counted in <see cref="GetStats"/>, logged at Debug, and the loop
/// carries on.</para>
/// <para><b>Differences from Godot 3.2.3</b> (deliberate): packets from a peer that is not connected are rejected
/// (<see cref="RpcRejectReason.UnknownPeer"/>; Godot would run them, godotengine/godot#41412); path caches are reset when
/// a peer id connects again and when the connection is lost (#33069); unknown commands are reported instead of ignored;
/// <see cref="ConnectedToServer"/> is not raised on the server (id 1); <see cref="NetworkPeerDisconnected"/> is raised
/// only for a peer that was connected; <see cref="Poll"/> dispatches at most <see cref="MaxPacketsPerPoll"/> packets
/// (and, when set, runs for about <see cref="MaxPollDuration"/>) per call, where Godot reads until the peer is empty.</para>
/// </remarks>
public sealed partial class MultiplayerAPI
{
    /// <summary>Default bound on the paths one peer may announce (SIMPLIFY_PATH).</summary>
    public const int DefaultMaxPathCacheEntriesPerPeer = 4096;

    /// <summary>Default <see cref="MaxPathCacheBytesPerPeer"/>: 1 MiB.</summary>
    public const long DefaultMaxPathCacheBytesPerPeer = 1L << 20;

    /// <summary>Default <see cref="MaxPathCacheBytesTotal"/>: 64 MiB.</summary>
    public const long DefaultMaxPathCacheBytesTotal = 64L << 20;

    /// <summary>Default <see cref="MaxPacketsPerPoll"/>: 4096 packets per <see cref="Poll"/> (see there why).</summary>
    public const int DefaultMaxPacketsPerPoll = 4096;

    private readonly ILogger _logger;
    private readonly LogRateLimiter _failureLog = new();
    private readonly List<int> _connectedPeers = [];
    private readonly Dictionary<int, PeerPathCache> _pathGetCache = [];
    private long _pathGetCacheBytes;
    private readonly Dictionary<string, PathSendEntry> _pathSendCache = new(StringComparer.Ordinal);
    private readonly Action<int> _onPeerConnected;
    private readonly Action<int> _onPeerDisconnected;
    private readonly Action _onConnectionSucceeded;
    private readonly Action _onConnectionFailed;
    private readonly Action _onServerDisconnected;
    private readonly Action<PacketRejection> _onPacketRejected;
    private NetworkedMultiplayerPeer? _peer;
    private Node _root;
    private int _nextSendCacheId = 1;
    private int _cacheEpoch;
    private int _rpcSenderId;
    private bool _polling;
    private bool _sessionLive;
    private bool _drainPending; // the last Poll stopped at its budget with packets left: the next one goes on with them

    /// <summary>Times <see cref="GetSendPath"/> missed the node's send slot and computed the path (tests observe the cache).</summary>
    internal int SendPathLookups;

    /// <summary>Times a cached received path was resolved again because the root's tree changed (tests observe the cache).</summary>
    internal int ReceivePathLookups;

    /// <summary>Creates an API whose <see cref="RootNode"/> is a new node named <c>root</c> (like Godot's <c>/root</c>).</summary>
    /// <param name="logger">Receives warnings for calls that fail (rate-limited) and Debug events for rejected packets; by
    /// default a logger of <see cref="GdNetLogging.LoggerFactory"/>.</param>
    public MultiplayerAPI(ILogger? logger = null)
    {
        _logger = logger ?? GdNetLogging.CreateLogger<MultiplayerAPI>();
        _root = new Node { Name = "root" };
        _root.ApiAsRoot = this;
        _onPeerConnected = AddPeer;
        _onPeerDisconnected = DelPeer;
        _onConnectionSucceeded = OnConnectionSucceeded;
        _onConnectionFailed = OnConnectionFailed;
        _onServerDisconnected = OnServerDisconnected;
        _onPacketRejected = r => RaiseSafe(PacketRejected, r, nameof(PacketRejected));
    }

    /// <summary>Creates an API that logs through a logger of <paramref name="loggerFactory"/>.</summary>
    public MultiplayerAPI(ILoggerFactory loggerFactory)
        : this((loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory))).CreateLogger<MultiplayerAPI>())
    {
    }

    /// <summary>
    /// Why the last RPC, rset or <see cref="SendBytes(ReadOnlySpan{byte}, int, TransferModeEnum)"/> call that returned an
    /// error failed, in words with what to do (also logged as a rate-limited warning); null when it succeeded. Game thread.
    /// </summary>
    public string? LastErrorMessage { get; private set; }

    /// <summary>Godot's <c>network_peer_connected(id)</c>: a remote peer connected.</summary>
    public event Action<int>? NetworkPeerConnected;

    /// <summary>Godot's <c>network_peer_disconnected(id)</c>: a connected remote peer left.</summary>
    public event Action<int>? NetworkPeerDisconnected;

    /// <summary>Godot's <c>network_peer_packet(id, bytes)</c>: a RAW packet arrived (span lent for the call).</summary>
    public event NetworkPeerPacketHandler? NetworkPeerPacket;

    /// <summary>Godot's <c>connected_to_server</c> (clients only).</summary>
    public event Action? ConnectedToServer;

    /// <summary>Godot's <c>connection_failed</c>.</summary>
    public event Action? ConnectionFailed;

    /// <summary>Godot's <c>server_disconnected</c>.</summary>
    public event Action? ServerDisconnected;

    /// <summary>A received packet or a call was refused; raised on the game thread during <see cref="Poll"/> (or during
    /// a local call). Also counted in <see cref="GetStats"/>.</summary>
    public event Action<RpcRejection>? RpcRejected;

    /// <summary>The network peer refused a packet (transport level), forwarded from
    /// <see cref="NetworkedMultiplayerPeer.PacketRejected"/>.</summary>
    public event Action<PacketRejection>? PacketRejected;

    /// <summary>
    /// The network peer (Godot's <c>network_peer</c>); null for none. Assigning a different peer clears all state
    /// (<see cref="Clear"/>) and subscribes to its events.
    /// </summary>
    /// <exception cref="InvalidOperationException">The peer is disconnected: create the server or client (or set a custom
    /// peer's status to Connecting) before assigning it.</exception>
    public NetworkedMultiplayerPeer? NetworkPeer
    {
        get => _peer;
        set
        {
            if (ReferenceEquals(value, _peer))
            {
                return;
            }

            if (value is not null && value.GetConnectionStatus() == ConnectionStatus.Disconnected)
            {
                throw new InvalidOperationException("The network peer must be connecting or connected: create the server or client (or set a custom peer's status to Connecting) before assigning it.");
            }

            if (_peer is { } old)
            {
                old.PeerConnected -= _onPeerConnected;
                old.PeerDisconnected -= _onPeerDisconnected;
                old.ConnectionSucceeded -= _onConnectionSucceeded;
                old.ConnectionFailed -= _onConnectionFailed;
                old.ServerDisconnected -= _onServerDisconnected;
                old.PacketRejected -= _onPacketRejected;
            }

            Clear();
            _peer = value;
            _sessionLive = value is not null;
            _drainPending = false;
            if (value is not null)
            {
                value.PeerConnected += _onPeerConnected;
                value.PeerDisconnected += _onPeerDisconnected;
                value.ConnectionSucceeded += _onConnectionSucceeded;
                value.ConnectionFailed += _onConnectionFailed;
                value.ServerDisconnected += _onServerDisconnected;
                value.PacketRejected += _onPacketRejected;
            }
        }
    }

    /// <summary>Godot's <c>has_network_peer()</c>.</summary>
    public bool HasNetworkPeer() => _peer is not null;

    /// <summary>
    /// The node RPC paths are relative to (Godot's <c>root_node</c>); by default a node named <c>root</c>. Nodes reach this
    /// API through it (<see cref="Node.Multiplayer"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The node is already the root of another MultiplayerAPI.</exception>
    public Node RootNode
    {
        get => _root;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (ReferenceEquals(value, _root))
            {
                return;
            }

            if (value.ApiAsRoot is not null)
            {
                throw new InvalidOperationException($"'{value.Name}' is already the root node of another MultiplayerAPI; give each API its own root.");
            }

            var old = _root;
            old.ApiAsRoot = null;
            _root = value;
            _root.ApiAsRoot = this;

            // Which nodes reach which API changed in both trees (one tree when the old root and the new are connected).
            old.TreeChanged();
            value.TreeChanged();
        }
    }

    /// <summary>Godot's <c>allow_object_decoding</c>: decode (and send) full objects. Off by default; objects then arrive
    /// only as ids, and a full object is rejected with <see cref="RpcRejectReason.ObjectsNotAllowed"/>.</summary>
    public bool AllowObjectDecoding { get; set; }

    /// <summary>Godot's <c>refuse_new_network_connections</c>, forwarded to the peer.</summary>
    /// <exception cref="InvalidOperationException">Set without a network peer.</exception>
    public bool RefuseNewNetworkConnections
    {
        get => _peer?.RefuseNewConnections ?? false;
        set
        {
            if (_peer is null)
            {
                throw new InvalidOperationException("Set NetworkPeer before RefuseNewNetworkConnections; it is forwarded to the peer.");
            }

            _peer.RefuseNewConnections = value;
        }
    }

    /// <summary>How many paths one peer may announce before further SIMPLIFY_PATH packets are rejected
    /// (<see cref="RpcRejectReason.PathCacheFull"/>). Godot has no bound.</summary>
    public int MaxPathCacheEntriesPerPeer
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = DefaultMaxPathCacheEntriesPerPeer;

    /// <summary>
    /// The most bytes the paths one peer announced may hold (default <see cref="DefaultMaxPathCacheBytesPerPeer"/>, 1 MiB):
    /// each path counts twice its UTF-8 length plus 96 bytes (an upper bound of what the entry holds). A SIMPLIFY_PATH past
    /// it is refused (<see cref="RpcRejectReason.PathCacheFull"/>, counted) and not confirmed, so the sender keeps sending
    /// full paths. Godot has no bound; with <see cref="MaxPathCacheEntriesPerPeer"/> alone, 4,096 paths of 60,000
    /// characters held 480 MiB per peer.
    /// </summary>
    public long MaxPathCacheBytesPerPeer
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = DefaultMaxPathCacheBytesPerPeer;

    /// <summary>
    /// The most bytes the paths of all peers together may hold, counted as for <see cref="MaxPathCacheBytesPerPeer"/>
    /// (default <see cref="DefaultMaxPathCacheBytesTotal"/>, 64 MiB); past it, SIMPLIFY_PATH is refused as
    /// <see cref="RpcRejectReason.PathCacheFull"/>.
    /// </summary>
    public long MaxPathCacheBytesTotal
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = DefaultMaxPathCacheBytesTotal;

    /// <summary>Bytes the received path caches hold now, counted as for <see cref="MaxPathCacheBytesPerPeer"/>.</summary>
    public long PathCacheBytes => _pathGetCacheBytes;

    /// <summary>
    /// The most packets one <see cref="Poll"/> dispatches (default <see cref="DefaultMaxPacketsPerPoll"/>, 4096): while
    /// transports keep the peer's inbox full, <see cref="Poll"/> still returns and the game frame stays a frame. What is
    /// left stays queued, in order, for the next <see cref="Poll"/>, with the peer events between the packets (a peer's
    /// connect before its packets, its disconnect after them); nothing is dropped or reordered. Events are not counted.
    /// </summary>
    /// <remarks>
    /// Why 4096: a healthy game never reaches it — 4096 packets a frame at 60 frames/s is about 245,000 packets/s into one
    /// API, more than a busy server's players send — so it only matters under a flood, where a full inbox of the default
    /// size (<see cref="PeerInbox.DefaultMaxPackets"/>, 65,536) is worked off over 16 frames instead of freezing one. The
    /// API's own cost for 4096 packets is about 1.5 ms (376 ns per RPC end to end, README "Performance"), a tenth of a
    /// 60 Hz frame, plus what the handlers do; bound slow handlers with <see cref="MaxPollDuration"/>. Use a smaller value
    /// to spread bursts thinner, <see cref="int.MaxValue"/> to read until the peer is empty as Godot does.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int MaxPacketsPerPoll
    {
        get;
        set
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "MaxPacketsPerPoll must be at least 1 (each Poll dispatches at least one packet); use int.MaxValue to read until the peer is empty.");
            }

            field = value;
        }
    } = DefaultMaxPacketsPerPoll;

    /// <summary>
    /// A time budget for one <see cref="Poll"/>: once this long has passed, it stops before the next packet and leaves the
    /// rest queued, in order, as <see cref="MaxPacketsPerPoll"/> does. At least one packet is dispatched per call, so
    /// <see cref="TimeSpan.Zero"/> means one packet per <see cref="Poll"/>. Default <see cref="Timeout.InfiniteTimeSpan"/>:
    /// no time budget, only the packet count. Checked between packets, so one slow handler can overrun it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative and not <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan MaxPollDuration
    {
        get;
        set
        {
            if (value < TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "MaxPollDuration must be zero or positive (zero: one packet per Poll), or Timeout.InfiniteTimeSpan for no time budget.");
            }

            field = value;
        }
    } = Timeout.InfiniteTimeSpan;

    /// <summary>The connected remote peers, ascending (Godot's <c>get_network_connected_peers()</c>); never this machine.</summary>
    public int[] GetNetworkConnectedPeers() => [.. _connectedPeers];

    /// <summary>This machine's id (1 on the server); 0 without a peer.</summary>
    public int GetNetworkUniqueId() => _peer?.GetUniqueId() ?? 0;

    /// <summary>True when the peer is the server; false without a peer (late 3.x behaviour).</summary>
    public bool IsNetworkServer() => _peer?.IsServer() ?? false;

    /// <summary>The peer that sent the RPC or rset being handled (this machine's id during a local call); 0 outside a handler.</summary>
    public int GetRpcSenderId() => _rpcSenderId;

    /// <summary>
    /// Forgets connected peers and both path caches and resets the cache id counter (Godot's <c>clear()</c>). Runs when the
    /// network peer is replaced. Statistics are kept (<see cref="ResetStats"/>).
    /// </summary>
    public void Clear()
    {
        foreach (var id in _connectedPeers)
        {
            NoteStatsDeparture(id);
        }

        _connectedPeers.Clear();
        _pathGetCache.Clear();
        _pathGetCacheBytes = 0;
        _pathSendCache.Clear();
        _nextSendCacheId = 1;
        _cacheEpoch++;
        _rpcSenderId = 0;
    }

    /// <summary>
    /// Polls the peer, then reads the available packets and dispatches them (Godot's <c>poll()</c>): RPC handlers, rsets
    /// and events run here, on the caller's thread. At most <see cref="MaxPacketsPerPoll"/> packets (and, when set, for
    /// about <see cref="MaxPollDuration"/>) per call; the rest stay queued, in order, for the next call. Does nothing
    /// without a peer or while it is disconnected — except to go on with packets a previous call left behind: those
    /// are dispatched before the session ends, as if the previous call had read them all.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from inside a handler or event of this API (not re-entrant).</exception>
    public void Poll()
    {
        if (_polling)
        {
            throw new InvalidOperationException("MultiplayerAPI.Poll() is not re-entrant: do not call it from an RPC handler or an event; it runs once per frame.");
        }

        var peer = _peer;
        if (peer is null)
        {
            return;
        }

        var disconnected = peer.GetConnectionStatus() == ConnectionStatus.Disconnected;
        if (disconnected && !_drainPending)
        {
            EndSession("the peer is disconnected");
            return;
        }

        var maxPackets = MaxPacketsPerPoll;
        var maxDuration = MaxPollDuration;
        var timed = maxDuration != Timeout.InfiniteTimeSpan;
        var started = timed ? Stopwatch.GetTimestamp() : 0;
        var dispatched = 0;
        var cut = false;
        _polling = true;
        try
        {
            if (!disconnected)
            {
                peer.Poll();
            }

            while (ReferenceEquals(_peer, peer) && peer.AvailablePacketCount > 0)
            {
                // The budget is checked before the next packet is taken (and the events queued before it are raised),
                // so what is left keeps its place in the queue.
                if (dispatched >= maxPackets || (timed && dispatched > 0 && Stopwatch.GetElapsedTime(started) >= maxDuration))
                {
                    cut = true;
                    break;
                }

                var sender = peer.GetPacketPeer();
                if (!peer.TryGetPacket(out var packet))
                {
                    break;
                }

                dispatched++;
                _rpcSenderId = sender;
                try
                {
                    ProcessPacket(peer, sender, packet);
                }
                finally
                {
                    _rpcSenderId = 0;
                }
            }
        }
        finally
        {
            _polling = false;
        }

        if (ReferenceEquals(_peer, peer))
        {
            _drainPending = cut;
        }

        MaintainStats();
        if (ReferenceEquals(_peer, peer) && !_drainPending && peer.GetConnectionStatus() == ConnectionStatus.Disconnected)
        {
            EndSession("the peer is disconnected");
        }
    }

    private bool IsConnectedPeer(int id) => _connectedPeers.BinarySearch(id) >= 0;

    private static bool IsSelected(int peerId, int target) => target == 0 || (target > 0 ? peerId == target : peerId != -target);

    // ---- peer events ---------------------------------------------------------------------------------------------

    private void AddPeer(int id)
    {
        var index = _connectedPeers.BinarySearch(id);
        if (index >= 0)
        {
            // The same id again without a disconnect: a new session of that peer; nothing it knew survives (#33069).
            ForgetPeerCaches(id);
        }
        else
        {
            _connectedPeers.Insert(~index, id);
        }

        ForgetPeerPaths(id);
        _pathGetCache[id] = new PeerPathCache();
        NoteStatsReturn(id);
        _sessionLive = true;
        RaiseSafe(NetworkPeerConnected, id, nameof(NetworkPeerConnected));
    }

    private void DelPeer(int id)
    {
        var index = _connectedPeers.BinarySearch(id);
        if (index < 0)
        {
            return;
        }

        _connectedPeers.RemoveAt(index);
        ForgetPeerCaches(id);
        NoteStatsDeparture(id);
        RaiseSafe(NetworkPeerDisconnected, id, nameof(NetworkPeerDisconnected));
    }

    private void ForgetPeerPaths(int id)
    {
        if (_pathGetCache.Remove(id, out var old))
        {
            _pathGetCacheBytes -= old.Bytes;
        }
    }

    private void ForgetPeerCaches(int id)
    {
        ForgetPeerPaths(id);
        foreach (var entry in _pathSendCache.Values)
        {
            entry.Confirmed.Remove(id);
        }
    }

    private void OnConnectionSucceeded()
    {
        _sessionLive = true;
        if (_peer is { } peer && peer.GetUniqueId() == NetworkedMultiplayerPeer.TargetPeerServer)
        {
            return; // a custom server peer reports success on initialize(1); Godot would call that "connected to server"
        }

        RaiseSafe(ConnectedToServer, nameof(ConnectedToServer));
    }

    private void OnConnectionFailed()
    {
        EndSession("connection failed");
        RaiseSafe(ConnectionFailed, nameof(ConnectionFailed));
    }

    private void OnServerDisconnected()
    {
        EndSession("server disconnected");
        RaiseSafe(ServerDisconnected, nameof(ServerDisconnected));
    }

    /// <summary>The connection is gone: forget peers and caches so that a reconnect starts clean (#33069).</summary>
    private void EndSession(string why)
    {
        if (!_sessionLive)
        {
            return;
        }

        _sessionLive = false;
        var sender = _rpcSenderId;
        Clear();
        _rpcSenderId = sender;
        MultiplayerLog.SessionReset(_logger, why);
    }

    // ---- user callbacks never break the loop ---------------------------------------------------------------------

    private void RaiseSafe(Action? handler, string name)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler();
        }
#pragma warning disable CA1031 // a user event handler's exception is reported, not propagated into the game loop
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Reject(new RpcRejection(RpcRejectReason.HandlerThrew, GetNetworkUniqueId(), 0) { Member = name, Exception = ex }, null);
        }
    }

    private void RaiseSafe<T>(Action<T>? handler, T arg, string name)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(arg);
        }
#pragma warning disable CA1031 // see above
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var peerId = arg switch
            {
                int id => id,
                PacketRejection r => r.PeerId,
                _ => GetNetworkUniqueId(),
            };
            Reject(new RpcRejection(RpcRejectReason.HandlerThrew, peerId, 0) { Member = name, Exception = ex }, null);
        }
    }
}
