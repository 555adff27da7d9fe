using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GdNet.TestSupport;

/// <summary>
/// A real Godot 3.2.3 peer from <c>../shared/godot3/peers</c>, started through <c>run-peer.sh</c> under a hard timeout.
/// Collects the keyword lines it prints on stdout (READY, EVENT, RPC_RECEIVED, CHECK, DONE…) and kills the whole
/// process tree on dispose.
/// </summary>
public sealed class GodotPeerProcess : IAsyncDisposable
{
    private static readonly string[] Keywords =
        ["READY", "EVENT", "RPC_RECEIVED", "RSET_RECEIVED", "RAW_RECEIVED", "STEP", "CHECK", "CLIENT_DONE", "TIMEOUT", "DONE", "RESULT"];

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GodotPeerProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Every keyword line so far, in order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>What the process wrote on stderr (bounded), for failure messages.</summary>
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

    /// <summary>
    /// Starts peer <paramref name="name"/> (ws-server, ws-client, enet-server, enet-client, throughput) with
    /// <c>--key=value</c> arguments. <paramref name="hardTimeout"/> is run-peer.sh's limit.
    /// </summary>
    public static GodotPeerProcess Start(string name, TimeSpan hardTimeout, params string[] args)
    {
        var script = Paths.SharedFile("godot3/run-peer.sh");
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(name);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["RUN_PEER_TIMEOUT"] = ((int)Math.Ceiling(hardTimeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var peer = new GodotPeerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Keywords.Any(k => line.StartsWith(k + " ", StringComparison.Ordinal) || line == k))
            {
                peer._lines.Enqueue(line);
                peer._lineArrived.Release();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (peer._stderr)
                {
                    if (peer._stderr.Length < 64 * 1024)
                    {
                        peer._stderr.AppendLine(line);
                    }
                }
            }
        };
        process.Exited += (_, _) =>
        {
            // Let the async readers drain before reporting the exit.
            process.WaitForExit();
            peer._exited.TrySetResult(process.ExitCode);
            peer._lineArrived.Release();
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Waits until a keyword line starting with <paramref name="prefix"/> appears; returns it.</summary>
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

            if (_exited.Task.IsCompleted && !_lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"The Godot peer exited ({_exited.Task.Result}) before printing '{prefix}'.\n{Describe()}");
            }

            try
            {
                await _lineArrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No '{prefix}' line from the Godot peer within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
            }
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var done = await Task.WhenAny(_exited.Task, Task.Delay(timeout));
        if (done != _exited.Task)
        {
            throw new TimeoutException($"The Godot peer did not exit within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
        }

        return await _exited.Task;
    }

    /// <summary>The last keyword line that starts with DONE, or null.</summary>
    public string? DoneLine => _lines.LastOrDefault(l => l.StartsWith("DONE", StringComparison.Ordinal));

    /// <summary>Everything collected, for assertion messages.</summary>
    public string Describe() => "stdout keyword lines:\n  " + string.Join("\n  ", _lines) + "\nstderr (tail):\n" + Tail(Stderr, 3000);

    private static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];

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

    /// <summary>A loopback port free for both TCP and UDP right now.</summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // taken for UDP; try another
            }
        }

        throw new InvalidOperationException("No free loopback port found.");
    }
}
