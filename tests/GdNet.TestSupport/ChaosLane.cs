using System.Diagnostics;

namespace GdNet.TestSupport;

/// <summary>
/// One direction of a chaos proxy: its options, its counters, its seeded random and its timing (latency, jitter, the
/// bandwidth cap's next free moment). Times are <see cref="Stopwatch"/> timestamps. Thread-safe.
/// </summary>
internal sealed class ChaosLane(ChaosOptions options, ChaosCounters counters, int seed)
{
    private readonly Lock _gate = new();
    private readonly Random _random = new(seed);
    private long _linkFree;

    public ChaosOptions Options { get; } = options;

    public ChaosCounters Counters { get; } = counters;

    public static long Now => Stopwatch.GetTimestamp();

    public static long ToTimestamp(TimeSpan span) => (long)(span.Ticks * (Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond));

    public static TimeSpan ToSpan(long timestamps) => TimeSpan.FromTicks((long)(timestamps * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));

    /// <summary>True with probability <paramref name="share"/> (0 never draws, so a zero share leaves the sequence alone).</summary>
    public bool Chance(double share)
    {
        if (share <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            return _random.NextDouble() < share;
        }
    }

    /// <summary>
    /// When <paramref name="length"/> bytes read at <paramref name="now"/> may leave: after the latency ± jitter, not before
    /// <paramref name="notBefore"/> (a stream's order), and after the bytes before them at the bandwidth cap.
    /// </summary>
    public long Departure(int length, long now, long notBefore = long.MinValue)
    {
        var o = Options;
        var latency = ToTimestamp(o.Latency);
        var jitter = ToTimestamp(o.Jitter);
        var bps = o.BytesPerSecond;
        lock (_gate)
        {
            var delay = latency;
            if (jitter > 0)
            {
                delay += (long)((_random.NextDouble() * 2 - 1) * jitter);
            }

            var due = Math.Max(now + Math.Max(delay, 0), notBefore);
            if (bps > 0)
            {
                due = Math.Max(due, _linkFree);
                _linkFree = due + (long)(length * (double)Stopwatch.Frequency / bps);
            }

            return due;
        }
    }
}
