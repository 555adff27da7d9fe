namespace GdNet.TestSupport;

/// <summary>
/// The faults a chaos proxy (<see cref="ChaosUdpProxy"/>, <see cref="ChaosTcpProxy"/>) applies in one direction (client to
/// server, or server to client). Every property may be changed at any time, from any thread; the proxy reads it for each
/// datagram or chunk it handles next. All zero (the default): bytes go through untouched, at once.
/// </summary>
public sealed class ChaosOptions
{
    private long _latencyTicks;
    private long _jitterTicks;
    private double _loss;
    private int _dropEvery;
    private double _duplication;
    private double _reordering;
    private long _bytesPerSecond;
    private volatile bool _paused;
    private long _cutAfterBytes = -1;

    /// <summary>Delay added to every datagram or chunk before it is passed on.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _latencyTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Volatile.Write(ref _latencyTicks, value.Ticks);
        }
    }

    /// <summary>
    /// Up to this much more or less delay, uniform, drawn per datagram or chunk (the delay never goes below zero). Over
    /// UDP jitter larger than the gap between datagrams reorders them (counted in <see cref="ChaosCounters.Reordered"/>);
    /// over TCP the stream keeps its order (a chunk never leaves before the one read before it).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan Jitter
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _jitterTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Volatile.Write(ref _jitterTicks, value.Ticks);
        }
    }

    /// <summary>UDP: the share of datagrams dropped, 0 to 1, drawn from the proxy's seeded random.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 0–1.</exception>
    public double Loss
    {
        get => Volatile.Read(ref _loss);
        set => Volatile.Write(ref _loss, Share(value));
    }

    /// <summary>
    /// UDP: drops one datagram in every n read in this direction (0, the default: none), besides <see cref="Loss"/>: an
    /// exact loss rate for short exchanges where a random one might drop nothing. The middle one of each run of n goes, so
    /// the first drop comes early (20 is 5 %: the 10th, 30th, 50th… datagram).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, or 1 (everything: use <see cref="Loss"/> = 1).</exception>
    public int DropEvery
    {
        get => Volatile.Read(ref _dropEvery);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfEqual(value, 1);
            Volatile.Write(ref _dropEvery, value);
        }
    }

    /// <summary>UDP: the share of (not dropped) datagrams sent twice, 0 to 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 0–1.</exception>
    public double Duplication
    {
        get => Volatile.Read(ref _duplication);
        set => Volatile.Write(ref _duplication, Share(value));
    }

    /// <summary>
    /// UDP: the share of datagrams held back and sent just after the next datagram in the same direction (a swap), 0 to 1.
    /// A held datagram that no other follows within <see cref="ReorderHold"/> goes alone (not counted as reordered).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 0–1.</exception>
    public double Reordering
    {
        get => Volatile.Read(ref _reordering);
        set => Volatile.Write(ref _reordering, Share(value));
    }

    /// <summary>How long a datagram picked for reordering waits for a follower at most (20 ms).</summary>
    public static TimeSpan ReorderHold { get; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// A bandwidth cap in bytes per second (0: none): each datagram or chunk leaves no earlier than the previous one plus
    /// its size at this rate, so a burst queues in the proxy (UDP) or slows the sender through TCP's back-pressure.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long BytesPerSecond
    {
        get => Volatile.Read(ref _bytesPerSecond);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _bytesPerSecond, value);
        }
    }

    /// <summary>
    /// TCP: half-open. While set, the proxy stops reading from this direction's source, so the source's socket buffers
    /// fill and its writes eventually block (a server writing to a client that never reads). Clearing it resumes.
    /// </summary>
    public bool Paused
    {
        get => _paused;
        set => _paused = value;
    }

    /// <summary>
    /// TCP: a mid-stream cut. Once a connection has passed this many bytes in this direction (counted from the connection's
    /// start), the proxy passes exactly up to that byte and then closes both sides of that connection (FIN), wherever a
    /// frame boundary lies. Null (the default): never.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long? CutAfterBytes
    {
        get => Volatile.Read(ref _cutAfterBytes) is var v && v >= 0 ? v : null;
        set
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(v);
            }

            Volatile.Write(ref _cutAfterBytes, value ?? -1);
        }
    }

    /// <summary>Sets latency and jitter at once.</summary>
    /// <returns>This, for chaining.</returns>
    public ChaosOptions Delay(TimeSpan latency, TimeSpan jitter = default)
    {
        Latency = latency;
        Jitter = jitter;
        return this;
    }

    /// <summary>Clears every fault (and resumes a paused direction).</summary>
    public void Clear()
    {
        Latency = TimeSpan.Zero;
        Jitter = TimeSpan.Zero;
        Loss = 0;
        DropEvery = 0;
        Duplication = 0;
        Reordering = 0;
        BytesPerSecond = 0;
        Paused = false;
        CutAfterBytes = null;
    }

    /// <summary>Whether a datagram may be passed on at once: no delay, no cap, no reordering.</summary>
    internal bool Immediate =>
        Volatile.Read(ref _latencyTicks) == 0 && Volatile.Read(ref _jitterTicks) == 0 && Volatile.Read(ref _bytesPerSecond) == 0
        && Volatile.Read(ref _reordering) == 0;

    private static double Share(double value)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A share is between 0 and 1.");
        }

        return value;
    }
}

/// <summary>What a chaos proxy did in one direction, so a test can assert that a fault really happened. Any thread.</summary>
public sealed class ChaosCounters
{
    private long _received;
    private long _forwarded;
    private long _bytes;
    private long _dropped;
    private long _duplicated;
    private long _reordered;
    private long _delayed;
    private long _cuts;

    /// <summary>Datagrams (UDP) or chunks (TCP) the proxy read from this direction's source.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Datagrams or chunks passed on (duplicates included).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Bytes passed on (duplicates included).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>UDP: datagrams dropped (<see cref="ChaosOptions.Loss"/>, <see cref="ChaosOptions.DropEvery"/>).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>UDP: datagrams sent twice (<see cref="ChaosOptions.Duplication"/>).</summary>
    public long Duplicated => Interlocked.Read(ref _duplicated);

    /// <summary>UDP: datagrams that left after one read later than them (a swap, or jitter).</summary>
    public long Reordered => Interlocked.Read(ref _reordered);

    /// <summary>Datagrams or chunks held back by latency, jitter or the bandwidth cap before they left.</summary>
    public long Delayed => Interlocked.Read(ref _delayed);

    /// <summary>TCP: connections cut by <see cref="ChaosOptions.CutAfterBytes"/> in this direction.</summary>
    public long Cuts => Interlocked.Read(ref _cuts);

    /// <inheritdoc/>
    public override string ToString() =>
        $"received {Received}, forwarded {Forwarded} ({Bytes} bytes), dropped {Dropped}, duplicated {Duplicated}, reordered {Reordered}, delayed {Delayed}, cuts {Cuts}";

    internal long CountReceived() => Interlocked.Increment(ref _received);

    internal void CountForwarded(int bytes)
    {
        Interlocked.Increment(ref _forwarded);
        Interlocked.Add(ref _bytes, bytes);
    }

    internal void CountDropped() => Interlocked.Increment(ref _dropped);

    internal void CountDuplicated() => Interlocked.Increment(ref _duplicated);

    internal void CountReordered() => Interlocked.Increment(ref _reordered);

    internal void CountDelayed() => Interlocked.Increment(ref _delayed);

    internal void CountCut() => Interlocked.Increment(ref _cuts);
}
