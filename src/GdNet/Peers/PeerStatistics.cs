using System.Collections.Concurrent;

namespace GdNet.Peers;

/// <summary>
/// Thread-safe traffic counters of one network peer: packets and bytes in and out per remote peer, and refused packets by
/// reason. Any thread may update; <see cref="Snapshot"/> gives a consistent-enough copy for display.
/// </summary>
public sealed class PeerStatistics
{
    private readonly ConcurrentDictionary<int, Counters> _perPeer = new();
    private readonly long[] _rejections = new long[Enum.GetValues<PacketRejectReason>().Length];

    private sealed class Counters
    {
        public long PacketsIn;
        public long BytesIn;
        public long PacketsOut;
        public long BytesOut;
    }

    private Counters For(int peerId) => _perPeer.GetOrAdd(peerId, static _ => new Counters());

    /// <summary>Counts one packet received from <paramref name="peerId"/>.</summary>
    public void CountIn(int peerId, int bytes)
    {
        var c = For(peerId);
        Interlocked.Increment(ref c.PacketsIn);
        Interlocked.Add(ref c.BytesIn, bytes);
    }

    /// <summary>Counts one packet sent to <paramref name="peerId"/> (0 broadcast, negative exclusion: as targeted).</summary>
    public void CountOut(int peerId, int bytes)
    {
        var c = For(peerId);
        Interlocked.Increment(ref c.PacketsOut);
        Interlocked.Add(ref c.BytesOut, bytes);
    }

    /// <summary>Counts one refused packet.</summary>
    public void CountRejection(PacketRejectReason reason) => Interlocked.Increment(ref _rejections[(int)reason]);

    /// <summary>The number of packets refused for <paramref name="reason"/> so far.</summary>
    public long GetRejections(PacketRejectReason reason) => Interlocked.Read(ref _rejections[(int)reason]);

    /// <summary>Forgets the counters of one remote peer (e.g. after it left).</summary>
    public void Forget(int peerId) => _perPeer.TryRemove(peerId, out _);

    /// <summary>A copy of every counter.</summary>
    public PeerStatsSnapshot Snapshot()
    {
        var peers = new SortedDictionary<int, PeerTraffic>();
        foreach (var (id, c) in _perPeer)
        {
            peers[id] = new PeerTraffic(Interlocked.Read(ref c.PacketsIn), Interlocked.Read(ref c.BytesIn),
                Interlocked.Read(ref c.PacketsOut), Interlocked.Read(ref c.BytesOut));
        }

        var rejections = new Dictionary<PacketRejectReason, long>();
        foreach (var reason in Enum.GetValues<PacketRejectReason>())
        {
            var n = GetRejections(reason);
            if (n != 0)
            {
                rejections[reason] = n;
            }
        }

        return new PeerStatsSnapshot(peers, rejections);
    }
}

/// <summary>Traffic with one remote peer (or target).</summary>
public readonly record struct PeerTraffic(long PacketsIn, long BytesIn, long PacketsOut, long BytesOut);

/// <summary>A copy of a peer's counters.</summary>
public sealed record PeerStatsSnapshot(IReadOnlyDictionary<int, PeerTraffic> Peers, IReadOnlyDictionary<PacketRejectReason, long> Rejections)
{
    public long PacketsIn => Peers.Values.Sum(p => p.PacketsIn);

    public long BytesIn => Peers.Values.Sum(p => p.BytesIn);

    public long PacketsOut => Peers.Values.Sum(p => p.PacketsOut);

    public long BytesOut => Peers.Values.Sum(p => p.BytesOut);

    public long TotalRejections => Rejections.Values.Sum();
}
