using System.Diagnostics;

namespace GdNet.Cluster.Tests;

/// <summary>Bounded polling for conditions that become true in the background (reconnects, expiries).</summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="because"/> after
    /// <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string because) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, because);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with <paramref name="because"/> after
    /// <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Not within {timeout.TotalSeconds:0.#} s: {because}");
            }

            await Task.Delay(Interval);
        }
    }
}
