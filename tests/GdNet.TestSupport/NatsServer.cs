using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace GdNet.TestSupport;

/// <summary>
/// A real <c>nats-server</c> (Debian's, at <see cref="ExecutablePath"/>) as a child process for the cluster tests:
/// loopback only, on a free port, JetStream on with a fresh store directory of its own. It can be stopped (SIGTERM) or
/// killed (SIGKILL) and started again on the same port and store, to test outages. Dispose kills it and deletes the
/// store.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    /// <summary>Where the server is expected (test.sh installs Debian's <c>nats-server</c> package).</summary>
    public const string ExecutablePath = "/usr/sbin/nats-server";

    /// <summary>How long a start may take before it fails, and how long a stop may take.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private ChildProcess? _child;
    private string _lastLog = "";
    private bool _disposed;

    private NatsServer(int port, string storeDirectory)
    {
        Port = port;
        MonitorPort = GodotPeerProcess.FreePort();
        StoreDirectory = storeDirectory;
    }

    /// <summary>The loopback port of the server's HTTP monitoring endpoint (<c>/connz</c>, <c>/varz</c>…).</summary>
    public int MonitorPort { get; }

    /// <summary>
    /// The subjects each client connection named <paramref name="connectionName"/> subscribes to now, from the server's
    /// own view (<c>/connz?subs=1</c>): what the server will send it, whatever the client believes.
    /// </summary>
    public async Task<IReadOnlyList<string>> SubscriptionsAsync(string connectionName)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var json = await http.GetStringAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{MonitorPort}/connz?subs=1&limit=1024")));
        using var doc = JsonDocument.Parse(json);
        var subjects = new List<string>();
        foreach (var c in doc.RootElement.GetProperty("connections").EnumerateArray())
        {
            if (c.TryGetProperty("name", out var name) && name.GetString() == connectionName
                && c.TryGetProperty("subscriptions_list", out var subs))
            {
                subjects.AddRange(subs.EnumerateArray().Select(e => e.GetString() ?? ""));
            }
        }

        return subjects;
    }

    /// <summary>True when <see cref="ExecutablePath"/> exists.</summary>
    public static bool IsInstalled => File.Exists(ExecutablePath);

    /// <summary>The loopback port the server listens on (kept across restarts).</summary>
    public int Port { get; }

    /// <summary>The client URL, <c>nats://127.0.0.1:PORT</c>.</summary>
    public string Url => "nats://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The JetStream store directory (<c>-sd</c>; kept across restarts, deleted on dispose).</summary>
    public string StoreDirectory { get; }

    /// <summary>True while a started server process has not been stopped or killed (nor exited by itself).</summary>
    public bool IsRunning => _child is { HasExited: false };

    /// <summary>The log (stderr, bounded) of the current server process, or of the last one once it has stopped.</summary>
    public string Log => _child?.Stderr ?? _lastLog;

    /// <summary>
    /// Starts a server on a free loopback port with JetStream and a fresh store directory, and waits until it logs
    /// "Server is ready" (at most <see cref="StartTimeout"/>). Another port is tried if the chosen one was taken meanwhile.
    /// </summary>
    public static async Task<NatsServer> StartAsync(CancellationToken ct = default)
    {
        if (!IsInstalled)
        {
            throw new FileNotFoundException($"nats-server was not found at {ExecutablePath}; install Debian's nats-server package (test.sh does).", ExecutablePath);
        }

        var store = Path.Combine(Path.GetTempPath(), "gdnet-nats-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(store);
        for (var attempt = 1; ; attempt++)
        {
            var server = new NatsServer(GodotPeerProcess.FreePort(), store);
            try
            {
                await server.LaunchAsync(ct);
                return server;
            }
            catch (PortInUseException) when (attempt < 5)
            {
                // Another process took the port after FreePort; try another one (same, still empty, store).
                await server.DisposeProcessAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Starts the server again after <see cref="StopAsync"/> or <see cref="KillAsync"/>, on the same port and store,
    /// and waits until it is ready. A port still held for a moment (bind failure) is retried for a bounded time.
    /// </summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            throw new InvalidOperationException($"nats-server on port {Port} is still running; stop or kill it first.");
        }

        await DisposeProcessAsync();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await LaunchAsync(ct);
                return;
            }
            catch (PortInUseException) when (deadline.Elapsed < StartTimeout)
            {
                await DisposeProcessAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            }
        }
    }

    /// <summary>Sends SIGTERM (a clean shutdown; nats-server then exits with code 1) and waits for the exit.</summary>
    public Task StopAsync() => SignalAndWaitAsync("TERM");

    /// <summary>Sends SIGKILL (a crash: nothing is flushed) and waits for the exit.</summary>
    public Task KillAsync() => SignalAndWaitAsync("KILL");

    /// <summary>
    /// Sends SIGSTOP: the server freezes with its connections open, as a hung or partitioned server looks to clients
    /// (nothing tells them it is gone). <see cref="ResumeAsync"/> or dispose ends it.
    /// </summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Sends SIGCONT after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>What the server logged, for assertion messages.</summary>
    public string Describe() => $"nats-server {Url} (store {StoreDirectory}, {(IsRunning ? "running" : "not running")}), log tail:\n" + Tail(Log, 3000);

    /// <summary>Kills the server (if running) and deletes the store directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await DisposeProcessAsync();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(StoreDirectory))
                {
                    Directory.Delete(StoreDirectory, recursive: true);
                }

                break;
            }
            catch (IOException)
            {
                await Task.Delay(100);
            }
            catch (UnauthorizedAccessException)
            {
                break;
            }
        }
    }

    private async Task LaunchAsync(CancellationToken ct)
    {
        var psi = new ProcessStartInfo(ExecutablePath);
        foreach (var a in new[] { "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-m", MonitorPort.ToString(CultureInfo.InvariantCulture), "-js", "-sd", StoreDirectory })
        {
            psi.ArgumentList.Add(a);
        }

        // nats-server logs to stderr only; nothing on stdout is of interest.
        var child = ChildProcess.Start(psi, "nats-server", _ => false);
        _child = child;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            // Read the exit state before the log: every stderr line is collected before the exit is reported.
            var exited = child.HasExited;
            var log = child.Stderr;
            if (log.Contains("Server is ready", StringComparison.Ordinal))
            {
                return;
            }

            if (exited)
            {
                if (log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new PortInUseException($"nats-server could not listen on 127.0.0.1:{Port}.\n{Tail(log, 3000)}");
                }

                throw new InvalidOperationException($"nats-server exited before it was ready.\n{Describe()}");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"nats-server was not ready within {StartTimeout.TotalSeconds:0} s.\n{Describe()}");
            }
        }
    }

    private Task SignalAsync(string signal)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_child is not { } child || child.HasExited)
        {
            throw new InvalidOperationException($"nats-server on port {Port} is not running.");
        }

        return child.SendSignalAsync(signal, StopTimeout);
    }

    private async Task SignalAndWaitAsync(string signal)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_child is not { } child || child.HasExited)
        {
            throw new InvalidOperationException($"nats-server on port {Port} is not running.");
        }

        await child.SendSignalAsync(signal, StopTimeout);
        await child.WaitForExitAsync(StopTimeout);
        await DisposeProcessAsync();
    }

    private async Task DisposeProcessAsync()
    {
        if (_child is { } child)
        {
            _child = null;
            _lastLog = child.Stderr;
            await child.DisposeAsync();
        }
    }

    private static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];

    private sealed class PortInUseException(string message) : Exception(message);
}
