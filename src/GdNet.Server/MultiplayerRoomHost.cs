using GdNet.Multiplayer;
using GdNet.Peers;

namespace GdNet.Server;

/// <summary>
/// A room's hosted logic as a Godot game: a <see cref="MultiplayerAPI"/> whose network peer is a
/// <see cref="NetworkedMultiplayerCustom"/> with id 1 (the server), wired to the room — joins become
/// <c>AddPeer</c>, packets <c>DeliverPacket</c>, <c>PacketGenerated</c> goes out through <see cref="Room.SendFromHost"/>,
/// and <c>DisconnectPeer</c> kicks. The scene is built by a callback on the game thread; a <see cref="RoomHostLoop"/>
/// polls it.
/// </summary>
public sealed class MultiplayerRoomHost : IRoomHost
{
    private readonly Room _room;
    private readonly Action<MultiplayerAPI, Room> _setup;
    private readonly NetworkedMultiplayerCustom _peer;
    private MultiplayerAPI? _api;
    private TaskCompletionSource? _polled;
    private volatile bool _disposed;

    /// <param name="room">The room this is peer 1 of.</param>
    /// <param name="setup">Builds the scene (nodes under <see cref="MultiplayerAPI.RootNode"/>) on the game thread, before the first poll.</param>
    /// <param name="maxQueuedPackets">The bound of the queue between the transports and the game thread.</param>
    public MultiplayerRoomHost(Room room, Action<MultiplayerAPI, Room> setup, int maxQueuedPackets = PeerInbox.DefaultMaxPackets)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(setup);
        _room = room;
        _setup = setup;
        _peer = new NetworkedMultiplayerCustom { MaxQueuedPackets = maxQueuedPackets };
        _peer.PacketGenerated += (to, packet, mode) => _room.SendFromHost(to, packet, mode);
        _peer.PeerDisconnectRequested += id => _room.Kick(id, "disconnected by the server");
        _peer.SetConnectionStatus(ConnectionStatus.Connecting);
        _peer.Initialize(RelayRouter.HostPeerId);
    }

    /// <summary>The room.</summary>
    public Room Room => _room;

    /// <summary>The API (null until the first <see cref="Poll"/>). Game thread.</summary>
    public MultiplayerAPI? Api => _api;

    /// <summary>The custom peer the API runs on.</summary>
    public NetworkedMultiplayerCustom Peer => _peer;

    /// <summary>Whether the room has gone (the host is disposed and should no longer be polled).</summary>
    public bool IsDisposed => _disposed;

    /// <inheritdoc/>
    public void PeerJoined(int peerId) => _peer.TryAddPeer(peerId);

    /// <inheritdoc/>
    public void PeerLeft(int peerId) => _peer.TryRemovePeer(peerId);

    /// <inheritdoc/>
    public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
    {
        var r = _peer.DeliverPacket(payload, from);
        return r.IsAccepted ? HostDelivery.Accepted : r.RejectReason == PacketRejectReason.QueueFull ? HostDelivery.Full : HostDelivery.Rejected;
    }

    /// <inheritdoc/>
    public Task WhenRoomAsync(int length)
    {
        if (_peer.AvailablePacketCount < _peer.MaxQueuedPackets)
        {
            return Task.CompletedTask;
        }

        var tcs = Volatile.Read(ref _polled);
        if (tcs is null)
        {
            var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs = Interlocked.CompareExchange(ref _polled, fresh, null) ?? fresh;
        }

        return tcs.Task;
    }

    /// <summary>
    /// One frame of the hosted game: builds the scene the first time, then <see cref="MultiplayerAPI.Poll"/> (which
    /// raises the peer events and dispatches the RPCs). Game thread only.
    /// </summary>
    public void Poll()
    {
        if (_disposed)
        {
            return;
        }

        if (_api is null)
        {
            _api = new MultiplayerAPI();
            _setup(_api, _room);
            _api.NetworkPeer = _peer;
        }

        _api.Poll();
        Interlocked.Exchange(ref _polled, null)?.TrySetResult();
    }

    /// <summary>Marks the host gone; its loop drops it and closes the peer on the game thread. Any thread.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _polled, null)?.TrySetResult();
    }

    /// <summary>Closes the peer (game thread, after <see cref="Dispose"/>).</summary>
    internal void Shutdown()
    {
        if (_api is not null)
        {
            _api.NetworkPeer = null;
        }

        _peer.Dispose();
    }
}

/// <summary>
/// One game thread for the hosted logic of every room: polls each <see cref="MultiplayerRoomHost"/> about once a
/// millisecond (a frame), and drops hosts whose room has gone. A callback may run per frame (for example a lobby's
/// own timers).
/// </summary>
public sealed class RoomHostLoop : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<MultiplayerRoomHost> _hosts = [];
    private readonly RpcTotals _retired = new(); // the final counts of hosts that have gone (under _gate)
    private readonly Thread _thread;
    private readonly Action<MultiplayerRoomHost>? _afterPoll;
    private volatile bool _stop;

    /// <param name="afterPoll">Runs after each host's poll, on the game thread (optional).</param>
    public RoomHostLoop(Action<MultiplayerRoomHost>? afterPoll = null)
    {
        _afterPoll = afterPoll;
        _thread = new Thread(Run) { IsBackground = true, Name = "GdNet room hosts" };
        _thread.Start();
    }

    /// <summary>Hosts being polled now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _hosts.Count;
            }
        }
    }

    /// <summary>
    /// The RPC traffic of every room's hosted logic, the rooms that have closed included (so the counts never go
    /// down), and the packets waiting for it now. Any thread: live hosts are read from their
    /// <see cref="MultiplayerAPI.LatestStats"/> (at most <see cref="MultiplayerAPI.StatsSnapshotInterval"/> old).
    /// </summary>
    public HostedRpcStatistics GetStatistics()
    {
        var sum = new RpcTotals();
        var queued = 0;
        lock (_gate)
        {
            sum.Add(_retired.ToTraffic());
            foreach (var h in _hosts)
            {
                if (h.Api?.LatestStats?.Total is { } live)
                {
                    sum.Add(live);
                }

                queued += h.Peer.AvailablePacketCount;
            }

            return new HostedRpcStatistics(_hosts.Count, queued, sum.ToTraffic());
        }
    }

    /// <summary>Starts polling <paramref name="host"/>. Any thread.</summary>
    public void Add(MultiplayerRoomHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        lock (_gate)
        {
            _hosts.Add(host);
        }
    }

    private void Run()
    {
        var snapshot = new List<MultiplayerRoomHost>();
        while (!_stop)
        {
            snapshot.Clear();
            lock (_gate)
            {
                snapshot.AddRange(_hosts);
            }

            foreach (var h in snapshot)
            {
                if (h.IsDisposed)
                {
                    lock (_gate)
                    {
                        _hosts.Remove(h);
                        Retire(h);
                    }

                    h.Shutdown();
                    continue;
                }

                h.Poll();
                _afterPoll?.Invoke(h);
            }

            Thread.Sleep(1);
        }

        lock (_gate)
        {
            foreach (var h in _hosts)
            {
                Retire(h);
                h.Shutdown();
            }

            _hosts.Clear();
        }
    }

    // Game thread, under _gate: the host's exact final counts join the totals as it leaves the list (never less than
    // the LatestStats GetStatistics read before, so the sums only grow).
    private void Retire(MultiplayerRoomHost h)
    {
        if (h.Api is { } api)
        {
            _retired.Add(api.GetStats().Total);
        }
    }

    /// <summary>Stops the thread (joins it) and closes every host's peer.</summary>
    public void Dispose()
    {
        _stop = true;
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }
}

/// <summary>The RPC traffic of rooms' hosted logic, summed over every room (see <see cref="RoomHostLoop.GetStatistics"/>).</summary>
/// <param name="Rooms">Rooms whose hosted logic runs now.</param>
/// <param name="QueuedPackets">Packets waiting for the hosted logic now (in the custom peers' queues).</param>
/// <param name="Traffic">Calls and sets received and run, sent, packets, bytes and rejections by reason, closed rooms included.</param>
public sealed record HostedRpcStatistics(int Rooms, int QueuedPackets, RpcTrafficStats Traffic);

// A running sum of RpcTrafficStats.
internal sealed class RpcTotals
{
    private long _rpcIn, _rpcOut, _rsetIn, _rsetOut, _packetsIn, _bytesIn, _packetsOut, _bytesOut;
    private readonly Dictionary<RpcRejectReason, long> _rejections = [];

    public void Add(RpcTrafficStats s)
    {
        _rpcIn += s.RpcIn;
        _rpcOut += s.RpcOut;
        _rsetIn += s.RsetIn;
        _rsetOut += s.RsetOut;
        _packetsIn += s.PacketsIn;
        _bytesIn += s.BytesIn;
        _packetsOut += s.PacketsOut;
        _bytesOut += s.BytesOut;
        foreach (var (reason, n) in s.Rejections)
        {
            _rejections[reason] = _rejections.GetValueOrDefault(reason) + n;
        }
    }

    public RpcTrafficStats ToTraffic() => new(_rpcIn, _rpcOut, _rsetIn, _rsetOut, _packetsIn, _bytesIn, _packetsOut, _bytesOut,
        new Dictionary<RpcRejectReason, long>(_rejections));
}
