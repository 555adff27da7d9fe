using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using GdNet.Peers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet.Server;

/// <summary>What <see cref="RelayRouter.Route"/> did with a packet.</summary>
public enum RouteResult
{
    /// <summary>Delivered, relayed, or refused (counted); go on with the next packet.</summary>
    Done = 0,

    /// <summary>
    /// Nothing was done yet and the packet must be offered again later (the room's hosted logic is full, or the server's
    /// send budget is exhausted): a stream transport stops reading the sender until <see cref="RelayRouter.WhenRetryAsync"/>
    /// completes; a datagram transport holds the packet if it is reliable.
    /// </summary>
    RetryLater,
}

/// <summary>
/// The relay core: rooms, their members, and Godot 3's relay rules, independent of sockets. Transports are connection
/// providers: they admit (<see cref="AdmitAsync"/>), join (<see cref="Join"/>), route each packet (<see cref="Route"/>)
/// and leave (<see cref="Leave"/>); the router calls back <see cref="RelayConnection"/> to send and announce.
/// </summary>
/// <remarks>
/// <para><b>Rules</b> (Godot 3's servers, spec §5.3 and §6): a peer's packet names itself as the source (else
/// <see cref="PacketRejectReason.SpoofedSource"/>) and a target: 1 the room's hosted logic, N &gt; 1 that member of the
/// same room, 0 every member and the host, −N everyone but N (so −1 does not reach the host). A target that is the
/// sender or not in the room is <see cref="PacketRejectReason.UnknownTarget"/> (a race, not misbehaviour, when it left
/// within <see cref="RelayOptions.DepartureGrace"/>). Joins announce the new peer to the room's members and them to it;
/// leaves announce the departure. Ids are drawn at random in 2…2147483647, unique in the server across transports; a
/// client that chooses its own (ENet) is refused on a clash.</para>
/// <para><b>Threads and order.</b> Membership changes take one lock, so every member sees joins and leaves in one order;
/// routing reads immutable snapshots and takes no lock. Each connection's packets are routed in order by its transport's
/// receive loop, so per-sender order holds end to end.</para>
/// </remarks>
public sealed partial class RelayRouter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, RelayConnection> _byId = new();
    private readonly HashSet<int> _reservedIds = [];
    private readonly Dictionary<IPAddress, AddressState> _addresses = [];
    private readonly Dictionary<int, long> _departed = [];
    private readonly Queue<(int Id, long At)> _departures = new();
    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly long[] _rejections = new long[Enum.GetValues<PacketRejectReason>().Length];
    private readonly List<AdmissionHook> _hooks = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private volatile Room[] _roomArray = [];
    private int _peers;
    private int _reservedPeers;
    private volatile bool _accepting = true;
    private volatile bool _draining;
    private TaskCompletionSource? _empty;

    private long _relayed;
    private long _toHost;
    private long _fromHost;
    private long _accepted;
    private long _goneIn;
    private long _goneBytesIn;
    private readonly Dictionary<string, TransportTraffic> _goneTraffic = new(StringComparer.Ordinal);
    private readonly Lock _stallLock = new();
    private long _stallReleased = -1;
    private long _stallSince;

    // Rate-limited logging of refusals and rejections: at most ten lines a second, the rest counted (the counters stay exact).
    private readonly LogRateLimiter _logLimiter = new();

    private sealed class AddressState
    {
        public int Connections;
        public TokenBucket? Bucket;
    }

    /// <param name="options">Limits and rules (defaults when null).</param>
    /// <param name="logger">Where joins, leaves, refusals and (rate-limited) rejections are logged.</param>
    /// <param name="timeProvider">The clock of the rate limits (tests pass a manual one); the system clock when null.</param>
    public RelayRouter(RelayOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new RelayOptions();
        Options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        SendBudget = new SendBudget(() => Options.MaxQueuedBytesTotal);
        _sweep = StartSweep(this);
    }

    private readonly Timer _sweep;

    // Four times a second: CheckSlowReaders. The timer holds the router weakly, so a router nobody uses any more is
    // collected and its timer stops.
    private static Timer StartSweep(RelayRouter router)
    {
        var weak = new WeakReference<RelayRouter>(router);
        Timer? timer = null;
        timer = new Timer(_ =>
        {
            if (weak.TryGetTarget(out var r))
            {
                r.CheckSlowReaders();
            }
            else
            {
                timer?.Dispose();
            }
        }, null, Timeout.Infinite, Timeout.Infinite);
        timer.Change(250, 250);
        return timer;
    }

    /// <summary>
    /// Disconnects, as slow readers, the peers that have had bytes queued for them and read none of them for
    /// <see cref="RelayOptions.SlowReaderTimeout"/> (their transport's <see cref="RelayConnection.QueuedBytes"/> never
    /// shrank between two checks). The router runs it four times a second; call it to check at once. Any thread.
    /// </summary>
    /// <returns>How many peers were disconnected.</returns>
    public int CheckSlowReaders()
    {
        var timeout = Options.SlowReaderTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return 0;
        }

        var cut = 0;
        var now = _time.GetTimestamp();
        lock (_sweepLock)
        {
            foreach (var c in _byId.Values)
            {
                var queued = c.QueuedBytes;
                if (queued <= 0 || queued < c.QueueSeen)
                {
                    c.QueueStuckSince = -1; // empty, or some of it was written: it reads
                }
                else if (c.QueueStuckSince < 0)
                {
                    c.QueueStuckSince = now;
                }
                else if (_time.GetElapsedTime(c.QueueStuckSince, now) >= timeout && c.TryCut())
                {
                    Reject(c, new PacketRejection(c.PeerId, PacketRejectReason.SlowReader, queued, 0,
                        "disconnected: read none of it for {0} s", (long)timeout.TotalSeconds), misbehaviour: false);
                    c.Close(CloseReason.SlowReader, string.Create(CultureInfo.InvariantCulture,
                        $"the peer reads too slowly: it read none of the {queued} bytes queued for it in {timeout.TotalSeconds:0.#} s"));
                    cut++;
                }

                c.QueueSeen = queued;
            }
        }

        return cut;
    }

    private readonly Lock _sweepLock = new();

    public RelayOptions Options { get; }

    /// <summary>The server-wide send budget transports charge their queues to.</summary>
    public SendBudget SendBudget { get; }

    /// <summary>
    /// Makes each new room's hosted logic (peer 1), or returns null for a room that only relays. Called under the
    /// membership lock when a room is created; keep it quick. Set before the first connection.
    /// </summary>
    public Func<Room, IRoomHost?>? HostFactory { get; set; }

    /// <summary>Whether new connections are admitted (false while draining or refusing).</summary>
    public bool IsAccepting => _accepting;

    /// <summary>Peers joined now, over all rooms and transports.</summary>
    public int PeerCount => Volatile.Read(ref _peers);

    /// <summary>The rooms now (a snapshot).</summary>
    public IReadOnlyList<Room> Rooms => _roomArray;

    /// <summary>
    /// Raised (on the thread where it happened) for every refused packet, with the connection it came from (null for the
    /// hosted logic, or for a transport-level refusal that no connection can be blamed for).
    /// </summary>
    public event Action<RelayConnection?, PacketRejection>? PacketRejected;

    /// <summary>Raised (under the membership lock: do not block) when a peer has joined a room.</summary>
    public event Action<RelayConnection>? PeerJoined;

    /// <summary>Raised (under the membership lock: do not block) when a peer has left its room.</summary>
    public event Action<RelayConnection>? PeerLeft;

    /// <summary>Raised when a connection is refused admission: the request, the reason, and the detail (for logs).</summary>
    public event Action<AdmissionRequest, AdmissionRefusal, string>? ConnectionRefused;

    /// <summary>
    /// Adds an admission check (for example <see cref="JwtAdmission"/>); checks run in the order added, after the
    /// router's own (accepting, room name, per-address limits) and before capacity is reserved. Add before the first connection.
    /// </summary>
    public void AddAdmissionHook(AdmissionHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        lock (_gate)
        {
            _hooks.Add(hook);
        }
    }

    // ------------------------------------------------------------------ admission and membership

    /// <summary>
    /// Decides whether a connection may join: the router's checks (accepting, room name, address limits), the admission
    /// hooks, then a reservation of a slot in the server and the room and of the peer id. Refusals are counted by
    /// reason and logged; the detail is for the operator, not the client.
    /// </summary>
    public async ValueTask<AdmissionTicket> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var refusal = CheckBeforeHooks(request);
        if (refusal is { } early)
        {
            return Refuse(request, early.Reason, early.Detail);
        }

        string? name = null;
        AdmissionHook[] hooks;
        lock (_gate)
        {
            hooks = [.. _hooks];
        }

        foreach (var hook in hooks)
        {
            AdmissionDecision decision;
            try
            {
                decision = await hook(request, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a failing hook refuses the connection; it must not take the transport down
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogHookFailed(_logger, ex);
                return Refuse(request, AdmissionRefusal.Other, "admission hook failed: " + ex.GetType().Name);
            }

            if (!decision.IsAccepted)
            {
                return Refuse(request, decision.Refusal, decision.Detail ?? decision.Refusal.ToString());
            }

            name = decision.Name ?? name;
        }

        return _cluster is null ? Reserve(request, name) : await ReserveInClusterAsync(_cluster, request, name, cancellationToken).ConfigureAwait(false);
    }

    private (AdmissionRefusal Reason, string Detail)? CheckBeforeHooks(AdmissionRequest request)
    {
        if (!_accepting)
        {
            return (AdmissionRefusal.NotAccepting, "the server is not accepting connections (draining or refusing)");
        }

        if (!Room.IsValidName(request.Room))
        {
            return (AdmissionRefusal.InvalidRoom, "room name must be 1-64 characters of A-Z a-z 0-9 _ -");
        }

        if (request.RequestedPeerId != 0 && request.RequestedPeerId < 2)
        {
            return (AdmissionRefusal.InvalidId, "client id is reserved (ids below 2) or not a 31-bit id");
        }

        var ip = request.RemoteEndPoint?.Address;
        if (ip is null)
        {
            return null;
        }

        lock (_gate)
        {
            var state = AddressOf(ip);
            if (Options.MaxConnectionsPerAddress > 0 && state.Connections >= Options.MaxConnectionsPerAddress)
            {
                return (AdmissionRefusal.TooManyFromAddress, string.Create(CultureInfo.InvariantCulture,
                    $"{ip} already has {state.Connections} connections (limit {Options.MaxConnectionsPerAddress})"));
            }

            if (Options.ConnectionsPerSecondPerAddress > 0)
            {
                state.Bucket ??= new TokenBucket(Options.ConnectionsPerSecondPerAddress, Options.ConnectionBurstPerAddress, _time);
                if (!state.Bucket.TryTake(1, _time.GetTimestamp()))
                {
                    return (AdmissionRefusal.ConnectionRateLimited, string.Create(CultureInfo.InvariantCulture,
                        $"{ip} opens connections faster than {Options.ConnectionsPerSecondPerAddress}/s"));
                }
            }
        }

        return null;
    }

    // Caller holds _gate.
    private AddressState AddressOf(IPAddress ip)
    {
        if (!_addresses.TryGetValue(ip, out var state))
        {
            if (_addresses.Count >= 65536)
            {
                PruneAddresses();
            }

            state = new AddressState();
            _addresses[ip] = state;
        }

        return state;
    }

    // Caller holds _gate. Forgets addresses with no connection (their rate bucket refills within seconds anyway).
    private void PruneAddresses()
    {
        foreach (var (ip, s) in _addresses.ToArray())
        {
            if (s.Connections == 0)
            {
                _addresses.Remove(ip);
            }
        }
    }

    private AdmissionTicket Reserve(AdmissionRequest request, string? name)
    {
        lock (_gate)
        {
            if (!_accepting)
            {
                return Refuse(request, AdmissionRefusal.NotAccepting, "the server is not accepting connections (draining or refusing)");
            }

            if (_peers + _reservedPeers >= Options.MaxPeers)
            {
                return Refuse(request, AdmissionRefusal.ServerFull, string.Create(CultureInfo.InvariantCulture, $"the server is full ({Options.MaxPeers} peers)"));
            }

            var requested = request.RequestedPeerId;
            if (requested != 0 && (_byId.ContainsKey(requested) || _reservedIds.Contains(requested) || _remote.ContainsKey(requested)))
            {
                return Refuse(request, AdmissionRefusal.IdTaken, string.Create(CultureInfo.InvariantCulture, $"client id {requested} is already connected"));
            }

            if (!_rooms.TryGetValue(request.Room, out var room))
            {
                if (_rooms.Count >= Options.MaxRooms)
                {
                    return Refuse(request, AdmissionRefusal.TooManyRooms, string.Create(CultureInfo.InvariantCulture, $"the server has its most rooms ({Options.MaxRooms})"));
                }

                room = CreateRoom(request.Room);
            }
            else if (room.MemberArray.Length + room.RemoteArray.Length + room.Reserved >= Options.MaxPeersPerRoom)
            {
                return Refuse(request, AdmissionRefusal.RoomFull, string.Create(CultureInfo.InvariantCulture, $"room {room.Name} is full ({Options.MaxPeersPerRoom} peers)"));
            }

            var id = requested;
            if (id == 0)
            {
                do
                {
                    id = Random.Shared.Next(2, int.MaxValue);
                }
                while (_byId.ContainsKey(id) || _reservedIds.Contains(id) || _remote.ContainsKey(id));
            }

            _reservedIds.Add(id);
            room.Reserved++;
            _reservedPeers++;
            if (request.RemoteEndPoint?.Address is { } ip)
            {
                AddressOf(ip).Connections++;
            }

            return new AdmissionTicket(this, request, room, id, name);
        }
    }

    // Caller holds _gate.
    private Room CreateRoom(string name)
    {
        var room = new Room(this, name);
        _rooms[name] = room;
        _roomArray = [.. _rooms.Values];
        if (_cluster is { } link)
        {
            // The hosted logic runs on one node of the cluster: the link claims it and calls ClusterAttachHost. Off the lock.
            var wantsHost = HostFactory is not null;
            room.Opened = Task.Run(() => link.OpenRoomAsync(room, wantsHost));
            LogRoomCreated(_logger, name);
            return room;
        }

        try
        {
            room.Host = HostFactory?.Invoke(room);
        }
#pragma warning disable CA1031 // a failing host factory leaves the room without hosted logic, logged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHostFailed(_logger, name, ex);
        }

        LogRoomCreated(_logger, name);
        return room;
    }

    // Caller holds _gate.
    private void RemoveRoomIfEmpty(Room room)
    {
        if (room.MemberArray.Length != 0 || room.Reserved != 0 || room.Closed)
        {
            return;
        }

        room.Closed = true;
        _rooms.Remove(room.Name);
        _roomArray = [.. _rooms.Values];
        if (_cluster is { } link)
        {
            // Its members on other nodes are no concern of this node any more (no local member to tell).
            foreach (var r in room.RemoteArray)
            {
                _remote.TryRemove(new KeyValuePair<int, RemotePeer>(r.PeerId, r));
            }

            room.RemoteArray = [];
            link.CloseRoom(room);
        }

        try
        {
            room.Host?.Dispose();
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHostFailed(_logger, room.Name, ex);
        }

        LogRoomRemoved(_logger, room.Name);
    }

    /// <summary>
    /// Counts, logs and raises <see cref="ConnectionRefused"/> for a connection the transport refused before asking
    /// <see cref="AdmitAsync"/> (a limit of its own, such as ENet's peer slots), so that every refusal is counted in one
    /// place. Any thread.
    /// </summary>
    public void ReportRefusal(AdmissionRequest request, AdmissionRefusal reason, string detail)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(detail);
        _ = Refuse(request, reason, detail);
    }

    private AdmissionTicket Refuse(AdmissionRequest request, AdmissionRefusal reason, string detail)
    {
        _refusals.AddOrUpdate(reason.ToString(), 1, static (_, n) => n + 1);
        if (ShouldLog())
        {
            LogRefused(_logger, request.Transport, request.RemoteEndPoint, request.Room, reason, detail); // a CONNECT flood logs at a bounded rate
        }

        ConnectionRefused?.Invoke(request, reason, detail);
        return new AdmissionTicket(request, reason, detail);
    }

    internal void Release(AdmissionTicket ticket)
    {
        lock (_gate)
        {
            _reservedIds.Remove(ticket.PeerId);
            if (ticket.ClaimedInCluster)
            {
                _cluster?.ReleasePeerId(ticket.PeerId);
            }

            _reservedPeers--;
            var room = ticket.ReservedRoom!;
            room.Reserved--;
            if (ticket.Request.RemoteEndPoint?.Address is { } ip && _addresses.TryGetValue(ip, out var s))
            {
                s.Connections--;
            }

            RemoveRoomIfEmpty(room);
            SignalIfEmpty();
        }
    }

    /// <summary>
    /// Joins an admitted connection to its room: gives it the ticket's id, welcomes it, announces it to the room's
    /// members and them to it (when relaying), and tells the hosted logic. From now on its packets may be routed.
    /// </summary>
    /// <returns>The peer id.</returns>
    /// <exception cref="ArgumentException">The ticket was refused, or already used or disposed.</exception>
    public int Join(AdmissionTicket ticket, RelayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        ArgumentNullException.ThrowIfNull(connection);
        if (!ticket.IsAccepted || !ticket.TryUse())
        {
            throw new ArgumentException("Join needs an accepted ticket from AdmitAsync that was not used or disposed yet.", nameof(ticket));
        }

        if (connection.Room is not null || connection.PeerId != 0)
        {
            throw new ArgumentException("This connection has already joined; a connection joins once.", nameof(connection));
        }

        var room = ticket.ReservedRoom!;
        var id = ticket.PeerId;
        lock (_gate)
        {
            _reservedIds.Remove(id);
            _reservedPeers--;
            room.Reserved--;
            connection.PeerId = id;
            connection.Name = ticket.Name;
            connection.ConnectedAt = DateTimeOffset.UtcNow;
            if (Options.MaxPacketsPerSecond > 0)
            {
                connection.PacketBucket = new TokenBucket(Options.MaxPacketsPerSecond, Options.MaxPacketsPerSecond * 2, _time);
            }

            if (Options.MaxBytesPerSecond > 0)
            {
                connection.ByteBucket = new TokenBucket(Options.MaxBytesPerSecond, Options.MaxBytesPerSecond * 2, _time);
            }

            connection.Welcome();
            var existing = room.MemberArray;
            if (Options.RelayBetweenClients)
            {
                foreach (var other in existing)
                {
                    other.SendPeerAdded(id);
                    connection.SendPeerAdded(other.PeerId);
                }

                foreach (var remote in room.RemoteArray)
                {
                    connection.SendPeerAdded(remote.PeerId);
                }
            }

            _cluster?.PeerJoined(room, id);

            _byId[id] = connection;
            room.MemberArray = [.. existing, connection];
            connection.Room = room;
            _peers++;
            _accepted++;
            room.Host?.PeerJoined(id);
            LogJoined(_logger, connection.Transport, id, connection.RemoteEndPoint, room.Name, connection.Name ?? "-");
            PeerJoined?.Invoke(connection);
        }

        if (_draining)
        {
            // Admitted just before the drain began: it joins (its transport expects that) and is told goodbye at once.
            connection.Close(CloseReason.ServerShutdown, "server shutting down");
        }

        return id;
    }

    /// <summary>
    /// Removes a connection that has ended from its room: tells the others (when relaying) and the hosted logic, and
    /// removes the room when it is empty. Call after its last <see cref="Route"/>. Idempotent.
    /// </summary>
    public void Leave(RelayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            var room = connection.Room;
            if (room is null || !_byId.TryRemove(new KeyValuePair<int, RelayConnection>(connection.PeerId, connection)))
            {
                return;
            }

            var existing = room.MemberArray;
            var shrunk = new RelayConnection[existing.Length - 1];
            var j = 0;
            foreach (var m in existing)
            {
                if (!ReferenceEquals(m, connection))
                {
                    shrunk[j++] = m;
                }
            }

            room.MemberArray = shrunk;
            connection.Room = null;
            _peers--;
            if (Options.RelayBetweenClients)
            {
                foreach (var other in shrunk)
                {
                    other.SendPeerRemoved(connection.PeerId);
                }
            }

            room.Host?.PeerLeft(connection.PeerId);
            if (_cluster is { } link)
            {
                link.PeerLeft(room, connection.PeerId);
                link.ReleasePeerId(connection.PeerId);
            }

            NoteDeparture(connection.PeerId);
            ForgetPathsToHost(connection);
            _goneIn += connection.PacketsIn;
            _goneBytesIn += connection.BytesIn;
            _goneTraffic[connection.Transport] = _goneTraffic.GetValueOrDefault(connection.Transport, TransportTraffic.Zero).Plus(connection, peers: 0);
            if (connection.RemoteEndPoint?.Address is { } ip && _addresses.TryGetValue(ip, out var s))
            {
                s.Connections--;
            }

            LogLeft(_logger, connection.Transport, connection.PeerId, room.Name, connection.Name ?? "-");
            PeerLeft?.Invoke(connection);
            RemoveRoomIfEmpty(room);
            SignalIfEmpty();
        }
    }

    /// <summary>The joined connection with peer id <paramref name="peerId"/>, or null.</summary>
    public RelayConnection? FindPeer(int peerId) => _byId.TryGetValue(peerId, out var c) ? c : null;

    /// <summary>The room named <paramref name="name"/>, or null.</summary>
    public Room? FindRoom(string name)
    {
        lock (_gate)
        {
            return _rooms.GetValueOrDefault(name);
        }
    }

    /// <summary>
    /// Disconnects peer <paramref name="peerId"/> with <paramref name="reason"/> (a peer of another node of the cluster
    /// through its node). False when no such peer.
    /// </summary>
    public bool Kick(int peerId, string reason)
    {
        if (!_byId.TryGetValue(peerId, out var c))
        {
            return _remote.TryGetValue(peerId, out var remote) && KickRemote(remote.Room, peerId, reason);
        }

        c.Close(CloseReason.Kicked, reason);
        return true;
    }

    /// <summary>Disconnects every member of room <paramref name="name"/> (the room goes when they have left). False when no such room.</summary>
    public bool CloseRoom(string name, string reason)
    {
        var room = FindRoom(name);
        if (room is null)
        {
            return false;
        }

        foreach (var m in room.MemberArray)
        {
            m.Close(CloseReason.RoomClosed, reason);
        }

        return true;
    }

    /// <summary>Stops or resumes admitting connections (Godot's <c>refuse_new_connections</c>).</summary>
    public void SetAccepting(bool accepting) => _accepting = accepting;

    /// <summary>
    /// Drains: stops admitting, closes every connection with <see cref="CloseReason.ServerShutdown"/>, and waits until all
    /// have left or <paramref name="timeout"/> passes.
    /// </summary>
    /// <returns>True when every peer left in time.</returns>
    public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        _accepting = false;
        _draining = true;
        Task empty;
        lock (_gate)
        {
            _empty ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            empty = _empty.Task;
            SignalIfEmpty();
        }

        foreach (var c in _byId.Values)
        {
            c.Close(CloseReason.ServerShutdown, "server shutting down");
        }

        var done = await Task.WhenAny(empty, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
        return done == empty;
    }

    // Caller holds _gate.
    private void SignalIfEmpty()
    {
        if (_peers == 0 && _reservedPeers == 0)
        {
            _empty?.TrySetResult();
        }
    }

    // Caller holds _gate.
    private void NoteDeparture(int id)
    {
        var now = Environment.TickCount64;
        _departed[id] = now;
        _departures.Enqueue((id, now));
        var grace = (long)Options.DepartureGrace.TotalMilliseconds;
        while (_departures.Count > 0 && (_departures.Count > 4096 || now - _departures.Peek().At > grace))
        {
            var (old, at) = _departures.Dequeue();
            if (_departed.TryGetValue(old, out var when) && when == at)
            {
                _departed.Remove(old);
            }
        }
    }

    private bool RecentlyDeparted(int id)
    {
        lock (_gate)
        {
            return _departed.TryGetValue(id, out var at) && Environment.TickCount64 - at <= (long)Options.DepartureGrace.TotalMilliseconds;
        }
    }
}
