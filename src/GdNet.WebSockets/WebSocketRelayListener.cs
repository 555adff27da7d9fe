using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using GdNet.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet.WebSockets;

/// <summary>
/// The WebSocket connection provider of a <see cref="RelayRouter"/>: accepts Godot 3 <c>WebSocketClient</c>s (and
/// <see cref="WebSocketClient"/>s) in multiplayer mode (<c>gd_mp_api = true</c>, spec §5) on Kestrel, in process, and
/// plugs each one into the router. The relay rules, rooms, admission and limits are the router's; this class only speaks
/// HTTP and WebSocket (RFC 6455, done here: Kestrel serves the HTTP request, the upgrade and every frame after it are
/// this transport's own, see <see cref="WsConnection"/>) with Godot's framing on top.
/// </summary>
/// <remarks>
/// <para><b>Rooms.</b> With <see cref="RoomsFromPath"/> (the default) the URL path names the room:
/// <c>ws://HOST:PORT/</c> is <see cref="Room.DefaultName"/>, <c>ws://HOST:PORT/NAME</c> is room NAME (1–64 characters of
/// <c>A–Z a–z 0–9 _ -</c>; anything else, nested paths and percent-escapes included, is answered HTTP 400). Without it
/// every client joins the default room whatever the path, as with Godot's own server.</para>
/// <para><b>Admission</b> runs before the upgrade: the credential is the query parameter <c>token</c> or an
/// <c>Authorization: Bearer</c> header (<see cref="AdmissionRequest.Credential"/>), with the request headers and the
/// client's address. A refused client gets an HTTP error with a short generic body — 400 invalid room, 401
/// unauthorized, 403 forbidden (and refusals of <see cref="AdmissionRefusal.Other"/>), 503 for every limit, draining or
/// refusing — never an id nor any WebSocket message; the reason is the router's to log and count. A request that is not
/// a WebSocket upgrade gets 426, one of another WebSocket version than 13 gets 426 with <c>Sec-WebSocket-Version: 13</c>,
/// one without a valid <c>Sec-WebSocket-Key</c> 400, one offering no acceptable subprotocol 400.</para>
/// <para><b>What the client sees</b> once admitted (spec §5.2): SYS_ID (its id), SYS_ADD(1) (the server, always peer
/// 1, whether or not the room has hosted logic), then SYS_ADD for each member of its room; SYS_ADD and SYS_DEL as
/// members come and go; DATA messages with the original sender's id. Closes: 1000 when kicked (with the reason) or
/// when the room is closed, 1001 when the server shuts down, 1008 for a slow reader, the rate limit or repeated
/// invalid messages, 1009 for a message over <see cref="MaxPacketSize"/>.</para>
/// <para><b>Back-pressure.</b> WebSocket is TCP: when the room's hosted logic is full or the router's
/// <see cref="RelayRouter.SendBudget"/> is exhausted, the sender's socket is not read until the packet can go. What
/// each connection queues is charged to that budget and released once written or dropped.</para>
/// <para>Set the properties before <see cref="ListenAsync"/>. Thread-safe.</para>
/// </remarks>
public sealed class WebSocketRelayListener : IAsyncDisposable
{
    private enum State
    {
        Idle,
        Listening,
        Stopping,
    }

    private readonly RelayRouter _router;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<WsRelayConnection> _connections = [];
    private State _state;
    private WebApplication? _app;
    private CancellationTokenSource? _stopping;
    private TaskCompletionSource? _allHandlersGone;
    private Task? _stopTask;
    private int _handlers;
    private string[] _protocols = [];
    private WsLimits _limits = null!;

    private string _bindIp = "*";
    private X509Certificate2? _certificate;
    private int _maxPacketSize = WebSocketMultiplayerPeer.DefaultMaxPacketSize;
    private long _maxQueuedBytes = WebSocketMultiplayerPeer.DefaultMaxQueuedBytes;
    private int _maxViolations = WebSocketMultiplayerPeer.DefaultMaxViolations;
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(3);
    private TimeSpan _closeTimeout = TimeSpan.FromSeconds(2);
    private TimeSpan _incompleteMessageTimeout = WsLimits.DefaultIncompleteMessageTimeout;
    private bool _roomsFromPath = true;
    private IReadOnlyList<string> _protocolList = [];

    // Totals of connections that are gone, and listener-level counts.
    private long _goneMessagesIn;
    private long _goneBytesIn;
    private long _goneMessagesOut;
    private long _goneBytesOut;
    private long _accepted;
    private long _refused;

    /// <summary>Creates a listener that hands its connections to <paramref name="router"/>.</summary>
    /// <param name="router">The relay core the connections join.</param>
    /// <param name="logger">Where listening, connections and transport-level refusals are logged (Debug and Information).</param>
    public WebSocketRelayListener(RelayRouter router, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        _router = router;
        _router.DeclareTransport(WsRelayConnection.TransportName);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Raised for every request answered with an HTTP error instead of the upgrade (not a WebSocket request, no acceptable
    /// subprotocol, stopping, refused admission): the client's address, the status, and the reason (for logs only).
    /// </summary>
    internal event Action<IPEndPoint?, int, string>? RequestRefused;

    /// <summary>Where to listen: <c>"*"</c> (every interface, the default as in Godot), <c>"localhost"</c>, or an IP address.</summary>
    /// <exception cref="ArgumentException">Not <c>*</c>, <c>localhost</c> or an IP address.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public string BindIp
    {
        get => _bindIp;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!IsValidBindIp(value))
            {
                throw new ArgumentException(BindIpMessage(value), nameof(value));
            }

            ThrowIfActive(nameof(BindIp));
            _bindIp = value;
        }
    }

    /// <summary>
    /// When set, the listener speaks <c>wss://</c> (TLS) with this certificate, which must hold its private key. Null (the
    /// default) is plain <c>ws://</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The certificate has no private key.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public X509Certificate2? SslCertificate
    {
        get => _certificate;
        set
        {
            if (value is not null && !value.HasPrivateKey)
            {
                throw new ArgumentException(CertificateMessage, nameof(value));
            }

            ThrowIfActive(nameof(SslCertificate));
            _certificate = value;
        }
    }

    /// <summary>
    /// The largest packet (MultiplayerAPI bytes, without the 9-byte header) a client may send; a larger message is refused
    /// (<see cref="GdNet.Peers.PacketRejectReason.TooLarge"/>) and the connection closed with 1009. Default
    /// <see cref="WebSocketMultiplayerPeer.DefaultMaxPacketSize"/> (Godot's 65527).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1, or more than 1 GiB.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public int MaxPacketSize
    {
        get => _maxPacketSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, (1 << 30) - GdMpFrame.HeaderSize);
            ThrowIfActive(nameof(MaxPacketSize));
            _maxPacketSize = value;
        }
    }

    /// <summary>
    /// Bound on bytes queued for sending to one client (its own send budget, within the router's server-wide one). A client
    /// whose queue would exceed it reads too slowly and is closed with 1008. Default 16 MiB.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than the largest message (<see cref="MaxPacketSize"/> + 9).</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public long MaxQueuedBytes
    {
        get => _maxQueuedBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, (long)_maxPacketSize + GdMpFrame.HeaderSize);
            ThrowIfActive(nameof(MaxQueuedBytes));
            _maxQueuedBytes = value;
        }
    }

    /// <summary>Refused messages (misbehaviour) after which a client is closed with 1008 and the reason; 0 never closes. Default 16.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public int MaxViolations
    {
        get => _maxViolations;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ThrowIfActive(nameof(MaxViolations));
            _maxViolations = value;
        }
    }

    /// <summary>How long a client may take to send its HTTP upgrade request (Godot's <c>handshake_timeout</c>). Default 3 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public TimeSpan HandshakeTimeout
    {
        get => _handshakeTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(HandshakeTimeout));
            _handshakeTimeout = value;
        }
    }

    /// <summary>How long a close handshake may take before the socket is aborted. Default 2 s.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public TimeSpan CloseTimeout
    {
        get => _closeTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(CloseTimeout));
            _closeTimeout = value;
        }
    }

    /// <summary>
    /// How long a client's message may take to arrive whole once it began (a frame cut short, a fragmented message left
    /// open): past it the client is closed with 1008 and the reason, and the violation is counted, so that a client cannot
    /// hold a receive buffer by stopping mid-frame. Default 10 s.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public TimeSpan IncompleteMessageTimeout
    {
        get => _incompleteMessageTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(IncompleteMessageTimeout));
            _incompleteMessageTimeout = value;
        }
    }

    /// <summary>
    /// Whether the URL path names the room (<c>/</c> the default room, <c>/NAME</c> room NAME). Default true; false puts
    /// every client in <see cref="Room.DefaultName"/> whatever the path, as Godot's own server does.
    /// </summary>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public bool RoomsFromPath
    {
        get => _roomsFromPath;
        set
        {
            ThrowIfActive(nameof(RoomsFromPath));
            _roomsFromPath = value;
        }
    }

    /// <summary>
    /// The WebSocket subprotocols accepted (Godot's <c>listen(port, protocols)</c>): the first one a client offers that is
    /// in the list is chosen, and a client offering none of them is refused (HTTP 400). Empty (the default): only clients
    /// offering no subprotocol are accepted.
    /// </summary>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public IReadOnlyList<string> Protocols
    {
        get => _protocolList;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ThrowIfActive(nameof(Protocols));
            _protocolList = [.. value];
        }
    }

    /// <summary>The port actually listened on (useful after <c>ListenAsync(0)</c>), 0 when not listening.</summary>
    public int LocalPort { get; private set; }

    /// <summary>The URL clients connect to, e.g. <c>ws://127.0.0.1:9080</c> (add <c>/ROOM</c> for a room), or null when not listening.</summary>
    public string? Url { get; private set; }

    /// <summary>Whether the listener accepts connections now (started, and not stopping).</summary>
    public bool IsListening
    {
        get
        {
            lock (_gate)
            {
                return _state == State.Listening && LocalPort != 0;
            }
        }
    }

    /// <summary>
    /// Starts accepting clients on <see cref="BindIp"/>:<paramref name="port"/> (0 picks a free port, see
    /// <see cref="LocalPort"/>). Each admitted client joins the router until it disconnects or <see cref="StopAsync"/>.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, <see cref="Error.AlreadyInUse"/> when the port is taken, or <see cref="Error.CantCreate"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The port is outside 0–65535.</exception>
    /// <exception cref="InvalidOperationException">Already listening (or stopping): call <see cref="StopAsync"/> first.</exception>
    public async Task<Error> ListenAsync(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        WebApplication app;
        lock (_gate)
        {
            if (_state != State.Idle)
            {
                throw new InvalidOperationException("The listener is already listening; call StopAsync() before listening again.");
            }

            _protocols = [.. _protocolList];
            _limits = new WsLimits(_maxPacketSize + GdMpFrame.HeaderSize, _maxQueuedBytes, _maxViolations, _closeTimeout, _logger, _router.SendBudget)
            {
                IncompleteMessageTimeout = _incompleteMessageTimeout,
            };
            _stopping = new CancellationTokenSource();
            _allHandlersGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            app = BuildApp(port);
            _app = app;
            _state = State.Listening;
        }

        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            lock (_gate)
            {
                _app = null;
                _state = State.Idle;
            }

            await app.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
            return IsAddressInUse(ex) ? Error.AlreadyInUse : Error.CantCreate;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        var localPort = address is not null && Uri.TryCreate(address.Replace("[::]", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var u) ? u.Port : port;
        var host = _bindIp switch
        {
            "*" => "127.0.0.1",
            _ when IPAddress.TryParse(_bindIp, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => "[" + _bindIp + "]",
            _ => _bindIp,
        };
        var url = string.Create(CultureInfo.InvariantCulture, $"{(_certificate is null ? "ws" : "wss")}://{host}:{localPort}");
        lock (_gate)
        {
            Url = url;
            LocalPort = localPort;
        }

        Log.Listening(_logger, url);
        return Error.Ok;
    }

    /// <summary>
    /// Stops: refuses new requests (503), closes every connection with 1001 "server stopping" (they leave the router once
    /// closed, or are aborted after <see cref="CloseTimeout"/>), and stops Kestrel. Idempotent; concurrent calls share one stop.
    /// </summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            if (_stopTask is not null)
            {
                return _stopTask;
            }

            if (_state != State.Listening)
            {
                return Task.CompletedTask;
            }

            _state = State.Stopping;
            if (_handlers == 0)
            {
                _allHandlersGone!.TrySetResult();
            }

            _stopTask = Task.Run(StopCoreAsync);
            return _stopTask;
        }
    }

    private async Task StopCoreAsync()
    {
        WebApplication app;
        WsRelayConnection[] connections;
        lock (_gate)
        {
            app = _app!;
            _app = null;
            connections = [.. _connections];
        }

        foreach (var c in connections)
        {
            c.CloseWith(WsCloseCodes.GoingAway, "server stopping");
        }

        // Let the clients answer the close, then abort whatever is left.
        var gone = _allHandlersGone!.Task;
        await Task.WhenAny(gone, Task.Delay(_closeTimeout)).ConfigureAwait(false);
        await _stopping!.CancelAsync().ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAny(gone, Task.Delay(_closeTimeout)).ConfigureAwait(false);
        lock (_gate)
        {
            LocalPort = 0;
            Url = null;
            _stopping.Dispose();
            _stopping = null;
            _state = State.Idle;
            _stopTask = null;
        }
    }

    /// <inheritdoc cref="StopAsync"/>
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>
    /// Wire-level counters: clients connected through this listener, WebSocket messages and bytes through its sockets,
    /// connections accepted and refused, bytes queued now. <see cref="WebSocketTransportStats.Relayed"/> is the router's
    /// count (every transport of the router). Any thread.
    /// </summary>
    public WebSocketTransportStats GetTransportStats()
    {
        long mi, bi, mo, bo, queued = 0;
        int peers;
        lock (_gate)
        {
            mi = _goneMessagesIn;
            bi = _goneBytesIn;
            mo = _goneMessagesOut;
            bo = _goneBytesOut;
            peers = _connections.Count;
            foreach (var c in _connections)
            {
                var s = c.Socket;
                mi += s.MessagesIn;
                bi += s.BytesIn;
                mo += s.MessagesOut;
                bo += s.BytesOut;
                queued += s.QueuedBytes;
            }
        }

        return new WebSocketTransportStats(peers, mi, bi, mo, bo, _router.GetStatistics().Relayed,
            Interlocked.Read(ref _accepted), Interlocked.Read(ref _refused), queued);
    }

    internal static bool IsValidBindIp(string value) => value == "*" || value == "localhost" || IPAddress.TryParse(value, out _);

    internal static string BindIpMessage(string value) => $"BindIp must be \"*\", \"localhost\" or an IP address, not \"{value}\".";

    internal const string CertificateMessage = "The TLS certificate must include its private key (load it from a PFX/PKCS#12 file, or use CopyWithPrivateKey).";

    private void ThrowIfActive(string what)
    {
        lock (_gate)
        {
            if (_state != State.Idle)
            {
                throw new InvalidOperationException($"{what} cannot change while the listener is listening; set it before ListenAsync.");
            }
        }
    }

    private static bool IsAddressInUse(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is Microsoft.AspNetCore.Connections.AddressInUseException
                || ex is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    private WebApplication BuildApp(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = _closeTimeout + TimeSpan.FromSeconds(1));
        var bindIp = _bindIp;
        var handshakeTimeout = _handshakeTimeout;
        var cert = _certificate;
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            // Before the upgrade: the wait for a first request (KeepAliveTimeout) and for its headers. After the upgrade
            // neither applies; a WebSocket may stay idle as long as it likes.
            o.Limits.RequestHeadersTimeout = handshakeTimeout;
            o.Limits.KeepAliveTimeout = handshakeTimeout;
            o.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            o.Limits.MaxRequestBodySize = 0;
            Action<ListenOptions> configure = lo =>
            {
                lo.Protocols = HttpProtocols.Http1;
                if (cert is not null)
                {
                    lo.UseHttps(cert);
                }
            };
            switch (bindIp)
            {
                case "*": o.ListenAnyIP(port, configure); break;
                case "localhost": o.Listen(IPAddress.Loopback, port, configure); break;
                default: o.Listen(IPAddress.Parse(bindIp), port, configure); break;
            }
        });
        var app = builder.Build();
        app.Run(HandleRequestAsync);
        return app;
    }

    private async Task HandleRequestAsync(HttpContext context)
    {
        var endPoint = RemoteEndPointOf(context.Connection);
        var headers = context.Request.Headers;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var check = WsHandshake.CheckRequest(context.Request.Method, headers.Upgrade, headers.Connection, headers.SecWebSocketVersion, headers.SecWebSocketKey);
        if (check == WsRequestCheck.NotWebSocket || upgrade is not { IsUpgradableRequest: true })
        {
            await RefuseAsync(context, endPoint, StatusCodes.Status426UpgradeRequired,
                "this is a Godot WebSocket multiplayer server: connect with a WebSocket client", "not a WebSocket request", log: true).ConfigureAwait(false);
            return;
        }

        if (check == WsRequestCheck.UnsupportedVersion)
        {
            var why = "unsupported WebSocket version \"" + headers.SecWebSocketVersion + "\" (13 is spoken here)";
            await RefuseAsync(context, endPoint, StatusCodes.Status426UpgradeRequired, why, why, log: true).ConfigureAwait(false);
            return;
        }

        if (check == WsRequestCheck.InvalidKey)
        {
            const string why = "missing or invalid Sec-WebSocket-Key (the base64 of 16 bytes)";
            await RefuseAsync(context, endPoint, StatusCodes.Status400BadRequest, why, why, log: true).ConfigureAwait(false);
            return;
        }

        if (!TryChooseSubprotocol(WsHandshake.ParseProtocols(headers.SecWebSocketProtocol), out var subprotocol))
        {
            var why = _protocols.Length == 0
                ? "no WebSocket subprotocol is accepted here"
                : "none of the offered subprotocols is accepted (accepted: " + string.Join(", ", _protocols) + ")";
            await RefuseAsync(context, endPoint, StatusCodes.Status400BadRequest, why, why, log: true).ConfigureAwait(false);
            return;
        }

        CancellationToken stopping = default;
        var listening = false;
        lock (_gate)
        {
            if (_state == State.Listening)
            {
                listening = true;
                _handlers++;
                stopping = _stopping!.Token;
            }
        }

        if (!listening)
        {
            await RefuseAsync(context, endPoint, StatusCodes.Status503ServiceUnavailable, "service unavailable", "server stopping", log: true).ConfigureAwait(false);
            return;
        }

        try
        {
            await AdmitAndRunAsync(context, upgrade, endPoint, subprotocol, stopping).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A connection handler must never take the server down; the failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(_logger, ex);
        }
        finally
        {
            lock (_gate)
            {
                if (--_handlers == 0 && _state != State.Listening)
                {
                    _allHandlersGone?.TrySetResult();
                }
            }
        }
    }

    private async Task AdmitAndRunAsync(HttpContext context, IHttpUpgradeFeature upgrade, IPEndPoint? endPoint, string? subprotocol, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        var request = new AdmissionRequest(WsRelayConnection.TransportName, endPoint, RoomOf(context.Request.Path))
        {
            Credential = CredentialOf(context.Request),
            Headers = HeadersOf(context.Request.Headers),
        };

        AdmissionTicket ticket;
        try
        {
            ticket = await _router.AdmitAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the client went away while admission ran
        }

        using (ticket)
        {
            if (!ticket.IsAccepted)
            {
                // The router has logged and counted it; the client learns the class of refusal, not the detail.
                var (status, body) = Answer(ticket.Refusal);
                await RefuseAsync(context, endPoint, status, body, ticket.Refusal + ": " + ticket.Detail, log: false).ConfigureAwait(false);
                return;
            }

            // Disposing the ticket (leaving this block) releases the reservation unless Join used it.
            // The upgrade (RFC 6455 §4.2.2): 101 with the accept value and the chosen subprotocol; no extension. From here on
            // the stream carries WebSocket frames, read and written by the connection alone.
            var response = context.Response.Headers;
            response.Connection = "Upgrade";
            response.Upgrade = "websocket";
            response.SecWebSocketAccept = Rfc6455.ComputeAccept(context.Request.Headers.SecWebSocketKey.ToString());
            if (subprotocol is not null)
            {
                response.SecWebSocketProtocol = subprotocol;
            }

            var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);
            var connection = new WsRelayConnection(_router, stream, _limits, endPoint, context.Abort);
            bool listening;
            lock (_gate)
            {
                listening = _state == State.Listening;
                if (listening)
                {
                    _connections.Add(connection);
                }
            }

            if (!listening)
            {
                connection.Abort();
                await connection.RunAsync(CancellationToken.None).ConfigureAwait(false);
                return;
            }

            try
            {
                _router.Join(ticket, connection);
                WsMetrics.HandshakeDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                Interlocked.Increment(ref _accepted);
                Log.PeerConnected(_logger, connection.PeerId, connection.Socket.RemoteAddress, connection.Socket.RemotePort);
                await connection.RunAsync(stopping).ConfigureAwait(false);
            }
            finally
            {
                _router.Leave(connection);
                lock (_gate)
                {
                    _connections.Remove(connection);
                    var s = connection.Socket;
                    _goneMessagesIn += s.MessagesIn;
                    _goneBytesIn += s.BytesIn;
                    _goneMessagesOut += s.MessagesOut;
                    _goneBytesOut += s.BytesOut;
                }
            }

            var socket = connection.Socket;
            Log.PeerDisconnected(_logger, connection.PeerId, socket.LocalCloseReason,
                socket.RemoteClosed ? string.Create(CultureInfo.InvariantCulture, $"{socket.RemoteCloseCode} {socket.RemoteCloseDescription}") : null);
        }
    }

    // The room a request asks for: its path without the leading slash, or the default room. An invalid name is passed
    // on as it is: the router refuses it (InvalidRoom, HTTP 400) and counts it.
    private string RoomOf(PathString path)
    {
        var value = path.Value;
        return !_roomsFromPath || string.IsNullOrEmpty(value) || value == "/" ? Room.DefaultName : value[1..];
    }

    private static string? CredentialOf(HttpRequest request)
    {
        if (request.Query.TryGetValue("token", out var query) && query.Count > 0 && !string.IsNullOrEmpty(query[0]))
        {
            return query[0];
        }

        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value.AsSpan(7).Trim();
            return token.IsEmpty ? null : token.ToString();
        }

        return null;
    }

    private static Dictionary<string, string> HeadersOf(IHeaderDictionary headers)
    {
        var result = new Dictionary<string, string>(headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in headers)
        {
            if (values.Count > 0)
            {
                result[name] = values[0] ?? string.Empty;
            }
        }

        return result;
    }

    private static IPEndPoint? RemoteEndPointOf(ConnectionInfo connection)
    {
        var ip = connection.RemoteIpAddress;
        if (ip is null)
        {
            return null;
        }

        return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, connection.RemotePort);
    }

    private static (int Status, string Body) Answer(AdmissionRefusal refusal) => refusal switch
    {
        AdmissionRefusal.InvalidRoom => (StatusCodes.Status400BadRequest, "invalid room"),
        AdmissionRefusal.Unauthorized => (StatusCodes.Status401Unauthorized, "unauthorized"),
        AdmissionRefusal.Forbidden or AdmissionRefusal.Other => (StatusCodes.Status403Forbidden, "forbidden"),
        _ => (StatusCodes.Status503ServiceUnavailable, "service unavailable"),
    };

    private bool TryChooseSubprotocol(List<string> requested, out string? chosen)
    {
        chosen = null;
        if (_protocols.Length == 0)
        {
            return requested.Count == 0;
        }

        foreach (var offer in requested)
        {
            if (Array.IndexOf(_protocols, offer) >= 0)
            {
                chosen = offer;
                return true;
            }
        }

        return false;
    }

    private async Task RefuseAsync(HttpContext context, IPEndPoint? endPoint, int status, string body, string reason, bool log)
    {
        Interlocked.Increment(ref _refused);
        if (log)
        {
            Log.Refused(_logger, endPoint?.Address.ToString() ?? string.Empty, reason);
        }

        RequestRefused?.Invoke(endPoint, status, reason);
        var response = context.Response;
        response.StatusCode = status;
        if (status == StatusCodes.Status426UpgradeRequired)
        {
            response.Headers.Upgrade = "websocket";
            response.Headers.SecWebSocketVersion = "13";
        }

        response.ContentType = "text/plain; charset=utf-8";
        if (status == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        var bytes = Encoding.UTF8.GetBytes(body + "\n");
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes).ConfigureAwait(false);
    }
}

/// <summary>Wire-level counters of a <see cref="WebSocketRelayListener"/> (and so of a <see cref="WebSocketServer"/>).</summary>
/// <param name="Peers">Clients connected now.</param>
/// <param name="MessagesIn">WebSocket messages received from clients.</param>
/// <param name="BytesIn">Bytes of those messages (headers included).</param>
/// <param name="MessagesOut">WebSocket messages sent to clients (system messages, relays and the server's own).</param>
/// <param name="BytesOut">Bytes of those messages.</param>
/// <param name="Relayed">Client packets the router forwarded to other clients (one per receiving client; all of the router's transports).</param>
/// <param name="Accepted">Connections accepted since listening.</param>
/// <param name="Refused">Requests refused (not a WebSocket, wrong subprotocol, refused admission, stopping).</param>
/// <param name="QueuedBytes">Bytes waiting to be sent now, over all clients.</param>
public readonly record struct WebSocketTransportStats(
    int Peers, long MessagesIn, long BytesIn, long MessagesOut, long BytesOut, long Relayed, long Accepted, long Refused, long QueuedBytes);
