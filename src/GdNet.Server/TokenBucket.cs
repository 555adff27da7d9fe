namespace GdNet.Server;

/// <summary>
/// A token bucket: <see cref="Rate"/> tokens a second up to <see cref="Burst"/>. Not thread-safe: one owner (a
/// connection's receive loop) takes from it.
/// </summary>
internal sealed class TokenBucket(double rate, double burst, TimeProvider time)
{
    private readonly TimeProvider _time = time;
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    public double Rate { get; } = rate;

    public double Burst { get; } = burst;

    /// <summary>Takes <paramref name="cost"/> tokens if there are that many; false (nothing taken) otherwise.</summary>
    public bool TryTake(double cost, long now)
    {
        var elapsed = _time.GetElapsedTime(_last, now).TotalSeconds;
        if (elapsed > 0)
        {
            _tokens = Math.Min(Burst, _tokens + (elapsed * Rate));
            _last = now;
        }

        if (_tokens < cost)
        {
            return false;
        }

        _tokens -= cost;
        return true;
    }

    /// <summary>Gives back what a packet that will be retried took.</summary>
    public void Refund(double cost) => _tokens = Math.Min(Burst, _tokens + cost);
}
