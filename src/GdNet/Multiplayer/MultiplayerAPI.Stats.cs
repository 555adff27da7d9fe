using System.Diagnostics;

namespace GdNet.Multiplayer;

public sealed partial class MultiplayerAPI
{
    private readonly TrafficCounters _total = new();
    private readonly Dictionary<int, TrafficCounters> _peerStats = [];
    private readonly Dictionary<string, TrafficCounters> _nodeStats = new(StringComparer.Ordinal);
    private int _statsEpoch;
    private readonly Dictionary<int, long> _departedAt = [];
    private readonly Queue<(int Id, long At)> _departures = new();
    private TimeSpan _departedPeerStatsRetention = TimeSpan.FromMinutes(1);
    private TimeSpan _statsSnapshotInterval = TimeSpan.FromSeconds(1);
    private MultiplayerStats? _latestStats;
    private long _latestStatsAt;

    /// <summary>
    /// How long a departed peer's per-peer counters stay in <see cref="GetStats"/> after it left (default 1 minute);
    /// then <see cref="Poll"/> forgets them, so a long-running server does not grow with every peer it ever saw. Their
    /// counts stay in the totals. Game thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan DepartedPeerStatsRetention
    {
        get => _departedPeerStatsRetention;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _departedPeerStatsRetention = value;
        }
    }

    /// <summary>
    /// How often <see cref="Poll"/> refreshes <see cref="LatestStats"/> (default 1 s; zero: every poll). Game thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan StatsSnapshotInterval
    {
        get => _statsSnapshotInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _statsSnapshotInterval = value;
        }
    }

    /// <summary>
    /// The statistics as <see cref="Poll"/> last saw them (at most <see cref="StatsSnapshotInterval"/> old while it runs;
    /// null before the first poll with a peer): an immutable snapshot, safe to read from any thread, for a metrics
    /// exporter or a status page. On the game thread, <see cref="GetStats"/> gives the current counts.
    /// </summary>
    public MultiplayerStats? LatestStats => Volatile.Read(ref _latestStats);

    /// <summary>
    /// A snapshot of the counters: in total, per remote peer and per node path (see <see cref="RpcTrafficStats"/> for what
    /// each number counts). Game thread.
    /// </summary>
    public MultiplayerStats GetStats()
    {
        var peers = new SortedDictionary<int, RpcTrafficStats>();
        foreach (var (id, c) in _peerStats)
        {
            peers[id] = c.Snapshot();
        }

        var nodes = new SortedDictionary<string, RpcTrafficStats>(StringComparer.Ordinal);
        foreach (var (path, c) in _nodeStats)
        {
            nodes[path] = c.Snapshot();
        }

        return new MultiplayerStats(_total.Snapshot(), peers, nodes);
    }

    /// <summary>Sets every counter back to zero. Game thread.</summary>
    public void ResetStats()
    {
        _peerStats.Clear();
        _departedAt.Clear();
        _departures.Clear();
        _nodeStats.Clear();
        _total.RpcIn = _total.RpcOut = _total.RsetIn = _total.RsetOut = _total.PacketsIn = _total.BytesIn = _total.PacketsOut = _total.BytesOut = 0;
        Array.Clear(_total.Rejections);
        _statsEpoch++;
    }

    // A peer left: its counters are forgotten after DepartedPeerStatsRetention unless it comes back.
    private void NoteStatsDeparture(int peerId)
    {
        var now = Stopwatch.GetTimestamp();
        _departedAt[peerId] = now;
        _departures.Enqueue((peerId, now));
    }

    private void NoteStatsReturn(int peerId) => _departedAt.Remove(peerId);

    // Once per poll: forget departed peers' counters past their retention, and refresh LatestStats when due.
    private void MaintainStats()
    {
        var now = Stopwatch.GetTimestamp();
        while (_departures.TryPeek(out var d) && Stopwatch.GetElapsedTime(d.At, now) >= _departedPeerStatsRetention)
        {
            _departures.Dequeue();
            if (_departedAt.TryGetValue(d.Id, out var at) && at == d.At)
            {
                _departedAt.Remove(d.Id);
                _peerStats.Remove(d.Id);
            }
        }

        if (_latestStats is null || Stopwatch.GetElapsedTime(_latestStatsAt, now) >= _statsSnapshotInterval)
        {
            _latestStatsAt = now;
            Volatile.Write(ref _latestStats, GetStats());
        }
    }

    private TrafficCounters PeerCounters(int peerId)
    {
        if (!_peerStats.TryGetValue(peerId, out var c))
        {
            _peerStats[peerId] = c = new TrafficCounters();
        }

        return c;
    }

    private TrafficCounters NodeCounters(Node node)
    {
        if (ReferenceEquals(node.StatsSlotApi, this) && node.StatsSlotEpoch == _statsEpoch)
        {
            return node.StatsSlotCounters!;
        }

        var path = node.GetRelativePathFrom(_root);
        if (!_nodeStats.TryGetValue(path, out var c))
        {
            _nodeStats[path] = c = new TrafficCounters();
        }

        node.StatsSlotApi = this;
        node.StatsSlotEpoch = _statsEpoch;
        node.StatsSlotCounters = c;
        return c;
    }

    private void CountIn(int sender, int bytes)
    {
        _total.In(bytes);
        PeerCounters(sender).In(bytes);
    }

    private void CountIn(bool isSet, int sender, TrafficCounters node)
    {
        var peer = PeerCounters(sender);
        if (isSet)
        {
            _total.RsetIn++;
            peer.RsetIn++;
            node.RsetIn++;
        }
        else
        {
            _total.RpcIn++;
            peer.RpcIn++;
            node.RpcIn++;
        }
    }

    private void CountOut(int target, int bytes, TrafficCounters? node)
    {
        _total.Out(bytes);
        node?.Out(bytes);
        if (target > 0)
        {
            PeerCounters(target).Out(bytes);
            return;
        }

        for (var i = 0; i < _connectedPeers.Count; i++)
        {
            var p = _connectedPeers[i];
            if (IsSelected(p, target))
            {
                PeerCounters(p).Out(bytes);
            }
        }
    }

    private void CountCallOut(bool isSet, int target, TrafficCounters node)
    {
        if (isSet)
        {
            _total.RsetOut++;
            node.RsetOut++;
        }
        else
        {
            _total.RpcOut++;
            node.RpcOut++;
        }

        for (var i = 0; i < _connectedPeers.Count; i++)
        {
            var p = _connectedPeers[i];
            if (IsSelected(p, target))
            {
                var c = PeerCounters(p);
                if (isSet)
                {
                    c.RsetOut++;
                }
                else
                {
                    c.RpcOut++;
                }
            }
        }
    }

    private void CountRejection(RpcRejection rejection, Node? node)
    {
        var reason = (int)rejection.Reason;
        _total.Rejections[reason]++;
        PeerCounters(rejection.PeerId).Rejections[reason]++;
        if (node is not null)
        {
            NodeCounters(node).Rejections[reason]++;
        }
    }
}
