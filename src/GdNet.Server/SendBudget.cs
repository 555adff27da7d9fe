namespace GdNet.Server;

/// <summary>
/// The server-wide budget of bytes queued for sending (<see cref="RelayOptions.MaxQueuedBytesTotal"/>). Transports charge
/// what they queue and release what they have written; the router stops relaying while it is exhausted. Thread-safe.
/// </summary>
public sealed class SendBudget
{
    private readonly Func<long> _limit;
    private long _queued;
    private long _written;
    private TaskCompletionSource? _waiters;

    internal SendBudget(Func<long> limit) => _limit = limit;

    /// <summary>Bytes queued now over all connections.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queued);

    /// <summary>Bytes released since the start (written, or dropped with their connection): grows while sending makes progress.</summary>
    public long ReleasedBytes => Interlocked.Read(ref _written);

    /// <summary>The budget.</summary>
    public long Limit => _limit();

    /// <summary>Whether the queued bytes reached the budget (relaying waits until they fall below it).</summary>
    public bool IsExhausted => Interlocked.Read(ref _queued) >= _limit();

    /// <summary>Counts <paramref name="bytes"/> just queued. Any thread.</summary>
    public void Charge(long bytes) => Interlocked.Add(ref _queued, bytes);

    /// <summary>Counts <paramref name="bytes"/> written (or dropped with their connection). Any thread.</summary>
    public void Release(long bytes)
    {
        Interlocked.Add(ref _written, bytes);
        var now = Interlocked.Add(ref _queued, -bytes);
        if (now < _limit() && Volatile.Read(ref _waiters) is not null)
        {
            Interlocked.Exchange(ref _waiters, null)?.TrySetResult();
        }
    }

    /// <summary>Completes when the budget is no longer exhausted (at once if it is not).</summary>
    public Task WhenAvailableAsync()
    {
        if (!IsExhausted)
        {
            return Task.CompletedTask;
        }

        var tcs = Volatile.Read(ref _waiters);
        if (tcs is null)
        {
            var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs = Interlocked.CompareExchange(ref _waiters, fresh, null) ?? fresh;
        }

        if (!IsExhausted)
        {
            tcs.TrySetResult();
        }

        return tcs.Task;
    }
}
