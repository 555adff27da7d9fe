using System.Diagnostics;

namespace GdNet.TestSupport;

/// <summary>
/// The real <c>gdnet</c> program (GdNet.Cli.dll beside the tests) as a child process: every stdout line and stderr
/// (bounded) collected, bounded waits for a line or the exit, SIGTERM, and the whole process tree killed on dispose.
/// </summary>
public sealed class GdnetCliProcess : IAsyncDisposable
{
    private readonly ChildProcess _child;

    private GdnetCliProcess(ChildProcess child) => _child = child;

    /// <summary>Every stdout line so far, in order.</summary>
    public IReadOnlyList<string> Lines => _child.Lines;

    /// <summary>What gdnet wrote on stderr (bounded).</summary>
    public string Stderr => _child.Stderr;

    public int Id => _child.Id;

    /// <summary>Starts <c>dotnet GdNet.Cli.dll</c> with <paramref name="args"/>.</summary>
    public static GdnetCliProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "GdNet.Cli.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return new GdnetCliProcess(ChildProcess.Start(psi, "gdnet", _ => true));
    }

    /// <summary>The first line starting with <paramref name="prefix"/>; throws if gdnet exits or the time runs out first.</summary>
    public Task<string> WaitForLineAsync(string prefix, TimeSpan timeout) => _child.WaitForLineAsync(prefix, timeout);

    /// <summary>Waits until <paramref name="count"/> lines contain <paramref name="text"/>; false when the time runs out.</summary>
    public Task<bool> WaitForLinesContainingAsync(string text, int count, TimeSpan timeout) => _child.WaitForLinesContainingAsync(text, count, timeout);

    /// <summary>Waits for gdnet to exit and returns its exit code; throws <see cref="TimeoutException"/> when it does not.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _child.WaitForExitAsync(timeout);

    /// <summary>Sends SIGTERM (as a service manager would) and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        await _child.SendSignalAsync("TERM", timeout);
        return await _child.WaitForExitAsync(timeout);
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, INT…) without waiting for the exit.</summary>
    public Task SignalAsync(string signal, TimeSpan timeout) => _child.SendSignalAsync(signal, timeout);

    /// <summary>Everything collected, for assertion messages.</summary>
    public string Describe() => _child.Describe();

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}
