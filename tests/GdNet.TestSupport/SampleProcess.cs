using System.Diagnostics;

namespace GdNet.TestSupport;

/// <summary>
/// A sample program of <c>samples/</c> as a child process (<c>dotnet NAME.dll</c>): every stdout line collected, bounded
/// waits, signals, killed on dispose.
/// </summary>
public sealed class SampleProcess : IAsyncDisposable
{
    private readonly ChildProcess _child;

    private SampleProcess(ChildProcess child) => _child = child;

    /// <summary>Every stdout line so far, in order.</summary>
    public IReadOnlyList<string> Lines => _child.Lines;

    /// <summary>
    /// Starts the sample <paramref name="name"/> (e.g. <c>WebSocketBot</c>) with <paramref name="args"/>, from its own
    /// output folder (<c>samples/NAME/bin/CONFIGURATION/TFM/</c>, the tests' configuration and framework), where its
    /// dependencies are as <c>dotnet run</c> would have them.
    /// </summary>
    public static SampleProcess Start(string name, params string[] args)
    {
        // The tests run from tests/PROJECT/bin/CONFIGURATION/TFM/: the sample was built beside, in the same configuration.
        var output = new DirectoryInfo(AppContext.BaseDirectory);
        var tail = Path.Combine(output.Parent!.Parent!.Name, output.Parent.Name, output.Name);
        var dll = Path.Combine(Paths.RepoRoot, "samples", name, tail, name + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: the test project needs a ProjectReference to samples/{name}/{name}.csproj (ReferenceOutputAssembly false is enough) so it is built first.", dll);
        }

        // Through a tiny exec wrapper that sets SIGINT back to its default: a test run started in the background by a
        // non-interactive shell ignores SIGINT, children inherit that, and the sample's Ctrl+C handler would never run.
        // exec keeps the process id, so the signal the test sends reaches the sample itself.
        var psi = new ProcessStartInfo("python3");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return new SampleProcess(ChildProcess.Start(psi, name, _ => true));
    }

    /// <summary>The first line starting with <paramref name="prefix"/>; throws if it exits or the time runs out first.</summary>
    public Task<string> WaitForLineAsync(string prefix, TimeSpan timeout) => _child.WaitForLineAsync(prefix, timeout);

    /// <summary>Waits for it to exit and returns its exit code; throws <see cref="TimeoutException"/> when it does not.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _child.WaitForExitAsync(timeout);

    /// <summary>Sends <paramref name="signal"/> (INT is Ctrl+C) and waits for the exit code.</summary>
    public async Task<int> StopAsync(string signal, TimeSpan timeout)
    {
        await _child.SendSignalAsync(signal, timeout);
        return await _child.WaitForExitAsync(timeout);
    }

    /// <summary>Everything collected, for assertion messages.</summary>
    public string Describe() => _child.Describe();

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}
