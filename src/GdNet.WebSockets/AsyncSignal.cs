using System.Threading.Tasks.Sources;

namespace GdNet.WebSockets;

/// <summary>
/// A one-waiter, allocation-free wake-up for a loop: the loop awaits <see cref="WaitAsync"/> after recording (under its
/// own lock) that it is waiting; a producer that finds that record clears it and calls <see cref="Set"/> once. Exactly one
/// <see cref="Set"/> per <see cref="WaitAsync"/>; continuations run on the thread pool, never inline in the producer.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    public ValueTask WaitAsync() => new(this, _core.Version);

    public void Set() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token)
    {
        _core.GetResult(token);
        _core.Reset();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
