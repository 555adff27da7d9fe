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

    // One-entry caches: a peer usually talks to one remote peer at a time, so most counts skip the dictionary.
    private Counters? _lastIn;
    private Counters? _lastOut;

    private sealed class Counters(int id)
    {
        public readonly int Id = id;
        public volatile bool Forgotten;
        public long PacketsIn;
        public long BytesIn;
        public long PacketsOut;
        public long BytesOut;
    }

    private Counters For(int peerId, ref Counters? cache)
    {
        var c = Volatile.Read(ref cache);
        if (c is not null && c.Id == peerId && !c.Forgotten)
        {
            return c;
        }

        c = _perPeer.GetOrAdd(peerId, static id => new Counters(id));
        Volatile.Write(ref cache, c);
        return c;
    }

    /// <summary>Counts one packet received from <paramref name="peerId"/>. Any thread.</summary>
    public void CountIn(int peerId, int bytes)
    {
        var c = For(peerId, ref _lastIn);
        Interlocked.Increment(ref c.PacketsIn);
        Interlocked.Add(ref c.BytesIn, bytes);
    }

    /// <summary>Counts one packet sent to <paramref name="peerId"/> (0 broadcast, negative exclusion: as targeted). Any thread.</summary>
    public void CountOut(int peerId, int bytes)
    {
        var c = For(peerId, ref _lastOut);
        Interlocked.Increment(ref c.PacketsOut);
        Interlocked.Add(ref c.BytesOut, bytes);
    }

    /// <summary>Counts one refused packet. Any thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is not a <see cref="PacketRejectReason"/> member.</exception>
    public void CountRejection(PacketRejectReason reason)
    {
        if ((uint)reason >= (uint)_rejections.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "Not a PacketRejectReason member.");
        }

        Interlocked.Increment(ref _rejections[(int)reason]);
    }

    /// <summary>The number of packets refused for <paramref name="reason"/> so far.</summary>
    public long GetRejections(PacketRejectReason reason) => Interlocked.Read(ref _rejections[(int)reason]);

    /// <summary>Forgets the counters of one remote peer (e.g. after it left).</summary>
    public void Forget(int peerId)
    {
        if (_perPeer.TryRemove(peerId, out var c))
        {
            c.Forgotten = true;
        }
    }

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
