using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GdNet.TestSupport;

/// <summary>
/// The plumbing shared by <see cref="GodotPeerProcess"/> and <see cref="GdnetCliProcess"/>: a child process whose
/// stdout lines (those <c>keep</c> accepts) and stderr (bounded) are collected, with bounded waits for a line or the
/// exit, signals, and the whole process tree killed on dispose.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int StderrLimit = 64 * 1024;

    private readonly Process _process;
    private readonly string _displayName;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process, string displayName)
    {
        _process = process;
        _displayName = displayName;
    }

    public IReadOnlyList<string> Lines => [.. _lines];

    public int Id => _process.Id;

    /// <summary>True once the process has exited and its output has been collected.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

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

    /// <summary>Starts <paramref name="psi"/> (its redirections are set here) with stdin closed.</summary>
    public static ChildProcess Start(ProcessStartInfo psi, string displayName, Func<string, bool> keep)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(process, displayName);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && keep(line))
            {
                child._lines.Enqueue(line);
                child.Signal();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (child._stderr)
                {
                    if (child._stderr.Length < StderrLimit)
                    {
                        child._stderr.AppendLine(line);
                    }
                }
            }
        };
        process.Exited += (_, _) =>
        {
            try
            {
                // Let the async readers drain before reporting the exit.
                process.WaitForExit();
                child._exited.TrySetResult(process.ExitCode);
                child.Signal();
            }
            catch (InvalidOperationException)
            {
                // disposed meanwhile
            }
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The first collected line starting with <paramref name="prefix"/>; throws if the process exits or the
    /// time runs out first.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var exited = _exited.Task.IsCompleted;
            if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } hit)
            {
                return hit;
            }

            if (exited)
            {
                // Every line was collected before the exit was reported.
                throw new InvalidOperationException($"{_displayName} exited ({_exited.Task.Result}) before printing '{prefix}'.\n{Describe()}");
            }

            try
            {
                // A bounded wait, so concurrent waiters sharing the semaphore all see every line.
                await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(200), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{prefix}' line from {_displayName} within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> collected lines contain <paramref name="text"/>; false when the
    /// time runs out.</summary>
    public async Task<bool> WaitForLinesContainingAsync(string text, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (_lines.Count(l => l.Contains(text, StringComparison.Ordinal)) < count)
        {
            try
            {
                await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(200), cts.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var done = await Task.WhenAny(_exited.Task, Task.Delay(timeout));
        if (done != _exited.Task)
        {
            throw new TimeoutException($"{_displayName} did not exit within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
        }

        return await _exited.Task;
    }

    /// <summary>Sends <paramref name="signal"/> (a <c>kill</c> name such as TERM or INT) to the process.</summary>
    public async Task SendSignalAsync(string signal, TimeSpan timeout)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().WaitAsync(timeout);
    }

    /// <summary>Everything collected, for assertion messages.</summary>
    public string Describe() => $"{_displayName} stdout lines:\n  " + string.Join("\n  ", _lines) + "\nstderr (tail):\n" + Tail(Stderr, 3000);

    private static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];

    private void Signal()
    {
        try
        {
            _lineArrived.Release();
        }
        catch (ObjectDisposedException)
        {
            // output or exit reported after dispose
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
        _lineArrived.Dispose();
    }
}
