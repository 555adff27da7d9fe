using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Buffers;
using System.Net;
using System.Text;
using System.Security.Cryptography.X509Certificates;
using GdNet.Peers;

namespace GdNet.WebSockets;

/// <summary>
/// Godot 3's <c>WebSocketClient</c> in multiplayer mode (<c>gd_mp_api = true</c>, spec §5): joins a Godot 3
/// <c>WebSocketServer</c> or a <see cref="WebSocketServer"/>, learns its id from the server's SYS_ID, and sees the other
/// peers come and go through SYS_ADD and SYS_DEL. Speaks RFC 6455 itself over a <see cref="Socket"/> (and an
/// <see cref="SslStream"/> for <c>wss://</c>): its own opening handshake, then <see cref="WsConnection"/>.
/// </summary>
/// <remarks>
/// <para>Events: <see cref="NetworkedMultiplayerPeer.ConnectionSucceeded"/> once the server announced itself (SYS_ADD 1);
/// <see cref="NetworkedMultiplayerPeer.ConnectionFailed"/> when the connection could not be made or ended before that;
/// <see cref="NetworkedMultiplayerPeer.ServerDisconnected"/> when an established connection ends (closed by the server,
/// e.g. a kick, or lost). Godot 3.2.3 reports the last case as <c>connection_failed</c> (spec §5.2); this client does not.
/// <see cref="CloseCode"/> and <see cref="CloseReason"/> then tell what the server said.</para>
/// <para>Nothing is raised after <see cref="DisconnectFromHost"/>: a local disconnect is not an event, as in Godot.</para>
/// </remarks>
public sealed class WebSocketClient : WebSocketMultiplayerPeer
{
    private readonly Lock _gate = new();
    private Session? _session;
    private volatile int _status;
    private volatile int _uniqueId;
    private bool _verifySsl = true;
    private X509Certificate2? _trustedCertificate;
    private TimeSpan _connectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Creates a disconnected client; call <see cref="ConnectToUrl"/>.</summary>
    public WebSocketClient()
    {
        // The status the game sees changes when the events are raised (from Poll), as in Godot, so that a packet that
        // arrived before a disconnection is still read before the status says Disconnected. These handlers are
        // subscribed first, so they run before the user's.
        ConnectionSucceeded += () => _status = (int)ConnectionStatus.Connected;
        ConnectionFailed += () => _status = (int)ConnectionStatus.Disconnected;
        ServerDisconnected += () => _status = (int)ConnectionStatus.Disconnected;
    }

    /// <summary>Godot's <c>verify_ssl</c>: check the server's TLS certificate (default true).</summary>
    /// <exception cref="InvalidOperationException">Changed while connecting or connected.</exception>
    public bool VerifySsl
    {
        get => _verifySsl;
        set
        {
            ThrowIfActive(nameof(VerifySsl));
            _verifySsl = value;
        }
    }

    /// <summary>
    /// Godot's <c>trusted_ssl_certificate</c>: when set, a server certificate chaining to this one (for example this very
    /// self-signed certificate) is trusted, in addition to the system's roots.
    /// </summary>
    /// <exception cref="InvalidOperationException">Changed while connecting or connected.</exception>
    public X509Certificate2? TrustedSslCertificate
    {
        get => _trustedCertificate;
        set
        {
            ThrowIfActive(nameof(TrustedSslCertificate));
            _trustedCertificate = value;
        }
    }

    /// <summary>How long the TCP connect, TLS and HTTP upgrade may take together (default 10 s).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Changed while connecting or connected.</exception>
    public TimeSpan ConnectTimeout
    {
        get => _connectTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            ThrowIfActive(nameof(ConnectTimeout));
            _connectTimeout = value;
        }
    }

    /// <summary>The close code the server sent, after the connection ended (null if it sent none or it was lost).</summary>
    public int? CloseCode { get; private set; }

    /// <summary>The close reason the server sent, or why the connection failed or was lost; null while connected.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>The subprotocol the server chose, or null.</summary>
    public string? SelectedProtocol { get; private set; }

    private protected override bool IsActive => _session is { Stale: false };

    /// <summary>
    /// Godot's <c>connect_to_url(url, protocols, gd_mp_api)</c>: starts connecting to a <c>ws://</c> or <c>wss://</c>
    /// URL, offering <paramref name="protocols"/> as WebSocket subprotocols. The outcome arrives as an event from
    /// <see cref="WebSocketMultiplayerPeer.Poll"/>.
    /// </summary>
    /// <returns><see cref="Error.Ok"/> when connecting started; <see cref="Error.InvalidParameter"/> for a URL that is not ws:// or wss://.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gdMpApi"/> is false.</exception>
    /// <exception cref="InvalidOperationException">Already connecting or connected: call <see cref="DisconnectFromHost"/> first.</exception>
    public Error ConnectToUrl(string url, string[]? protocols = null, bool gdMpApi = true)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!gdMpApi)
        {
            throw new ArgumentOutOfRangeException(nameof(gdMpApi), "Only the multiplayer protocol (gdMpApi = true) is supported; for plain WebSockets use System.Net.WebSockets.ClientWebSocket directly.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
        {
            return Error.InvalidParameter;
        }

        Session session;
        lock (_gate)
        {
            if (_session is { Stale: false })
            {
                throw new InvalidOperationException("The client is already connecting or connected; call DisconnectFromHost() first.");
            }

            Inbox.Clear();
            CloseCode = null;
            CloseReason = null;
            SelectedProtocol = null;
            _uniqueId = 0;
            _status = (int)ConnectionStatus.Connecting;
            session = new Session(this, uri, protocols is null ? [] : [.. protocols], CreateLimits());
            _session = session;
        }

        Log.Connecting(Logger, url);
        session.Running = Task.Run(session.RunAsync);
        return Error.Ok;
    }

    /// <summary>
    /// Godot's <c>disconnect_from_host(code, reason)</c>: closes the connection after what is already queued (bounded by
    /// <see cref="WebSocketMultiplayerPeer.CloseTimeout"/>), drops received packets and raises no event. Does nothing when disconnected.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not 1000, 1001 or 3000–4999.</exception>
    public void DisconnectFromHost(int code = WsCloseCodes.Normal, string reason = "")
    {
        if (code != WsCloseCodes.Normal && code != WsCloseCodes.GoingAway && code is < 3000 or > 4999)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Use 1000 (normal), 1001 (going away) or an application code from 3000 to 4999.");
        }

        Session? s;
        bool live;
        lock (_gate)
        {
            s = _session;
            if (s is null || _status == (int)ConnectionStatus.Disconnected)
            {
                return;
            }

            // A session that already ended (its event not yet polled) has nothing to close; its event is dropped.
            live = !s.Stale;
            s.Stale = true;
            _status = (int)ConnectionStatus.Disconnected;
        }

        if (live)
        {
            s.Close(code, reason ?? string.Empty);
        }

        Inbox.Clear();
        SignalInboxRoom();
    }

    /// <summary>
    /// Drops the connection at once, without a close handshake, as if this process had died (not in Godot; for fault
    /// injection and tests): the server sees the connection lost. Received packets are dropped and no event is raised
    /// here. Does nothing when disconnected.
    /// </summary>
    public void Abort()
    {
        Session? s;
        lock (_gate)
        {
            s = _session;
            if (s is null || _status == (int)ConnectionStatus.Disconnected)
            {
                return;
            }

            s.Stale = true;
            _status = (int)ConnectionStatus.Disconnected;
        }

        s.Abort();
        Inbox.Clear();
        SignalInboxRoom();
    }

    /// <summary>Godot's <c>get_connected_host()</c>: the server's host, or an empty string.</summary>
    public string GetConnectedHost() => _status == (int)ConnectionStatus.Connected ? _session?.Uri.Host ?? string.Empty : string.Empty;

    /// <summary>Godot's <c>get_connected_port()</c>: the server's port, or 0.</summary>
    public int GetConnectedPort() => _status == (int)ConnectionStatus.Connected ? _session?.Uri.Port ?? 0 : 0;

    /// <inheritdoc/>
    public override ConnectionStatus GetConnectionStatus() => (ConnectionStatus)_status;

    /// <inheritdoc/>
    public override int GetUniqueId() => _uniqueId;

    /// <inheritdoc/>
    public override bool IsServer() => false;

    /// <summary>Sends <paramref name="packet"/> to the server, addressed to the target set by <c>SetTargetPeer</c> (the server relays it).</summary>
    /// <returns><see cref="Error.Ok"/>; <see cref="Error.Unconfigured"/> when not connected; <see cref="Error.InvalidParameter"/>
    /// when larger than <see cref="WebSocketMultiplayerPeer.MaxPacketSize"/>; <see cref="Error.OutOfMemory"/> when
    /// <see cref="WebSocketMultiplayerPeer.MaxQueuedBytes"/> are already waiting to be sent.</returns>
    public override Error PutPacket(ReadOnlySpan<byte> packet)
    {
        var connection = _session?.Connection;
        if (_status != (int)ConnectionStatus.Connected || connection is null)
        {
            return Error.Unconfigured;
        }

        var to = TargetPeer;
        if (!CheckOutgoingSize(to, packet.Length))
        {
            return Error.InvalidParameter;
        }

        var result = connection.EnqueueData(_uniqueId, to, packet);
        if (result != EnqueueResult.Queued)
        {
            if (result == EnqueueResult.Closing)
            {
                return Error.Unconfigured;
            }

            Inbox.Reject(new PacketRejection(to, PacketRejectReason.QueueFull, connection.QueuedBytes, MaxQueuedBytes, "outgoing packet not sent: the server reads too slowly"));
            return Error.OutOfMemory;
        }

        Statistics.CountOut(to, packet.Length);
        return Error.Ok;
    }

    /// <summary>Wire-level counters of the current connection. Any thread.</summary>
    public WebSocketTransportStats GetTransportStats()
    {
        var c = _session?.Connection;
        return c is null
            ? default
            : new WebSocketTransportStats(_status == (int)ConnectionStatus.Connected ? 1 : 0, c.MessagesIn, c.BytesIn, c.MessagesOut, c.BytesOut, 0, 0, 0, c.QueuedBytes);
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        var s = _session;
        if (s is null)
        {
            return;
        }

        DisconnectFromHost(WsCloseCodes.GoingAway, "client closing");
        if (s.Running is { } task)
        {
            await task.ConfigureAwait(false);
        }
    }

    // The end of a session, seen from its own task: raise the right event unless the game already let go of it.
    private void OnSessionEnded(Session s, bool succeeded, int? code, string? reason)
    {
        lock (_gate)
        {
            if (s.Stale)
            {
                return;
            }

            s.Stale = true;
            CloseCode = code;
            CloseReason = reason;
            Inbox.EnqueueEvent(succeeded ? PeerEventKind.ServerDisconnected : PeerEventKind.ConnectionFailed);
        }
    }

    /// <summary>The server's answer to the upgrade request is not a valid WebSocket handshake.</summary>
    private sealed class HandshakeException(string message) : Exception(message);

    /// <summary>One connection attempt and its lifetime.</summary>
    private sealed class Session(WebSocketClient owner, Uri uri, string[] protocols, WsLimits limits) : IWsMessageHandler, IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private readonly Lock _closeGate = new();
        private int _closeCode;
        private string? _closeReason;
        private bool _succeeded;

        public Uri Uri { get; } = uri;

        // Guarded by owner._gate; read without it as a hint.
        public volatile bool Stale;

        public Task? Running { get; set; }

        public volatile WsConnection? Connection;

        public void Close(int code, string reason)
        {
            lock (_closeGate)
            {
                _closeCode = code;
                _closeReason = reason;
            }

            if (Connection is { } c)
            {
                c.RequestClose(code, reason);
            }
            else
            {
                try
                {
                    _cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // the attempt is over already
                }
            }
        }

        public void Abort()
        {
            if (Connection is { } c)
            {
                c.Abort();
            }
            else
            {
                try
                {
                    _cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // the attempt is over already
                }
            }
        }

        public void Dispose() => _cts.Dispose();

        public async Task RunAsync()
        {
            try
            {
                await RunCoreAsync().ConfigureAwait(false);
            }
            finally
            {
                Dispose();
            }
        }

        private async Task RunCoreAsync()
        {
            Stream? stream = null;
            ReadOnlyMemory<byte> initial;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                timeout.CancelAfter(owner._connectTimeout);
                stream = await ConnectAsync(timeout.Token).ConfigureAwait(false);
                (initial, var selected) = await HandshakeAsync(stream, timeout.Token).ConfigureAwait(false);
                owner.SelectedProtocol = selected;
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or System.Security.Authentication.AuthenticationException or HandshakeException)
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }

                var reason = ex is OperationCanceledException ? (_cts.IsCancellationRequested ? "cancelled" : "timed out") : Describe(ex);
                Log.ConnectFailed(owner.Logger, Uri.ToString(), reason);
                owner.OnSessionEnded(this, false, null, reason);
                return;
            }

            var connection = new WsConnection(stream, isClient: true, this, limits, initial) { Id = TargetPeerServer, RemoteAddress = Uri.Host, RemotePort = Uri.Port };
            Connection = connection;
            if (Stale)
            {
                int code;
                string? reason;
                lock (_closeGate)
                {
                    code = _closeCode;
                    reason = _closeReason;
                }

                connection.RequestClose(code == 0 ? WsCloseCodes.Normal : code, reason ?? string.Empty);
            }

            await connection.RunAsync(CancellationToken.None).ConfigureAwait(false);
            var why = connection.RemoteClosed
                ? connection.RemoteCloseDescription
                : connection.LocalCloseReason ?? "connection lost";
            owner.OnSessionEnded(this, _succeeded, connection.RemoteCloseCode, why);
        }

        // TCP (and TLS for wss://) to the URL's host and port.
        private async Task<Stream> ConnectAsync(CancellationToken token)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Stream transport;
            try
            {
                EndPoint target = Uri.HostNameType == UriHostNameType.IPv6 || Uri.HostNameType == UriHostNameType.IPv4
                    ? new IPEndPoint(IPAddress.Parse(Uri.DnsSafeHost), Uri.Port)
                    : new DnsEndPoint(Uri.IdnHost, Uri.Port);
                await socket.ConnectAsync(target, token).ConfigureAwait(false);
                transport = new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            if (Uri.Scheme != "wss")
            {
                return transport;
            }

            var verify = owner._verifySsl;
            var trusted = owner._trustedCertificate;
            var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = Uri.IdnHost,
                    RemoteCertificateValidationCallback = (_, certificate, _, errors) => ValidateCertificate(verify, trusted, certificate, errors),
                }, token).ConfigureAwait(false);
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return ssl;
        }

        // RFC 6455 §4.1: the upgrade request, then the server's answer checked. Returns the bytes read past the answer
        // (the first frames, e.g. SYS_ID) and the subprotocol the server chose.
        private async Task<(ReadOnlyMemory<byte> Initial, string? Selected)> HandshakeAsync(Stream stream, CancellationToken token)
        {
            var key = Rfc6455.NewKey();
            await stream.WriteAsync(WsHandshake.BuildRequest(Uri, key, protocols), token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                var length = 0;
                int head;
                while ((head = WsHandshake.HeadLength(buffer.AsSpan(0, length))) < 0)
                {
                    if (length == buffer.Length)
                    {
                        if (length >= WsHandshake.MaxResponseHead)
                        {
                            throw new HandshakeException("the server's answer head is longer than 16 KiB");
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var n = await stream.ReadAsync(buffer.AsMemory(length), token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new HandshakeException("the server closed the connection before answering the upgrade");
                    }

                    length += n;
                }

                var error = WsHandshake.CheckResponse(Encoding.Latin1.GetString(buffer, 0, head - 4), key, protocols, out var selected);
                if (error is not null)
                {
                    throw new HandshakeException(error);
                }

                return (buffer.AsSpan(head, length - head).ToArray(), selected);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private static string Describe(Exception ex)
        {
            var message = ex.Message;
            for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            {
                message += ": " + inner.Message;
            }

            return message;
        }

        private static bool ValidateCertificate(bool verify, X509Certificate2? trusted, X509Certificate? certificate, SslPolicyErrors errors)
        {
            if (!verify || errors == SslPolicyErrors.None)
            {
                return true;
            }

            if (trusted is null || certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            return chain.Build(leaf);
        }

        Task IWsMessageHandler.WhenRetryAsync(int length) => owner.WhenInboxMayHaveRoomAsync(length);

        void IWsMessageHandler.OnViolation(WsConnection connection, PacketRejection rejection)
        {
            owner.Inbox.Reject(rejection);
            connection.CountViolation(rejection);
        }

        MessageDisposition IWsMessageHandler.OnMessage(WsConnection connection, ReadOnlySpan<byte> message)
        {
            if (!GdMpFrame.TryReadHeader(message, out var h))
            {
                connection.Violate(message.Length < GdMpFrame.HeaderSize
                    ? new PacketRejection(TargetPeerServer, PacketRejectReason.TooSmall, message.Length, GdMpFrame.HeaderSize, "shorter than the 9-byte header")
                    : new PacketRejection(TargetPeerServer, PacketRejectReason.Malformed, message.Length, 0, string.Create(CultureInfo.InvariantCulture, $"unknown message type {message[0]}")));
                return MessageDisposition.Done;
            }

            var inbox = owner.Inbox;
            if (h.Type == GdMpMessageType.Data)
            {
                var payload = GdMpFrame.Payload(message);
                lock (owner._gate)
                {
                    return Stale || owner.TryDeliver(h.From, payload) ? MessageDisposition.Done : MessageDisposition.RetryLater;
                }
            }

            if (!GdMpFrame.TryReadSystemId(message, out var id) || id < 1)
            {
                connection.Violate(new PacketRejection(TargetPeerServer, PacketRejectReason.Malformed, message.Length, 0, "system message without a valid peer id"));
                return MessageDisposition.Done;
            }

            lock (owner._gate)
            {
                if (Stale)
                {
                    return MessageDisposition.Done;
                }

                switch (h.Type)
                {
                    case GdMpMessageType.SysId:
                        owner._uniqueId = id;
                        break;
                    case GdMpMessageType.SysAdd:
                        inbox.EnqueueEvent(PeerEventKind.PeerConnected, id);
                        if (id == TargetPeerServer && !_succeeded)
                        {
                            _succeeded = true;
                            inbox.EnqueueEvent(PeerEventKind.ConnectionSucceeded);
                        }

                        break;
                    default:
                        inbox.EnqueueEvent(PeerEventKind.PeerDisconnected, id);
                        break;
                }
            }

            return MessageDisposition.Done;
        }
    }
}
