using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GdNet.Enet.Interop;
using Microsoft.Extensions.Logging;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>What an ENet host is created with (server or client). Immutable once the session runs.</summary>
internal sealed record EnetHostConfig(
    int ChannelCount,
    CompressionModeEnum Compression,
    int MaxPacketSize,
    long MaxWaitingData,
    uint TimeoutMinimumMs,
    uint TimeoutMaximumMs);

/// <summary>
/// One active ENet host and the service thread that owns it: the machinery shared by the client
/// (<see cref="EnetClientSession"/>) and the server (<see cref="EnetServerSession"/>). The thread services the host,
/// runs the commands other threads queue (<see cref="Enqueue"/>, woken by a loopback datagram), and hands every datagram
/// to <see cref="OnDatagram"/> through ENet's intercept hook before ENet processes it. Subclasses apply the protocol.
/// </summary>
internal abstract unsafe partial class EnetSession : IDisposable
{
    /// <summary>ENET_PEER_TIMEOUT_LIMIT, ENet's default.</summary>
    protected const uint EnetTimeoutLimit = 32;

    private const uint BlockMs = 10;
    private const int ServerReceiveBuffer = 4 << 20;
    private const int MaxEventsPerTurn = 8192;

    [ThreadStatic]
    private static EnetSession? t_current;

    // Commands from other threads.
    private readonly Lock _commandGate = new();
    private List<Command> _pending = new(256);
    private List<Command> _draining = new(256);
    private bool _sleeping;
    private bool _closed;
    private volatile bool _stopRequested;

    // Wake-up: a loopback datagram to the host's own socket ends a blocking enet_host_service early.
    private readonly Socket? _wakeSocket;
    private readonly EnetAddress _wakeFrom;
    private readonly Thread _thread;
    private int _serviceErrors;

    /// <summary>A unit of work queued for the service thread. What the fields mean depends on <see cref="Kind"/>.</summary>
    protected struct Command
    {
        public CommandKind Kind;
        public int Target;
        public byte Channel;
        public EnetPacket* Packet;
        public object? Ref;
    }

    protected enum CommandKind
    {
        /// <summary>Send <see cref="Command.Packet"/> on <see cref="Command.Channel"/> (to <see cref="Command.Target"/> or <see cref="Command.Ref"/>).</summary>
        Send = 0,

        /// <summary>Send one packet to the first <see cref="Command.Target"/> connections of a rented array in <see cref="Command.Ref"/>.</summary>
        SendMany,

        /// <summary>Disconnect <see cref="Command.Ref"/> at once (reason in <see cref="Command.Target"/>, ENet data in <see cref="Command.Channel"/>).</summary>
        KickNow,

        /// <summary>Disconnect <see cref="Command.Ref"/> after what is queued (fields as <see cref="KickNow"/>).</summary>
        KickLater,
    }

    protected EnetSession(EnetHostConfig config, EnetHostHandle host, ILogger logger, string threadName)
    {
        Config = config;
        Host = host;
        Logger = logger;
        PeerCount = PeerCountOf(host);
        LastHeard = new long[PeerCount];
        LocalEndPoint = ToEndPoint(HostAddressOf(host));
        try
        {
            var target = LocalEndPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : LocalEndPoint.Address;
            _wakeSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _wakeSocket.Connect(new IPEndPoint(target, LocalEndPoint.Port));
            _wakeFrom = ToAddress(((IPEndPoint)_wakeSocket.LocalEndPoint!).Address, ((IPEndPoint)_wakeSocket.LocalEndPoint!).Port);
        }
        catch (SocketException)
        {
            // Without a wake socket commands wait for the next turn (at most BlockMs).
            _wakeSocket?.Dispose();
            _wakeSocket = null;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
    }

    /// <summary>The host's bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Whether the service thread has ended (stopped, failed, or the client lost its server). Any thread.</summary>
    public bool HasEnded => !_thread.IsAlive;

    protected EnetHostConfig Config { get; }

    protected EnetHostHandle Host { get; }

    protected ILogger Logger { get; }

    /// <summary>The host's peer slots.</summary>
    protected int PeerCount { get; }

    /// <summary>When each peer slot last sent a datagram (Environment.TickCount64), to tell a timeout from a disconnect.</summary>
    protected long[] LastHeard { get; }

    /// <summary>How long <see cref="CloseAll"/> waits for the disconnect notices to leave.</summary>
    protected uint StopWaitUsec { get; private set; }

    /// <summary>Whether the calling thread is this session's service thread.</summary>
    protected bool IsServiceThread => t_current == this;

    /// <summary>Whether <see cref="Stop"/> was called.</summary>
    protected bool StopRequested => _stopRequested;

    /// <summary>
    /// Creates and configures a host (on the calling thread, before its service thread exists). Null and an error when
    /// it cannot be created (e.g. the port is taken).
    /// </summary>
    protected static EnetHostHandle? CreateHost(EnetHostConfig config, EnetAddress bind, int peerCount, uint inBandwidth, uint outBandwidth,
        bool server, out Error error)
    {
        EnsureLoaded();
        var raw = enet_host_create(&bind, (nuint)peerCount, (nuint)config.ChannelCount, inBandwidth, outBandwidth);
        if (raw == 0)
        {
            error = Error.CantCreate;
            return null;
        }

        var host = new EnetHostHandle(raw);
        var layout = CheckHostLayout(host, peerCount, config.ChannelCount);
        if (layout is not null)
        {
            host.Dispose();
            throw new PlatformNotSupportedException("The loaded ENet library's ENetHost layout is not the ENet 1.3 LP64 layout GdNet was built for: " + layout);
        }

        // ENet's defaults (32 MiB per packet and per peer's waiting data) let one remote peer make the host allocate
        // that much; GdNet's limits replace them. The Godot header counts towards ENet's packet size.
        SetLimits(host, (long)config.MaxPacketSize + EnetFraming.HeaderSize, config.MaxWaitingData);
        if (server)
        {
            // ENet asks for 256 KiB; a server that many clients send to at once loses fewer datagrams (and so fewer
            // retransmissions and timeouts) with more. The OS caps it (Linux: net.core.rmem_max); failure is harmless.
            _ = enet_socket_set_option(SocketOf(host), SocketOptionReceiveBuffer, ServerReceiveBuffer);
        }

        if (config.Compression == CompressionModeEnum.RangeCoder)
        {
            if (enet_host_compress_with_range_coder(host) != 0)
            {
                host.Dispose();
                error = Error.CantCreate;
                return null;
            }
        }
        else
        {
            enet_host_compress(host, 0);
        }

        SetIntercept(host, &InterceptThunk);
        error = Error.Ok;
        return host;
    }

    /// <summary>Starts the service thread (once, after construction).</summary>
    protected void StartThread() => _thread.Start();

    // ------------------------------------------------------------------ other threads

    /// <summary>Hands a command to the service thread, waking it; false (nothing taken) once the session ended. Any thread.</summary>
    protected bool Enqueue(in Command command)
    {
        bool wake;
        lock (_commandGate)
        {
            if (_closed)
            {
                return false;
            }

            _pending.Add(command);
            wake = _sleeping;
            _sleeping = false;
        }

        if (wake)
        {
            Wake();
        }

        return true;
    }

    private void Wake()
    {
        try
        {
            _wakeSocket?.Send([0]);
        }
        catch (SocketException)
        {
            // the service thread notices within BlockMs anyway
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Stops the service thread: it disconnects every peer (<see cref="CloseAll"/>), waits <paramref name="waitUsec"/>,
    /// destroys the host and exits; this joins it. Idempotent. Any thread but the service thread.
    /// </summary>
    public void Stop(uint waitUsec)
    {
        StopWaitUsec = waitUsec;
        _stopRequested = true;
        Wake();
        if (Thread.CurrentThread != _thread && _thread.IsAlive && !_thread.Join(TimeSpan.FromSeconds(10)))
        {
            LogJoinTimeout(Logger);
        }

        _wakeSocket?.Dispose();
    }

    /// <inheritdoc cref="Stop"/>
    public void Dispose() => Stop(0);

    // ------------------------------------------------------------------ service thread: the loop

    /// <summary>Whether the session has ended by itself (a client that lost its server): the loop stops.</summary>
    protected virtual bool Ended => false;

    /// <summary>Whether packets are held: the loop then blocks for 1 ms at most, to move them on soon.</summary>
    protected abstract bool HasBacklog { get; }

    /// <summary>Runs one command from another thread.</summary>
    protected abstract void Execute(ref Command command);

    /// <summary>Releases what a command that will never run holds (its packet, a rented array).</summary>
    protected virtual void Discard(ref Command command)
    {
        if (command.Packet != null)
        {
            enet_packet_destroy(command.Packet);
            command.Packet = null;
        }
    }

    /// <summary>Each turn, before servicing: move held packets on.</summary>
    protected abstract void BeforeService();

    /// <summary>Handles one event of <c>enet_host_service</c>.</summary>
    protected abstract void Handle(ref EnetEvent ev);

    /// <summary>Each turn, after servicing: apply deferred disconnects, timeouts, expiries.</summary>
    protected abstract void AfterService();

    /// <summary>After the loop, before <see cref="CloseAll"/>: a client hands over what it still holds.</summary>
    protected virtual void AfterLoop()
    {
    }

    /// <summary>On <see cref="Stop"/>: disconnects every peer and flushes.</summary>
    protected abstract void CloseAll();

    /// <summary>The loop failed: tell whoever waits.</summary>
    protected abstract void OnCrash();

    /// <summary>Last, before the host is destroyed: release everything held.</summary>
    protected abstract void Cleanup();

    /// <summary>A datagram (not the wake-up) before ENet processes it: 0 to let ENet process it, 1 when consumed here.</summary>
    protected abstract int OnDatagram(nint host, EnetEvent* ev, EnetAddress from);

    private void Run()
    {
        t_current = this;
        try
        {
            EnetEvent ev;
            while (!_stopRequested && !Ended)
            {
                var worked = DrainCommands();
                BeforeService();
                var events = 0;
                int result;
                while ((result = enet_host_service(Host, &ev, 0)) > 0)
                {
                    Handle(ref ev);
                    if (++events >= MaxEventsPerTurn || Ended)
                    {
                        break;
                    }
                }

                if (result < 0)
                {
                    // A socket error: log the first of a run, and back off so a persistent one cannot spin the thread.
                    if (_serviceErrors++ == 0)
                    {
                        LogServiceError(Logger);
                    }

                    Thread.Sleep(1);
                }
                else
                {
                    _serviceErrors = 0;
                }

                AfterService();
                if (worked || events > 0 || Ended || _stopRequested)
                {
                    continue;
                }

                lock (_commandGate)
                {
                    if (_pending.Count != 0)
                    {
                        continue;
                    }

                    _sleeping = true;
                }

                result = enet_host_service(Host, &ev, HasBacklog ? 1u : BlockMs);
                lock (_commandGate)
                {
                    _sleeping = false;
                }

                if (result > 0)
                {
                    Handle(ref ev);
                }
            }

            AfterLoop();
            if (_stopRequested)
            {
                CloseAll();
            }
        }
#pragma warning disable CA1031 // the service thread must end cleanly whatever happens; the failure is logged
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogServiceCrash(Logger, e);
            OnCrash();
        }
        finally
        {
            lock (_commandGate)
            {
                _closed = true;
                (_draining, _pending) = (_pending, _draining);
            }

            foreach (ref var c in CollectionsMarshal.AsSpan(_draining))
            {
                Discard(ref c);
            }

            _draining.Clear();
            Cleanup();
            Host.Dispose();
            t_current = null;
        }
    }

    private bool DrainCommands()
    {
        lock (_commandGate)
        {
            if (_pending.Count == 0)
            {
                return false;
            }

            (_draining, _pending) = (_pending, _draining);
        }

        foreach (ref var c in CollectionsMarshal.AsSpan(_draining))
        {
            Execute(ref c);
        }

        _draining.Clear();
        enet_host_flush(Host);
        return true;
    }

    // ------------------------------------------------------------------ intercept hook (service thread, inside enet_host_service)

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int InterceptThunk(nint host, nint ev)
    {
        try
        {
            return t_current?.Intercept(host, (EnetEvent*)ev) ?? 0;
        }
#pragma warning disable CA1031 // nothing may unwind through native ENet
        catch (Exception)
#pragma warning restore CA1031
        {
            return 0;
        }
    }

    // 0: let ENet process the datagram; 1: consumed here (ENet skips it, or returns ev if its type was set).
    private int Intercept(nint host, EnetEvent* ev)
    {
        var from = ReceivedAddress(host);
        if (_wakeSocket is not null && from.Port == _wakeFrom.Port && from.Host == _wakeFrom.Host)
        {
            // Consumed, and an event so that enet_host_service returns now: otherwise it would keep waiting for the
            // rest of its timeout and the commands that caused the wake-up would wait with it.
            if (ev != null)
            {
                ev->Type = EventWake;
            }

            return 1;
        }

        return OnDatagram(host, ev, from);
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "ENet: enet_host_service reported a socket error")]
    private static partial void LogServiceError(ILogger logger);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "ENet: the service thread failed")]
    private static partial void LogServiceCrash(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "ENet: the service thread did not stop within 10 s")]
    private static partial void LogJoinTimeout(ILogger logger);
}
