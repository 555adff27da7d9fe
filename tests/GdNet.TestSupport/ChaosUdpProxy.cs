using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace GdNet.TestSupport;

/// <summary>
/// A UDP relay on 127.0.0.1 between clients and one server, with faults per direction (<see cref="ToServer"/>,
/// <see cref="ToClient"/>): latency and jitter, loss, duplication, reordering, a bandwidth cap. Clients send to
/// <see cref="Port"/>; each client gets its own socket towards the server, so the server sees one address per client.
/// Loss, duplication and reordering draw from a random seeded per direction, so a run with the same traffic makes the same
/// choices; <see cref="ToServerCounters"/> and <see cref="ToClientCounters"/> say what was done.
/// </summary>
public sealed class ChaosUdpProxy : IDisposable
{
    // Room for bursts (the kernel caps it at net.core.rmem_max): what overflows a socket buffer is lost uncounted, as on
    // a real link, so the proxy asks for plenty.
    private const int SocketBuffer = 4 << 20;

    private readonly Socket _front;
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<EndPoint, Session> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Scheduler _toServer;
    private readonly Scheduler _toClient;
    private readonly Thread _frontLoop;
    private int _disposed;

    /// <summary>Starts relaying to 127.0.0.1:<paramref name="serverPort"/>.</summary>
    /// <param name="serverPort">The server's UDP port on 127.0.0.1.</param>
    /// <param name="seed">Seeds the random choices (client-to-server uses it, server-to-client uses it + 1).</param>
    public ChaosUdpProxy(int serverPort, int seed = 1)
        : this(new IPEndPoint(IPAddress.Loopback, serverPort), seed)
    {
    }

    /// <summary>Starts relaying to <paramref name="server"/> (a loopback address).</summary>
    /// <param name="server">Where the server listens.</param>
    /// <param name="seed">Seeds the random choices (client-to-server uses it, server-to-client uses it + 1).</param>
    public ChaosUdpProxy(IPEndPoint server, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(server);
        _server = server;
        _front = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = SocketBuffer, SendBufferSize = SocketBuffer };
        _front.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        _toServer = new Scheduler(new ChaosLane(ToServer, ToServerCounters, seed), _stop.Token);
        _toClient = new Scheduler(new ChaosLane(ToClient, ToClientCounters, seed + 1), _stop.Token);
        _frontLoop = StartThread(FrontLoop, "chaos udp: from clients");
    }

    /// <summary>The port clients send to.</summary>
    public int Port => ((IPEndPoint)_front.LocalEndPoint!).Port;

    /// <summary>The faults on datagrams from clients to the server.</summary>
    public ChaosOptions ToServer { get; } = new();

    /// <summary>The faults on datagrams from the server to clients.</summary>
    public ChaosOptions ToClient { get; } = new();

    /// <summary>What was done to datagrams from clients to the server.</summary>
    public ChaosCounters ToServerCounters { get; } = new();

    /// <summary>What was done to datagrams from the server to clients.</summary>
    public ChaosCounters ToClientCounters { get; } = new();

    /// <summary>Clients seen so far (one relay socket each).</summary>
    public int Clients => _sessions.Count;

    /// <summary>Applies <paramref name="configure"/> to both directions.</summary>
    public void Both(Action<ChaosOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(ToServer);
        configure(ToClient);
    }

    /// <inheritdoc/>
    public override string ToString() => $"to server: {ToServerCounters}; to client: {ToClientCounters}";

    /// <summary>Stops relaying and closes every socket.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _front.Dispose();
        foreach (var s in _sessions.Values)
        {
            s.Back.Dispose();
        }

        _toServer.Wake();
        _toClient.Wake();
        foreach (var t in (Thread[])[_frontLoop, _toServer.Pump, _toClient.Pump, .. _sessions.Values.Select(s => s.Loop!)])
        {
            t.Join(TimeSpan.FromSeconds(5));
        }

        _stop.Dispose();
    }

    // Dedicated threads, blocking on their sockets: the proxy keeps relaying when a busy test starves the thread pool.
    private static Thread StartThread(Action loop, string name)
    {
        var t = new Thread(() => loop()) { IsBackground = true, Name = name };
        t.Start();
        return t;
    }

    private void FrontLoop()
    {
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(_server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var length = _front.ReceiveFrom(buffer, ref from);
                var session = _sessions.GetOrAdd(from, StartSession);
                _toServer.Submit(buffer.AsSpan(0, length), session.Back, to: null);
            }
            catch (SocketException) when (!_stop.IsCancellationRequested)
            {
                continue; // an ICMP error for an earlier datagram to a client: keep relaying
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // disposed
            }
        }
    }

    private Session StartSession(EndPoint client)
    {
        var back = new Socket(_server.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = SocketBuffer, SendBufferSize = SocketBuffer };
        back.Bind(new IPEndPoint(((IPEndPoint)_front.LocalEndPoint!).Address, 0));
        back.Connect(_server);
        var session = new Session(back, client);
        session.Loop = StartThread(() => BackLoop(session), "chaos udp: to a client");
        return session;
    }

    private void BackLoop(Session session)
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var length = session.Back.Receive(buffer);
                _toClient.Submit(buffer.AsSpan(0, length), _front, session.Client);
            }
            catch (SocketException) when (!_stop.IsCancellationRequested)
            {
                continue; // the server's port refused a datagram (ICMP): keep relaying
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // disposed
            }
        }
    }

    private sealed class Session(Socket back, EndPoint client)
    {
        public Socket Back { get; } = back;

        public EndPoint Client { get; } = client;

        public Thread? Loop { get; set; }
    }

    private readonly record struct Pending(byte[] Data, Socket Socket, EndPoint? To, long ReadSequence);

    /// <summary>One direction's datagrams: faults decided on arrival, delayed ones sent by a pump at their due time.</summary>
    private sealed class Scheduler
    {
        private readonly ChaosLane _lane;
        private readonly CancellationToken _stop;
        private readonly Lock _gate = new();
        private readonly PriorityQueue<Pending, (long Due, long Order)> _queue = new();
        private readonly AutoResetEvent _signal = new(false);
        private readonly long _holdTimestamps = ChaosLane.ToTimestamp(ChaosOptions.ReorderHold);
        private Pending? _held;
        private long _heldAt;
        private long _readSequence;
        private long _order;
        private long _lastSent = -1;

        public Scheduler(ChaosLane lane, CancellationToken stop)
        {
            _lane = lane;
            _stop = stop;
            Pump = StartThread(PumpLoop, "chaos udp: delayed datagrams");
        }

        public Thread Pump { get; }

        public void Wake() => _signal.Set();

        /// <summary>Called by one receive loop at a time per socket; may be called by several loops at once (one per client).</summary>
        public void Submit(ReadOnlySpan<byte> datagram, Socket socket, EndPoint? to)
        {
            var lane = _lane;
            var o = lane.Options;
            var n = lane.Counters.CountReceived();
            var every = o.DropEvery;
            if ((every > 0 && n % every == every / 2) || lane.Chance(o.Loss))
            {
                lane.Counters.CountDropped();
                return;
            }

            var copies = lane.Chance(o.Duplication) ? 2 : 1;
            if (copies == 2)
            {
                lane.Counters.CountDuplicated();
            }

            lock (_gate)
            {
                var p = new Pending(datagram.ToArray(), socket, to, _readSequence++);
                if (o.Immediate && _queue.Count == 0 && _held is null)
                {
                    for (var i = 0; i < copies; i++)
                    {
                        Send(p);
                    }

                    return;
                }

                var now = ChaosLane.Now;
                var due = lane.Departure(datagram.Length * copies, now);
                if (due > now)
                {
                    lane.Counters.CountDelayed();
                }

                if (_held is { } held)
                {
                    // The held datagram goes right after this one.
                    for (var i = 0; i < copies; i++)
                    {
                        _queue.Enqueue(p, (due, _order++));
                    }

                    _queue.Enqueue(held, (due, _order++));
                    _held = null;
                }
                else if (lane.Chance(o.Reordering))
                {
                    _held = p;
                    _heldAt = now;
                    if (copies == 2)
                    {
                        _queue.Enqueue(p, (due, _order++)); // its duplicate goes on time
                    }
                }
                else
                {
                    for (var i = 0; i < copies; i++)
                    {
                        _queue.Enqueue(p, (due, _order++));
                    }
                }
            }

            _signal.Set();
        }

        // Under _gate: sends, counting a datagram that leaves after one read later than it as reordered.
        private void Send(Pending p)
        {
            if (p.ReadSequence < _lastSent)
            {
                _lane.Counters.CountReordered();
            }

            _lastSent = Math.Max(_lastSent, p.ReadSequence);
            try
            {
                if (p.To is null)
                {
                    p.Socket.Send(p.Data);
                }
                else
                {
                    p.Socket.SendTo(p.Data, p.To);
                }

                _lane.Counters.CountForwarded(p.Data.Length);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // the destination is gone or refused it: as lost on the way
            }
        }

        private void PumpLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                var wait = Timeout.InfiniteTimeSpan;
                lock (_gate)
                {
                    while (true)
                    {
                        var now = ChaosLane.Now;
                        if (_held is { } held && now - _heldAt >= _holdTimestamps)
                        {
                            _queue.Enqueue(held, (now, _order++)); // nothing followed it: it goes alone
                            _held = null;
                        }

                        long next = long.MaxValue;
                        if (_queue.TryPeek(out var p, out var at))
                        {
                            if (at.Due <= now)
                            {
                                _queue.Dequeue();
                                Send(p);
                                continue;
                            }

                            next = at.Due;
                        }

                        if (_held is not null)
                        {
                            next = Math.Min(next, _heldAt + _holdTimestamps);
                        }

                        if (next != long.MaxValue)
                        {
                            wait = ChaosLane.ToSpan(next - now) + TimeSpan.FromTicks(1);
                        }

                        break;
                    }
                }

                _signal.WaitOne(wait);
            }
        }
    }
}
