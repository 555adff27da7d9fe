namespace GdNet.Multiplayer;

public sealed partial class MultiplayerAPI
{
    private readonly TrafficCounters _total = new();
    private readonly Dictionary<int, TrafficCounters> _peerStats = [];
    private readonly Dictionary<string, TrafficCounters> _nodeStats = new(StringComparer.Ordinal);
    private int _statsEpoch;

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
        _nodeStats.Clear();
        _total.RpcIn = _total.RpcOut = _total.RsetIn = _total.RsetOut = _total.PacketsIn = _total.BytesIn = _total.PacketsOut = _total.BytesOut = 0;
        Array.Clear(_total.Rejections);
        _statsEpoch++;
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
