using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace GdNet.Enet.Tests;

/// <summary>The real <c>gdnet</c> program (GdNet.Cli.dll beside the tests) as a child process, its stdout collected by
/// line; killed on dispose.</summary>
public sealed class GdnetProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stderr = new();

    private GdnetProcess(Process process) => _process = process;

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static GdnetProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "GdNet.Cli.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = psi };
        var gdnet = new GdnetProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                gdnet._lines.Enqueue(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (gdnet._stderr)
            {
                gdnet._stderr.AppendLine(e.Data);
            }
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gdnet;
    }

    /// <summary>The first line starting with <paramref name="prefix"/>; throws if gdnet exits or the time runs out first.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } hit)
            {
                return hit;
            }

            if (_process.HasExited)
            {
                await Task.Delay(100);
                if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } late)
                {
                    return late;
                }

                throw new InvalidOperationException($"gdnet exited ({_process.ExitCode}) before printing '{prefix}'. {Describe()}");
            }

            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"No '{prefix}' line from gdnet within {timeout.TotalSeconds} s. {Describe()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until <paramref name="count"/> lines contain <paramref name="text"/>; false when the time runs out.</summary>
    public async Task<bool> WaitForLinesContainingAsync(string text, int count, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (_lines.Count(l => l.Contains(text, StringComparison.Ordinal)) < count)
        {
            if (sw.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public string Describe()
    {
        lock (_stderr)
        {
            return "gdnet stdout: [" + string.Join(" | ", _lines) + "] stderr: " + _stderr;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        catch (TimeoutException)
        {
            // best effort
        }

        _process.Dispose();
    }
}
