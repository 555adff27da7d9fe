using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace GdNet.Cli.Commands;

/// <summary>One <c>RESULT</c> line of the Godot 3.2.3 throughput probe (shared/godot3/peers/throughput).</summary>
internal sealed record GodotProbeResult(string Mode, string Transport, long Sent, long Received, long RpcPerSecond, double Seconds)
{
    public long Lost => Sent - Received;

    /// <summary>Reads <c>RESULT mode=... transport=... sent=K received=R ... rpc_per_s=N ... seconds=S</c>; null for any other line.</summary>
    public static GodotProbeResult? TryParse(string line)
    {
        if (!line.StartsWith("RESULT ", StringComparison.Ordinal))
        {
            return null;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[part[..eq]] = part[(eq + 1)..];
            }
        }

        return fields.TryGetValue("mode", out var mode)
            && fields.TryGetValue("transport", out var transport)
            && TryLong(fields, "sent", out var sent)
            && TryLong(fields, "received", out var received)
            && TryLong(fields, "rpc_per_s", out var rate)
            && fields.TryGetValue("seconds", out var s)
            && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? new GodotProbeResult(mode, transport, sent, received, rate, seconds)
            : null;
    }

    private static bool TryLong(Dictionary<string, string> fields, string key, out long value)
    {
        value = 0;
        return fields.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>The two RESULT lines of one probe run (the server's report).</summary>
internal sealed record GodotProbeRun(GodotProbeResult Reliable, GodotProbeResult? Unreliable);

/// <summary>The probe's settings: <c>--count --batch --payload</c> of run-peer.sh throughput.</summary>
internal sealed record GodotProbeSettings(string Transport, int Count, int Batch, int Payload, TimeSpan Timeout)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"--count={Count} --batch={Batch} --payload={Payload}");
}

/// <summary>
/// Runs the real Godot 3.2.3 throughput probe (a server and a client process through shared/godot3/run-peer.sh on a free
/// 127.0.0.1 port) and reads the server's <c>RESULT</c> lines, so that GdNet's figure can be given as a ratio against
/// Godot measured in the same run on the same machine.
/// </summary>
internal static class GodotProbe
{
    /// <summary>The repository root: the first folder holding GdNet.slnx above the executable, else above (or at) the current directory.</summary>
    public static string FindRepoRoot() =>
        FindAbove(AppContext.BaseDirectory) ?? FindAbove(Environment.CurrentDirectory) ?? Environment.CurrentDirectory;

    /// <summary>The shared fixtures folder: <paramref name="overrideDir"/>, else <c>$GDNET_SHARED</c>, else <c>&lt;repo&gt;/../shared</c>.</summary>
    public static string SharedFolder(string? overrideDir)
    {
        if (!string.IsNullOrEmpty(overrideDir))
        {
            return Path.GetFullPath(overrideDir);
        }

        var env = Environment.GetEnvironmentVariable("GDNET_SHARED");
        return string.IsNullOrEmpty(env) ? Path.GetFullPath(Path.Combine(FindRepoRoot(), "..", "shared")) : Path.GetFullPath(env);
    }

    /// <summary>The Godot binary run-peer.sh will use (<c>$GODOT</c>, else godot3-server on PATH), or null when there is none.</summary>
    public static string? FindGodot()
    {
        var env = Environment.GetEnvironmentVariable("GODOT");
        if (!string.IsNullOrEmpty(env))
        {
            return File.Exists(env) ? env : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "godot3-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// One probe run. Throws <see cref="InvalidOperationException"/> with a readable reason (and the peers' last output)
    /// when Godot fails or does not finish within <see cref="GodotProbeSettings.Timeout"/>; both processes are killed
    /// (with their children) whatever happens.
    /// </summary>
    public static async Task<GodotProbeRun> RunOnceAsync(string runPeerScript, GodotProbeSettings settings, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(settings.Timeout);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var run = await TryRunAsync(runPeerScript, settings, FreePort(), timeout.Token).ConfigureAwait(false);
                if (run is not null)
                {
                    return run;
                }

                if (attempt == 3)
                {
                    throw new InvalidOperationException("the Godot probe server could not listen on a free 127.0.0.1 port (3 tries)");
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"the Godot probe ({settings.Transport}) did not finish within {settings.Timeout.TotalSeconds:0} s"));
        }
    }

    /// <summary>Null when the server could not listen on <paramref name="port"/> (taken meanwhile): try another.</summary>
    private static async Task<GodotProbeRun?> TryRunAsync(string script, GodotProbeSettings settings, int port, CancellationToken ct)
    {
        string[] common =
        [
            "--transport=" + settings.Transport,
            string.Create(CultureInfo.InvariantCulture, $"--port={port}"),
            string.Create(CultureInfo.InvariantCulture, $"--count={settings.Count}"),
            string.Create(CultureInfo.InvariantCulture, $"--batch={settings.Batch}"),
            string.Create(CultureInfo.InvariantCulture, $"--payload={settings.Payload}"),
            string.Create(CultureInfo.InvariantCulture, $"--timeout={Math.Ceiling(settings.Timeout.TotalSeconds)}"),
        ];
        await using var server = PeerProcess.Start(script, settings.Timeout, ["throughput", "--role=server", .. common]);
        var ready = await server.ReadUntilAsync(l => l.StartsWith("READY", StringComparison.Ordinal) || l.StartsWith("DONE", StringComparison.Ordinal), ct).ConfigureAwait(false);
        if (ready is not null && ready.StartsWith("DONE fail setup_error", StringComparison.Ordinal))
        {
            return null;
        }

        if (ready is null || !ready.StartsWith("READY", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("the Godot probe server did not start: " + server.Describe());
        }

        await using var client = PeerProcess.Start(script, settings.Timeout, ["throughput", "--role=client", .. common]);
        GodotProbeResult? reliable = null;
        GodotProbeResult? unreliable = null;
        while (reliable is null)
        {
            var line = await server.ReadUntilAsync(l => l.StartsWith("RESULT", StringComparison.Ordinal) || l.StartsWith("DONE", StringComparison.Ordinal), ct).ConfigureAwait(false);
            var result = line is null ? null : GodotProbeResult.TryParse(line);
            if (result is null)
            {
                throw new InvalidOperationException("the Godot probe ended without a reliable RESULT line: server " + server.Describe() + "; client " + client.Describe());
            }

            if (result.Mode == "reliable")
            {
                reliable = result;
            }
            else
            {
                unreliable = result;
            }
        }

        // Both sides quit by themselves after the reliable report; give them a moment, then the disposals kill what is left.
        await Task.WhenAll(server.WaitForExitAsync(TimeSpan.FromSeconds(3), ct), client.WaitForExitAsync(TimeSpan.FromSeconds(3), ct)).ConfigureAwait(false);
        return new GodotProbeRun(reliable, unreliable);
    }

    /// <summary>A 127.0.0.1 port free for both TCP (WebSocket) and UDP (ENet) at the time of asking.</summary>
    private static int FreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 50)
            {
                // UDP side taken: ask again
            }
        }
    }

    private static string? FindAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GdNet.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary><c>bash run-peer.sh ...</c> with its stdout as a queue of lines and the tail of its stderr; killed with its children on dispose.</summary>
    private sealed class PeerProcess : IAsyncDisposable
    {
        private const int Tail = 15;

        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly Queue<string> _seen = new();
        private readonly Queue<string> _stderr = new();
        private readonly Task _pumps;

        private PeerProcess(Process process)
        {
            _process = process;
            _pumps = Task.WhenAll(PumpStdoutAsync(), PumpStderrAsync());
        }

        public static PeerProcess Start(string script, TimeSpan timeout, string[] args)
        {
            var psi = new ProcessStartInfo("bash")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(script);
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            // run-peer.sh's own hard limit, a little after ours; never apt-get from here (we checked for Godot first).
            psi.Environment["RUN_PEER_TIMEOUT"] = Math.Ceiling(timeout.TotalSeconds + 10).ToString(CultureInfo.InvariantCulture);
            psi.Environment["RUN_PEER_NO_INSTALL"] = "1";
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start bash " + script);
            process.StandardInput.Close();
            return new PeerProcess(process);
        }

        /// <summary>The next stdout line that matches, or null when stdout ended first.</summary>
        public async Task<string?> ReadUntilAsync(Func<string, bool> match, CancellationToken ct)
        {
            while (await _lines.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (match(line))
                    {
                        return line;
                    }
                }
            }

            return null;
        }

        public async Task WaitForExitAsync(TimeSpan limit, CancellationToken ct)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(limit);
            try
            {
                await _process.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // still running: the disposal kills it
            }
        }

        public string Describe()
        {
            lock (_seen)
            {
                var exit = _process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "still running";
                return $"exit {exit}, stdout [{string.Join(" | ", _seen)}], stderr [{string.Join(" | ", _stderr)}]";
            }
        }

        private async Task PumpStdoutAsync()
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                Remember(_seen, line);
                _lines.Writer.TryWrite(line);
            }

            _lines.Writer.TryComplete();
        }

        private async Task PumpStderrAsync()
        {
            while (await _process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                Remember(_stderr, line);
            }
        }

        private void Remember(Queue<string> queue, string line)
        {
            lock (_seen)
            {
                queue.Enqueue(line);
                if (queue.Count > Tail)
                {
                    queue.Dequeue();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }

                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                await _pumps.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            catch (TimeoutException)
            {
                // best effort: the kill was sent; run-peer.sh's own timeout is the backstop
            }

            _process.Dispose();
        }
    }
}
