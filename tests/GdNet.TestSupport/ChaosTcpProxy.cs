using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace GdNet.TestSupport;

/// <summary>
/// A TCP relay on 127.0.0.1 between clients and one server, with faults per direction (<see cref="ToServer"/>,
/// <see cref="ToClient"/>): latency and jitter (the stream keeps its order), a bandwidth cap, half-open
/// (<see cref="ChaosOptions.Paused"/>: the proxy stops reading one side), mid-stream cuts
/// (<see cref="ChaosOptions.CutAfterBytes"/>: FIN to both sides), and <see cref="Reset"/> (RST to both sides). Each
/// accepted client gets its own connection to the server. Ends propagate: a FIN from one side is passed on as a FIN, a
/// reset or failure of one side resets the other.
/// </summary>
public sealed class ChaosTcpProxy : IAsyncDisposable
{
    private const int MaxChunk = 16 * 1024;

    private readonly Socket _listener;
    private readonly IPEndPoint _server;
    private readonly ChaosLane _toServer;
    private readonly ChaosLane _toClient;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Connection> _connections = [];
    private readonly Task _acceptLoop;
    private long _accepted;
    private long _resets;
    private int _disposed;

    /// <summary>Starts relaying to 127.0.0.1:<paramref name="serverPort"/>.</summary>
    /// <param name="serverPort">The server's TCP port on 127.0.0.1.</param>
    /// <param name="seed">Seeds the jitter (client-to-server uses it, server-to-client uses it + 1).</param>
    public ChaosTcpProxy(int serverPort, int seed = 1)
    {
        _server = new IPEndPoint(IPAddress.Loopback, serverPort);
        _toServer = new ChaosLane(ToServer, ToServerCounters, seed);
        _toClient = new ChaosLane(ToClient, ToClientCounters, seed + 1);
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>The faults on bytes from clients to the server.</summary>
    public ChaosOptions ToServer { get; } = new();

    /// <summary>The faults on bytes from the server to clients.</summary>
    public ChaosOptions ToClient { get; } = new();

    /// <summary>What was done to bytes from clients to the server.</summary>
    public ChaosCounters ToServerCounters { get; } = new();

    /// <summary>What was done to bytes from the server to clients.</summary>
    public ChaosCounters ToClientCounters { get; } = new();

    /// <summary>Client connections accepted so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections relaying now.</summary>
    public int Active
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Connections reset by <see cref="Reset"/>.</summary>
    public long Resets => Interlocked.Read(ref _resets);

    /// <summary>Applies <paramref name="configure"/> to both directions.</summary>
    public void Both(Action<ChaosOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(ToServer);
        configure(ToClient);
    }

    /// <summary>
    /// Resets every connection relaying now: both sockets are closed with linger 0, so the client and the server each
    /// get an RST (a crashed middlebox, a NAT that forgot the flow). Returns how many were reset.
    /// </summary>
    public int Reset()
    {
        Connection[] all;
        lock (_gate)
        {
            all = [.. _connections];
        }

        var n = 0;
        foreach (var c in all)
        {
            if (c.Abort())
            {
                n++;
                Interlocked.Increment(ref _resets);
            }
        }

        return n;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"accepted {Accepted}, active {Active}, resets {Resets}; to server: {ToServerCounters}; to client: {ToClientCounters}";

    /// <summary>Stops accepting and resets every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _listener.Dispose();
        Connection[] all;
        lock (_gate)
        {
            all = [.. _connections];
        }

        foreach (var c in all)
        {
            c.Abort();
        }

        await Task.WhenAll([_acceptLoop, .. all.Select(c => c.Running)]).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            client.NoDelay = true;
            var c = new Connection(this, client);
            lock (_gate)
            {
                _connections.Add(c);
            }

            c.Running = Task.Run(c.RunAsync);
        }
    }

    private void Remove(Connection c)
    {
        lock (_gate)
        {
            _connections.Remove(c);
        }
    }

    private readonly record struct Chunk(byte[]? Data, long Due, bool Cut);

    private sealed class Connection(ChaosTcpProxy owner, Socket client)
    {
        private readonly Socket _client = client;
        private readonly Socket _server = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        private readonly CancellationTokenSource _ended = new();
        private int _state; // 0 relaying, 1 cut (FIN), 2 aborted (RST), 3 ended

        public Task Running { get; set; } = Task.CompletedTask;

        public async Task RunAsync()
        {
            try
            {
                try
                {
                    await _server.ConnectAsync(owner._server, _ended.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    Abort(); // the server refused: so does the proxy
                    return;
                }

                await Task.WhenAll(
                    PumpAsync(owner._toServer, _client, _server),
                    PumpAsync(owner._toClient, _server, _client)).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.CompareExchange(ref _state, 3, 0); // ended on its own: nothing left to reset
                if (Volatile.Read(ref _state) == 1)
                {
                    await DrainAsync().ConfigureAwait(false);
                }

                _client.Dispose();
                _server.Dispose();
                owner.Remove(this);
                _ended.Dispose();
            }
        }

        /// <summary>Closes both sockets with linger 0 (RST). False when it had ended already.</summary>
        public bool Abort()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
            {
                return false;
            }

            foreach (var s in (Socket[])[_client, _server])
            {
                try
                {
                    s.LingerState = new LingerOption(true, 0);
                    s.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }

            Cancel();
            return true;
        }

        // Sends FIN both ways and stops relaying; what is still in flight is read and thrown away (closing a socket with
        // unread data would send an RST instead).
        private void Cut()
        {
            if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
            {
                return;
            }

            foreach (var s in (Socket[])[_client, _server])
            {
                try
                {
                    s.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }

            Cancel();
        }

        private void Cancel()
        {
            try
            {
                _ended.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private async Task DrainAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var buffer = new byte[MaxChunk];
            foreach (var s in (Socket[])[_client, _server])
            {
                try
                {
                    while (await s.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false) > 0)
                    {
                    }
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                }
            }
        }

        private async Task PumpAsync(ChaosLane lane, Socket from, Socket to)
        {
            var chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
            var reading = ReadAsync(lane, from, chunks.Writer);
            await WriteAsync(lane, to, chunks.Reader).ConfigureAwait(false);
            await reading.ConfigureAwait(false);
        }

        private async Task ReadAsync(ChaosLane lane, Socket from, ChannelWriter<Chunk> chunks)
        {
            var token = _ended.Token;
            long passed = 0;
            long lastDue = long.MinValue;
            try
            {
                while (true)
                {
                    while (lane.Options.Paused)
                    {
                        await Task.Delay(5, token).ConfigureAwait(false);
                    }

                    var bps = lane.Options.BytesPerSecond;
                    var size = bps > 0 ? (int)Math.Clamp(bps / 100, 256, MaxChunk) : MaxChunk;
                    var buffer = new byte[size];
                    var n = await from.ReceiveAsync(buffer, token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        await chunks.WriteAsync(new Chunk(null, Math.Max(lastDue, ChaosLane.Now), Cut: false), token).ConfigureAwait(false); // FIN, after the bytes before it
                        return;
                    }

                    lane.Counters.CountReceived();
                    var cut = false;
                    if (lane.Options.CutAfterBytes is { } limit && passed + n >= limit)
                    {
                        n = (int)Math.Max(limit - passed, 0);
                        cut = true;
                    }

                    passed += n;
                    var now = ChaosLane.Now;
                    var due = lane.Departure(n, now, lastDue);
                    lastDue = due;
                    await chunks.WriteAsync(new Chunk(buffer[..n], due, cut), token).ConfigureAwait(false);
                    if (cut)
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Abort(); // the source reset or failed: reset the other side too
            }
            finally
            {
                chunks.TryComplete();
            }
        }

        private async Task WriteAsync(ChaosLane lane, Socket to, ChannelReader<Chunk> chunks)
        {
            var token = _ended.Token;
            try
            {
                await foreach (var c in chunks.ReadAllAsync(token).ConfigureAwait(false))
                {
                    var wait = c.Due - ChaosLane.Now;
                    if (wait > 0)
                    {
                        lane.Counters.CountDelayed();
                        await Task.Delay(ChaosLane.ToSpan(wait), token).ConfigureAwait(false);
                    }

                    if (c.Data is null)
                    {
                        to.Shutdown(SocketShutdown.Send); // pass the FIN on
                        return;
                    }

                    if (c.Data.Length > 0)
                    {
                        for (var sent = 0; sent < c.Data.Length;)
                        {
                            sent += await to.SendAsync(c.Data.AsMemory(sent), token).ConfigureAwait(false);
                        }

                        lane.Counters.CountForwarded(c.Data.Length);
                    }

                    if (c.Cut)
                    {
                        lane.Counters.CountCut();
                        Cut();
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Abort(); // the destination reset or failed: reset the source too
            }
        }
    }
}
