using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using GdNet.Peers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GdNet.WebSockets;

/// <summary>
/// Godot 3's <c>WebSocketServer</c> in multiplayer mode (<c>gd_mp_api = true</c>, spec §5): the server (peer 1) that Godot
/// 3 <c>WebSocketClient</c>s and <see cref="WebSocketClient"/>s join. It assigns each client a random id, tells everyone
/// who joined and left (SYS_ID, SYS_ADD, SYS_DEL), relays packets between clients, and hands packets for the server to
/// the game thread. Runs on Kestrel, in process.
/// </summary>
/// <remarks>
/// <para>Rules for what clients send (spec §5.3), each failure a counted <see cref="PacketRejection"/>: a message shorter
/// than 9 bytes (<see cref="PacketRejectReason.TooSmall"/>), an unknown type byte (<see cref="PacketRejectReason.Malformed"/>),
/// a system message (<see cref="PacketRejectReason.UnsupportedFrame"/>), a text frame (UnsupportedFrame), a <c>from</c>
/// that is not the sender's id (<see cref="PacketRejectReason.SpoofedSource"/>), a target that is the sender or not
/// connected (<see cref="PacketRejectReason.UnknownTarget"/>), a message over <see cref="WebSocketMultiplayerPeer.MaxPacketSize"/>
/// (<see cref="PacketRejectReason.TooLarge"/>, then close 1009). Only the offending client is affected.</para>
/// <para>Deliberate difference from Godot 3.2.3: a client's packet to <c>-1</c> ("everyone but the server") is relayed to
/// the other clients and <b>not</b> delivered to the server. Godot 3.2.3's WebSocket server also delivers it locally (a
/// bug: it compares against the negated sender id); its ENet server, and this one, do not.</para>
/// <para>Refused connections (<see cref="NetworkedMultiplayerPeer.RefuseNewConnections"/>, <see cref="MaxClients"/>, an
/// unacceptable subprotocol) get an HTTP error instead of the upgrade and are counted as
/// <see cref="PacketRejectReason.Refused"/>.</para>
/// </remarks>
public sealed class WebSocketServer : WebSocketMultiplayerPeer, IWsMessageHandler
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<int, WsConnection> _byId = new();
    private readonly Dictionary<int, long> _departed = [];
    private readonly Queue<(int Id, long At)> _departures = new();
    private volatile WsConnection[] _connections = [];
    private WebApplication? _app;
    private CancellationTokenSource? _stopping;
    private TaskCompletionSource? _allHandlersGone;
    private string[] _protocols = [];
    private string _bindIp = "*";
    private int _maxClients = 4096;
    private TimeSpan _handshakeTimeout = TimeSpan.FromSeconds(3);
    private X509Certificate2? _certificate;
    private volatile bool _listening;
    private bool _stopped = true;
    private int _handshaking;
    private int _handlers;
    private WsLimits _limits = null!;

    // Totals of connections that are gone, and server-level counts.
    private long _goneMessagesIn;
    private long _goneBytesIn;
    private long _goneMessagesOut;
    private long _goneBytesOut;
    private long _relayed;
    private long _accepted;
    private long _refused;

    /// <summary>Godot's <c>bind_ip</c>: <c>"*"</c> (every interface, the default as in Godot), <c>"localhost"</c>, or an IP address.</summary>
    /// <exception cref="ArgumentException">Not <c>*</c>, <c>localhost</c> or an IP address.</exception>
    /// <exception cref="InvalidOperationException">Changed while listening.</exception>
    public string BindIp
    {
        get => _bindIp;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value != "*" && value != "localhost" && !IPAddress.TryParse(value, out _))
            {
                throw new ArgumentException($"BindIp must be \"*\", \"localhost\" or an IP address, not \"{value}\".", nameof(value));
            }

            ThrowIfActive(nameof(BindIp));
            _bindIp = value;
        }
    }

    /// <summary>
    /// Godot's <c>ssl_certificate</c> and <c>private_key</c> in one: when set, the server speaks <c>wss://</c> (TLS) with
    /// this certificate, which must hold its private key. Null (the default) is plain <c>ws://</c>.
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
                throw new ArgumentException("The TLS certificate must include its private key (load it from a PFX/PKCS#12 file, or use CopyWithPrivateKey).", nameof(value));
            }

            ThrowIfActive(nameof(SslCertificate));
            _certificate = value;
        }
    }

    /// <summary>The most clients connected at once (default 4096); more are refused with HTTP 503.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxClients
    {
        get => _maxClients;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxClients = value;
        }
    }

    /// <summary>Godot's <c>handshake_timeout</c>: how long a client may take to send its HTTP upgrade request. Default 3 s.</summary>
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

    /// <summary>The port actually listened on (useful after <c>Listen(0)</c>), 0 when not listening.</summary>
    public int LocalPort { get; private set; }

    /// <summary>The URL clients connect to, e.g. <c>ws://127.0.0.1:9080</c>, or null when not listening.</summary>
    public string? Url { get; private set; }

    /// <summary>How many clients are connected now. Any thread.</summary>
    public int PeerCount => _connections.Length;

    private protected override bool IsActive => !_stopped;

    /// <summary>Godot's <c>is_listening()</c>.</summary>
    public bool IsListening() => _listening;

    /// <summary>
    /// Godot's <c>listen(port, protocols, gd_mp_api)</c>: starts accepting clients on <see cref="BindIp"/>:<paramref name="port"/>
    /// (0 picks a free port, see <see cref="LocalPort"/>). With <paramref name="protocols"/> the server accepts only
    /// clients offering one of them (the first the client lists that is in <paramref name="protocols"/> is chosen);
    /// without, only clients offering none.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, <see cref="Error.AlreadyInUse"/> when the port is taken, or <see cref="Error.CantCreate"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The port is outside 0–65535, or <paramref name="gdMpApi"/> is false.</exception>
    /// <exception cref="InvalidOperationException">Already listening: call <see cref="Stop"/> first.</exception>
    public Error Listen(int port, string[]? protocols = null, bool gdMpApi = true) =>
        Task.Run(() => ListenAsync(port, protocols, gdMpApi)).GetAwaiter().GetResult();

    /// <inheritdoc cref="Listen"/>
    public async Task<Error> ListenAsync(int port, string[]? protocols = null, bool gdMpApi = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (!gdMpApi)
        {
            throw new ArgumentOutOfRangeException(nameof(gdMpApi), "Only the multiplayer protocol (gdMpApi = true) is supported; for plain WebSockets use System.Net.WebSockets directly.");
        }

        lock (_gate)
        {
            if (!_stopped)
            {
                throw new InvalidOperationException("The server is already listening; call Stop() before listening again.");
            }

            _stopped = false;
        }

        _protocols = protocols is null ? [] : [.. protocols];
        _limits = CreateLimits();
        _stopping = new CancellationTokenSource();
        _allHandlersGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var app = BuildApp(port);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            ResetAfterFailedListen();
            return IsAddressInUse(ex) ? Error.AlreadyInUse : Error.CantCreate;
        }

        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        LocalPort = address is not null && Uri.TryCreate(address.Replace("[::]", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var u) ? u.Port : port;
        var host = _bindIp switch
        {
            "*" => "127.0.0.1",
            _ when IPAddress.TryParse(_bindIp, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 => "[" + _bindIp + "]",
            _ => _bindIp,
        };
        Url = string.Create(CultureInfo.InvariantCulture, $"{(_certificate is null ? "ws" : "wss")}://{host}:{LocalPort}");
        _listening = true;
        Log.Listening(Logger, Url);
        return Error.Ok;
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

    private void ResetAfterFailedListen()
    {
        _stopping?.Dispose();
        _stopping = null;
        lock (_gate)
        {
            _stopped = true;
        }
    }

    private WebApplication BuildApp(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = CloseTimeout + TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            // Before the upgrade: the wait for a first request (KeepAliveTimeout) and for its headers. After the upgrade
            // neither applies; a WebSocket may stay idle as long as it likes.
            o.Limits.RequestHeadersTimeout = _handshakeTimeout;
            o.Limits.KeepAliveTimeout = _handshakeTimeout;
            o.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            o.Limits.MaxRequestBodySize = 0;
            var cert = _certificate;
            Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> configure = lo =>
            {
                lo.Protocols = HttpProtocols.Http1;
                if (cert is not null)
                {
                    lo.UseHttps(cert);
                }
            };
            switch (_bindIp)
            {
                case "*": o.ListenAnyIP(port, configure); break;
                case "localhost": o.Listen(IPAddress.Loopback, port, configure); break;
                default: o.Listen(IPAddress.Parse(_bindIp), port, configure); break;
            }
        });
        var app = builder.Build();

        // Wrap the upgraded stream in a WsStream, which the send loop shares with the WebSocket (see WsConnection).
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
            {
                var feature = new WsStreamUpgradeFeature(upgrade);
                context.Features.Set<IHttpUpgradeFeature>(feature);
                context.Features.Set(feature);
            }

            return next(context);
        });
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(HandleRequestAsync);
        return app;
    }

    /// <summary>Godot's <c>stop()</c>: closes every client (1001 "server stopping"), stops listening, drops queued packets and events.</summary>
    public void Stop() => Task.Run(StopAsync).GetAwaiter().GetResult();

    /// <inheritdoc cref="Stop"/>
    public async Task StopAsync()
    {
        WebApplication? app;
        WsConnection[] connections;
        lock (_gate)
        {
            if (_stopped || _app is null)
            {
                return;
            }

            _listening = false;
            app = _app;
            _app = null;
            connections = _connections;
            if (_handlers == 0)
            {
                _allHandlersGone!.TrySetResult();
            }
        }

        foreach (var c in connections)
        {
            c.RequestClose(WsCloseCodes.GoingAway, "server stopping");
        }

        // Let the clients answer the close, then abort whatever is left.
        await Task.WhenAny(_allHandlersGone!.Task, Task.Delay(CloseTimeout)).ConfigureAwait(false);
        await _stopping!.CancelAsync().ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAny(_allHandlersGone.Task, Task.Delay(CloseTimeout)).ConfigureAwait(false);
        _stopping.Dispose();
        _stopping = null;
        Inbox.Clear();
        SignalInboxRoom();
        LocalPort = 0;
        Url = null;
        lock (_gate)
        {
            _stopped = true;
        }
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>
    /// Godot's <c>disconnect_peer(id, code, reason)</c>: closes that client's connection after what is already queued for
    /// it. Its <see cref="NetworkedMultiplayerPeer.PeerDisconnected"/> follows once the socket is closed (at most
    /// <see cref="WebSocketMultiplayerPeer.CloseTimeout"/> later).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not a close code an application may send (1000, 3000–4999).</exception>
    /// <returns>False when no such client is connected.</returns>
    public bool DisconnectPeer(int id, int code = WsCloseCodes.Normal, string reason = "")
    {
        if (code != WsCloseCodes.Normal && code != WsCloseCodes.GoingAway && code is < 3000 or > 4999)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Use 1000 (normal), 1001 (going away) or an application code from 3000 to 4999.");
        }

        if (!_byId.TryGetValue(id, out var c))
        {
            return false;
        }

        Log.Kicked(Logger, id, reason);
        c.RequestClose(code, reason ?? string.Empty);
        return true;
    }

    /// <summary>Godot's <c>has_peer(id)</c>. Any thread.</summary>
    public bool HasPeer(int id) => _byId.ContainsKey(id);

    /// <summary>The ids of the connected clients. Any thread.</summary>
    public int[] GetPeers()
    {
        var list = _connections;
        var ids = new int[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            ids[i] = list[i].Id;
        }

        return ids;
    }

    /// <summary>Godot's <c>get_peer_address(id)</c>: the client's IP address, or an empty string if unknown.</summary>
    public string GetPeerAddress(int id) => _byId.TryGetValue(id, out var c) ? c.RemoteAddress : string.Empty;

    /// <summary>Godot's <c>get_peer_port(id)</c>: the client's TCP port, or 0 if unknown.</summary>
    public int GetPeerPort(int id) => _byId.TryGetValue(id, out var c) ? c.RemotePort : 0;

    /// <summary>Wire-level counters (messages and bytes through the sockets, relayed messages, connections). Any thread.</summary>
    public WebSocketTransportStats GetTransportStats()
    {
        long mi = Interlocked.Read(ref _goneMessagesIn), bi = Interlocked.Read(ref _goneBytesIn);
        long mo = Interlocked.Read(ref _goneMessagesOut), bo = Interlocked.Read(ref _goneBytesOut);
        var list = _connections;
        long queued = 0;
        foreach (var c in list)
        {
            mi += c.MessagesIn;
            bi += c.BytesIn;
            mo += c.MessagesOut;
            bo += c.BytesOut;
            queued += c.QueuedBytes;
        }

        return new WebSocketTransportStats(list.Length, mi, bi, mo, bo, Interlocked.Read(ref _relayed),
            Interlocked.Read(ref _accepted), Interlocked.Read(ref _refused), queued);
    }

    /// <inheritdoc/>
    public override ConnectionStatus GetConnectionStatus() => _listening ? ConnectionStatus.Connected : ConnectionStatus.Disconnected;

    /// <inheritdoc/>
    public override int GetUniqueId() => TargetPeerServer;

    /// <inheritdoc/>
    public override bool IsServer() => true;

    /// <summary>
    /// Sends <paramref name="packet"/> to the target set by <c>SetTargetPeer</c>: 0 every client, −N every client but N,
    /// N that client. A target of 1 (the server itself) sends nothing, as in Godot.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>; <see cref="Error.Unconfigured"/> when not listening; <see cref="Error.InvalidParameter"/>
    /// when the target client is not connected or the packet exceeds <see cref="WebSocketMultiplayerPeer.MaxPacketSize"/>.</returns>
    public override Error PutPacket(ReadOnlySpan<byte> packet)
    {
        if (!_listening)
        {
            return Error.Unconfigured;
        }

        var to = TargetPeer;
        if (!CheckOutgoingSize(to, packet.Length))
        {
            return Error.InvalidParameter;
        }

        if (to == TargetPeerServer)
        {
            return Error.Ok;
        }

        if (to > 0)
        {
            if (!_byId.TryGetValue(to, out var target))
            {
                return Error.InvalidParameter;
            }

            Send(target, target.EnqueueData(TargetPeerServer, to, packet));
        }
        else
        {
            foreach (var c in _connections)
            {
                if (to < 0 && c.Id == -to)
                {
                    continue;
                }

                Send(c, c.EnqueueData(TargetPeerServer, to, packet));
            }
        }

        Statistics.CountOut(to, packet.Length);
        return Error.Ok;
    }

    private void Send(WsConnection target, EnqueueResult result)
    {
        if (result == EnqueueResult.Full)
        {
            KickSlow(target);
        }
    }

    private void SendCopy(WsConnection target, ReadOnlySpan<byte> message) => Send(target, target.EnqueueMessage(message));

    private void KickSlow(WsConnection target)
    {
        var reason = string.Create(CultureInfo.InvariantCulture, $"outgoing queue over {_limits.MaxQueuedBytes} bytes: the peer reads too slowly");
        Inbox.Reject(new PacketRejection(target.Id, PacketRejectReason.QueueFull, target.QueuedBytes, _limits.MaxQueuedBytes, "disconnected: reads too slowly"));
        Log.Kicked(Logger, target.Id, reason);
        target.RequestClose(WsCloseCodes.PolicyViolation, reason);
    }

    /// <summary>Receive rules of spec §5.3 for one message of one client. Runs on that client's receive task.</summary>
    MessageDisposition IWsMessageHandler.OnMessage(WsConnection connection, ReadOnlySpan<byte> message)
    {
        var sender = connection.Id;
        if (!GdMpFrame.TryReadHeader(message, out var h))
        {
            connection.Violate(message.Length < GdMpFrame.HeaderSize
                ? new PacketRejection(sender, PacketRejectReason.TooSmall, message.Length, GdMpFrame.HeaderSize, "shorter than the 9-byte header")
                : new PacketRejection(sender, PacketRejectReason.Malformed, message.Length, 0, string.Create(CultureInfo.InvariantCulture, $"unknown message type {message[0]}")));
            return MessageDisposition.Done;
        }

        if (h.Type != GdMpMessageType.Data)
        {
            connection.Violate(new PacketRejection(sender, PacketRejectReason.UnsupportedFrame, message.Length, 0, "system message from a client (only the server sends them)"));
            return MessageDisposition.Done;
        }

        if (h.From != sender)
        {
            connection.Violate(new PacketRejection(sender, PacketRejectReason.SpoofedSource, message.Length, 0, string.Create(CultureInfo.InvariantCulture, $"claims to be peer {h.From}")));
            return MessageDisposition.Done;
        }

        var payload = GdMpFrame.Payload(message);
        var to = h.To;
        if (to == TargetPeerServer)
        {
            return DeliverLocally(sender, payload);
        }

        if (to > TargetPeerServer)
        {
            if (to == sender || !_byId.TryGetValue(to, out var target))
            {
                if (to != sender && RecentlyDeparted(to))
                {
                    // The target left while this was on its way: a race every relay has, not misbehaviour.
                    Inbox.Reject(new PacketRejection(sender, PacketRejectReason.UnknownTarget, message.Length, 0, string.Create(CultureInfo.InvariantCulture, $"target {to} has just left")));
                    return MessageDisposition.Done;
                }

                connection.Violate(new PacketRejection(sender, PacketRejectReason.UnknownTarget, message.Length, 0, string.Create(CultureInfo.InvariantCulture, $"target {to} is {(to == sender ? "the sender itself" : "not connected")}")));
                return MessageDisposition.Done;
            }

            SendCopy(target, message);
            Interlocked.Increment(ref _relayed);
            return MessageDisposition.Done;
        }

        // Broadcast (0) or exclusion (-N): the server gets it unless it is the excluded one. Local delivery first: when
        // the inbox is full nothing has been relayed yet, and the retry does it all.
        var local = to == 0 || to != -TargetPeerServer;
        if (local && !TryDeliver(sender, payload))
        {
            return MessageDisposition.RetryLater;
        }

        foreach (var c in _connections)
        {
            if (c.Id == sender || c.Id == -to)
            {
                continue;
            }

            SendCopy(c, message);
            Interlocked.Increment(ref _relayed);
        }

        return MessageDisposition.Done;
    }

    Task IWsMessageHandler.WhenRetryAsync(int length) => WhenInboxMayHaveRoomAsync(length);

    private MessageDisposition DeliverLocally(int sender, ReadOnlySpan<byte> payload) =>
        TryDeliver(sender, payload) ? MessageDisposition.Done : MessageDisposition.RetryLater;

    private async Task HandleRequestAsync(HttpContext context)
    {
        var ip = context.Connection.RemoteIpAddress;
        var address = (ip is { IsIPv4MappedToIPv6: true } ? ip.MapToIPv4() : ip)?.ToString() ?? string.Empty;
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RefuseAsync(context, address, StatusCodes.Status426UpgradeRequired, "this is a Godot WebSocket multiplayer server: connect with a WebSocket client").ConfigureAwait(false);
            return;
        }

        if (!TryChooseSubprotocol(context.WebSockets.WebSocketRequestedProtocols, out var subprotocol))
        {
            await RefuseAsync(context, address, StatusCodes.Status400BadRequest, _protocols.Length == 0
                ? "no WebSocket subprotocol is accepted here"
                : "none of the offered subprotocols is accepted (accepted: " + string.Join(", ", _protocols) + ")").ConfigureAwait(false);
            return;
        }

        string? refusal = null;
        lock (_gate)
        {
            if (!_listening)
            {
                refusal = "server stopping";
            }
            else if (RefuseNewConnections)
            {
                refusal = "the server is refusing new connections";
            }
            else if (_connections.Length + _handshaking >= _maxClients)
            {
                refusal = string.Create(CultureInfo.InvariantCulture, $"the server is full ({_maxClients} clients)");
            }
            else
            {
                _handshaking++;
                _handlers++;
            }
        }

        if (refusal is not null)
        {
            await RefuseAsync(context, address, StatusCodes.Status503ServiceUnavailable, refusal).ConfigureAwait(false);
            return;
        }

        WsConnection? connection = null;
        try
        {
            WebSocket ws;
            try
            {
                ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
                {
                    SubProtocol = subprotocol,
                    DangerousEnableCompression = false,
                    KeepAliveInterval = TimeSpan.Zero,
                }).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _handshaking--;
                }
            }

            var stream = context.Features.Get<WsStreamUpgradeFeature>()?.Stream
                ?? throw new InvalidOperationException("the upgrade did not go through the WsStream feature");
            connection = new WsConnection(ws, stream, maskFrames: false, Inbox, _limits)
            {
                RemoteAddress = address,
                RemotePort = context.Connection.RemotePort,
            };
            if (!Register(connection))
            {
                connection.Abort();
                await connection.RunAsync(this, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            Log.PeerConnected(Logger, connection.Id, address, connection.RemotePort);
            await connection.RunAsync(this, _stopping!.Token).ConfigureAwait(false);
            Unregister(connection);
            Log.PeerDisconnected(Logger, connection.Id, connection.LocalCloseReason, connection.RemoteCloseStatus is { } s ? $"{(int)s} {connection.RemoteCloseDescription}" : null);
        }
#pragma warning disable CA1031 // A connection handler must never take the server down; the failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(Logger, ex);
            if (connection is not null)
            {
                connection.Abort();
                Unregister(connection);
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--_handlers == 0 && !_listening)
                {
                    _allHandlersGone?.TrySetResult();
                }
            }
        }
    }

    private bool TryChooseSubprotocol(IList<string> requested, out string? chosen)
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

    private async Task RefuseAsync(HttpContext context, string address, int status, string reason)
    {
        Interlocked.Increment(ref _refused);
        Inbox.Reject(new PacketRejection(0, PacketRejectReason.Refused, 0, 0, reason + " (from " + address + ")"));
        Log.Refused(Logger, address, reason);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(reason + "\n").ConfigureAwait(false);
    }

    // Assigns an id and runs the connection sequence of spec §5.2 under the lock, so joins and leaves are seen in one order.
    private bool Register(WsConnection connection)
    {
        Span<byte> sys = stackalloc byte[GdMpFrame.SystemMessageSize];
        lock (_gate)
        {
            if (!_listening)
            {
                return false;
            }

            int id;
            do
            {
                id = Random.Shared.Next(2, int.MaxValue);
            }
            while (_byId.ContainsKey(id));

            connection.Id = id;
            GdMpFrame.WriteSystem(sys, GdMpMessageType.SysId, id);
            connection.EnqueueMessage(sys);
            GdMpFrame.WriteSystem(sys, GdMpMessageType.SysAdd, TargetPeerServer);
            connection.EnqueueMessage(sys);
            var existing = _connections;
            foreach (var e in existing)
            {
                GdMpFrame.WriteSystem(sys, GdMpMessageType.SysAdd, id);
                SendCopy(e, sys);
                GdMpFrame.WriteSystem(sys, GdMpMessageType.SysAdd, e.Id);
                connection.EnqueueMessage(sys);
            }

            _byId[id] = connection;
            var grown = new WsConnection[existing.Length + 1];
            existing.CopyTo(grown, 0);
            grown[^1] = connection;
            _connections = grown;
            Inbox.EnqueueEvent(PeerEventKind.PeerConnected, id);
            Interlocked.Increment(ref _accepted);
            return true;
        }
    }

    private void Unregister(WsConnection connection)
    {
        Span<byte> sys = stackalloc byte[GdMpFrame.SystemMessageSize];
        lock (_gate)
        {
            if (!_byId.TryRemove(new KeyValuePair<int, WsConnection>(connection.Id, connection)))
            {
                return;
            }

            var existing = _connections;
            var shrunk = new WsConnection[existing.Length - 1];
            var j = 0;
            foreach (var e in existing)
            {
                if (!ReferenceEquals(e, connection))
                {
                    shrunk[j++] = e;
                }
            }

            _connections = shrunk;
            GdMpFrame.WriteSystem(sys, GdMpMessageType.SysDel, connection.Id);
            foreach (var e in shrunk)
            {
                SendCopy(e, sys);
            }

            Inbox.EnqueueEvent(PeerEventKind.PeerDisconnected, connection.Id);
            NoteDeparture(connection.Id);
            Statistics.Forget(connection.Id);
            Interlocked.Add(ref _goneMessagesIn, connection.MessagesIn);
            Interlocked.Add(ref _goneBytesIn, connection.BytesIn);
            Interlocked.Add(ref _goneMessagesOut, connection.MessagesOut);
            Interlocked.Add(ref _goneBytesOut, connection.BytesOut);
        }
    }

    /// <summary>How long packets to a client that left are treated as a race (dropped, counted) rather than misbehaviour.</summary>
    private static readonly long DepartureGraceMs = 30_000;

    // Caller holds _gate.
    private void NoteDeparture(int id)
    {
        var now = Environment.TickCount64;
        _departed[id] = now;
        _departures.Enqueue((id, now));
        while (_departures.Count > 0 && (_departures.Count > 4096 || now - _departures.Peek().At > DepartureGraceMs))
        {
            var (old, at) = _departures.Dequeue();
            if (_departed.TryGetValue(old, out var when) && when == at)
            {
                _departed.Remove(old);
            }
        }
    }

    private bool RecentlyDeparted(int id)
    {
        lock (_gate)
        {
            return _departed.TryGetValue(id, out var at) && Environment.TickCount64 - at <= DepartureGraceMs;
        }
    }

    private sealed class WsStreamUpgradeFeature(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
    {
        public WsStream? Stream { get; private set; }

        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync()
        {
            var stream = await inner.UpgradeAsync().ConfigureAwait(false);
            Stream = new WsStream(stream);
            return Stream;
        }
    }
}

/// <summary>Wire-level counters of a <see cref="WebSocketServer"/>.</summary>
/// <param name="Peers">Clients connected now.</param>
/// <param name="MessagesIn">WebSocket messages received from clients.</param>
/// <param name="BytesIn">Bytes of those messages (headers included).</param>
/// <param name="MessagesOut">WebSocket messages sent to clients (system messages, relays and the server's own).</param>
/// <param name="BytesOut">Bytes of those messages.</param>
/// <param name="Relayed">Client messages forwarded to other clients (one per receiving client).</param>
/// <param name="Accepted">Connections accepted since listening.</param>
/// <param name="Refused">Connections refused (refusing, full, wrong subprotocol, not a WebSocket).</param>
/// <param name="QueuedBytes">Bytes waiting to be sent now, over all clients.</param>
public readonly record struct WebSocketTransportStats(
    int Peers, long MessagesIn, long BytesIn, long MessagesOut, long BytesOut, long Relayed, long Accepted, long Refused, long QueuedBytes);
