using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace GdNet.WebSockets.Tests;

/// <summary>The real <c>gdnet</c> program (GdNet.Cli.dll beside the tests) as a child process, its stdout collected by line.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly System.Text.StringBuilder _stderr = new();

    private CliProcess(Process process) => _process = process;

    public IReadOnlyList<string> Lines => [.. _lines];

    public int Id => _process.Id;

    public static CliProcess Start(params string[] args)
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

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                cli._lines.Enqueue(line);
                cli._arrived.Release();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (cli._stderr)
                {
                    cli._stderr.AppendLine(line);
                }
            }
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var hit = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (hit is not null)
            {
                return hit;
            }

            if (_process.HasExited && _arrived.CurrentCount == 0)
            {
                throw new InvalidOperationException($"gdnet exited ({_process.ExitCode}) before printing '{prefix}'. {Describe()}");
            }

            try
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{prefix}' line from gdnet within {timeout.TotalSeconds} s. {Describe()}");
            }
        }
    }

    /// <summary>Sends SIGTERM (as a service manager would) and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
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
            return "stdout: [" + string.Join(" | ", _lines) + "] stderr: " + _stderr;
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
            // gone
        }
        catch (TimeoutException)
        {
            // best effort
        }

        _process.Dispose();
        _arrived.Dispose();
    }
}
