namespace GdNet;

/// <summary>
/// Keeps a log readable under a flood: at most <see cref="LinesPerSecond"/> lines pass in each one-second window, the
/// rest are counted, and the first line of the next window can say how many were left out. Callers keep their exact
/// counters elsewhere; this only decides which lines are written. Thread-safe, allocation-free.
/// </summary>
/// <example>
/// <code>
/// if (limiter.TryTake(out var skipped))
/// {
///     if (skipped > 0) logger.LogInformation("{Count} similar lines were left out", skipped);
///     logger.LogWarning("...");
/// }
/// </code>
/// </example>
public sealed class LogRateLimiter
{
    /// <summary>The default: ten lines a second.</summary>
    public const int DefaultLinesPerSecond = 10;

    private readonly Lock _gate = new();
    private long _window = long.MinValue;
    private int _inWindow;
    private long _suppressed;

    /// <summary>Creates a limiter that lets <paramref name="linesPerSecond"/> lines through each second.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="linesPerSecond"/> is below 1.</exception>
    public LogRateLimiter(int linesPerSecond = DefaultLinesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerSecond, 1);
        LinesPerSecond = linesPerSecond;
    }

    /// <summary>Lines let through in one second.</summary>
    public int LinesPerSecond { get; }

    /// <summary>Lines left out so far (all windows).</summary>
    public long TotalSuppressed { get; private set; }

    /// <summary>
    /// True when a line may be written now. <paramref name="suppressedBefore"/> is the number of lines left out since the
    /// last line written, to report once (it is handed out only once).
    /// </summary>
    public bool TryTake(out long suppressedBefore)
    {
        var second = Environment.TickCount64 / 1000;
        lock (_gate)
        {
            if (second != _window)
            {
                _window = second;
                _inWindow = 0;
            }

            if (_inWindow < LinesPerSecond)
            {
                _inWindow++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            TotalSuppressed++;
            suppressedBefore = 0;
            return false;
        }
    }
}
