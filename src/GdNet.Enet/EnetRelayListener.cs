using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GdNet.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static GdNet.Enet.Interop.EnetNative;

namespace GdNet.Enet;

/// <summary>Traffic of an <see cref="EnetRelayListener"/> at one moment (Godot ENet packets, header included; cumulative).</summary>
/// <param name="Peers">Clients connected through the listener now.</param>
/// <param name="PacketsIn">ENet packets received from clients (refused ones included).</param>
/// <param name="BytesIn">Their bytes, Godot's 8-byte header included.</param>
/// <param name="PacketsOut">ENet packets sent to clients, one per receiving client (system messages included).</param>
/// <param name="BytesOut">Their bytes.</param>
public readonly record struct EnetListenerStatistics(int Peers, long PacketsIn, long BytesIn, long PacketsOut, long BytesOut);

/// <summary>
/// A connection provider for <see cref="RelayRouter"/>: an ENet host on which Godot 3 <c>NetworkedMultiplayerENet</c>
/// clients connect (spec §6). Every client joins <see cref="Room"/>; the router decides admission and applies Godot's relay
/// rules, this class speaks ENet: it admits each CONNECT through <see cref="RelayRouter.AdmitAsync"/> before ENet answers
/// it, parses the channel and the 8-byte source/target header, routes each packet, sends what the router hands back with
/// Godot's channels and flags, and announces peers with ADD/REMOVE system messages on channel 0.
/// </summary>
/// <remarks>
/// <para><b>Admission.</b> A Godot 3 ENet client sends the id it chose as its CONNECT data; the request carries it as
/// <see cref="AdmissionRequest.RequestedPeerId"/> (and <see cref="AdmissionRequest.ConnectData"/>), so the router refuses an
/// id in use anywhere in the server (<see cref="AdmissionRefusal.IdTaken"/>), a reserved one (<see cref="AdmissionRefusal.InvalidId"/>),
/// a full server or room, and whatever the admission hooks refuse. A refused CONNECT is never answered: the Godot client
/// reports <c>connection_failed</c> when its attempt times out. A hook that completes asynchronously is not waited for:
/// the CONNECT is left unanswered and the result is used when the client retransmits it (ENet does every 0.5–1 s), so an
/// accepted client connects a retransmission later. Results are kept <see cref="AdmissionTimeout"/>; an accepted
/// connection whose ENet handshake never completes releases its reservation then.</para>
/// <para><b>Threads.</b> The ENet host lives on a service thread of its own. The router's calls (a relay, an announcement,
/// a host's send, a kick) may come from any thread: from the service thread they are done at once (a relay between two
/// ENet clients forwards the received packet itself, by reference count), from any other they are queued for it.</para>
/// <para><b>Back-pressure.</b> When the router answers <see cref="RouteResult.RetryLater"/> (a room's hosted logic is full,
/// or the server's send budget is exhausted), a reliable packet is held for its sender, in order with its later reliable
/// packets, and routed again each turn; a sender whose held packets exceed <see cref="MaxWaitingData"/> is disconnected. An
/// unreliable packet is dropped and counted (<see cref="GdNet.Peers.PacketRejectReason.QueueFull"/>).</para>
/// </remarks>
public sealed class EnetRelayListener : IDisposable
{
    /// <summary>The transport name connections and admission requests carry.</summary>
    public const string TransportName = "enet";

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private EnetServerSession? _session;
    private IPAddress _bindIp = IPAddress.Any;
    private int _maxClients = 32;
    private int _maxPacketSize = NetworkedMultiplayerENet.DefaultMaxPacketSize;
    private long _maxWaitingData = NetworkedMultiplayerENet.DefaultMaxWaitingData;
    private int _channelCount = 3;
    private string _room = GdNet.Server.Room.DefaultName;
    private CompressionModeEnum _compression;
    private int _incomingBandwidth;
    private int _outgoingBandwidth;
    private TimeSpan _timeoutMinimum = TimeSpan.FromSeconds(5);
    private TimeSpan _timeoutMaximum = TimeSpan.FromSeconds(30);
    private TimeSpan _admissionTimeout = TimeSpan.FromSeconds(30);

    /// <param name="router">The router the clients join.</param>
    /// <param name="logger">Receives the listener's own events (Debug). Optional.</param>
    public EnetRelayListener(RelayRouter router, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        Router = router;
        Router.DeclareTransport(TransportName);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The router the clients join.</summary>
    public RelayRouter Router { get; }

    /// <summary>
    /// The IPv4 address to listen on, as <see cref="NetworkedMultiplayerENet.SetBindIp"/> takes it: an IPv4 address, or
    /// <c>*</c> for all (the default). Set before <see cref="Listen"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Not an IPv4 address and not <c>*</c> (ENet 1.3 is IPv4-only).</exception>
    public string BindIp
    {
        get => _bindIp.Equals(IPAddress.Any) ? "*" : _bindIp.ToString();
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ThrowIfListening();
            if (value == "*")
            {
                _bindIp = IPAddress.Any;
                return;
            }

            if (!IPAddress.TryParse(value, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new ArgumentException($"'{value}' is not an IPv4 address (ENet 1.3 is IPv4-only); use \"*\" for all addresses.", nameof(value));
            }

            _bindIp = parsed;
        }
    }

    /// <summary>ENet peer slots: the most clients connected (or connecting) through this listener, 1 … <see cref="NetworkedMultiplayerENet.MaxClientsLimit"/>. Default 32.</summary>
    public int MaxClients
    {
        get => _maxClients;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, NetworkedMultiplayerENet.MaxClientsLimit);
            ThrowIfListening();
            _maxClients = value;
        }
    }

    /// <summary>
    /// The largest packet (payload, without the 8-byte header) accepted or sent; default 1 MiB, at most
    /// <see cref="NetworkedMultiplayerENet.GodotMaxPacketSize"/>. Larger incoming packets are refused
    /// (<see cref="GdNet.Peers.PacketRejectReason.TooLarge"/>) from their first fragment; a client sending an oversized
    /// reliable packet is disconnected.
    /// </summary>
    public int MaxPacketSize
    {
        get => _maxPacketSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, NetworkedMultiplayerENet.GodotMaxPacketSize);
            ThrowIfListening();
            _maxPacketSize = value;
        }
    }

    /// <summary>
    /// Bytes one client may keep waiting: in ENet (fragments, out-of-order packets; ENet's <c>maximumWaitingData</c>) and
    /// held reliable packets the router could not take yet (each counted with 64 bytes of bookkeeping). Default 4 MiB,
    /// at least <see cref="MaxPacketSize"/>.
    /// </summary>
    public long MaxWaitingData
    {
        get => _maxWaitingData;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 4096);
            ThrowIfListening();
            _maxWaitingData = value;
        }
    }

    /// <summary>ENet channels: at least 3 (system, reliable, unreliable), at most 255; Godot's default 3.</summary>
    public int ChannelCount
    {
        get => _channelCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 3);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 255);
            ThrowIfListening();
            _channelCount = value;
        }
    }

    /// <summary>
    /// The room every client of this listener joins (Godot 3 ENet clients name none); default <see cref="GdNet.Server.Room.DefaultName"/>.
    /// Two listeners on one router with different rooms keep their clients apart.
    /// </summary>
    /// <exception cref="ArgumentException">Not 1–64 characters of <c>A–Z a–z 0–9 _ -</c>.</exception>
    public string Room
    {
        get => _room;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!GdNet.Server.Room.IsValidName(value))
            {
                throw new ArgumentException($"'{value}' is not a room name: 1-64 characters of A-Z a-z 0-9 _ -.", nameof(value));
            }

            ThrowIfListening();
            _room = value;
        }
    }

    /// <summary>Godot's <c>compression_mode</c>: None (Godot's default) or RangeCoder; clients must use the same.</summary>
    /// <exception cref="ArgumentOutOfRangeException">FastLz, Zlib or Zstd (Godot-only compressors), or an unknown value.</exception>
    public CompressionModeEnum CompressionMode
    {
        get => _compression;
        set
        {
            if (value is not (CompressionModeEnum.None or CompressionModeEnum.RangeCoder))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "GdNet supports CompressionModeEnum.None and RangeCoder; FastLz, Zlib and Zstd are Godot-only ENet compressors.");
            }

            ThrowIfListening();
            _compression = value;
        }
    }

    /// <summary>ENet's incoming bandwidth of the host in bytes per second; 0 (the default) is unlimited.</summary>
    public int IncomingBandwidth
    {
        get => _incomingBandwidth;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ThrowIfListening();
            _incomingBandwidth = value;
        }
    }

    /// <summary>ENet's outgoing bandwidth of the host in bytes per second; 0 (the default) is unlimited.</summary>
    public int OutgoingBandwidth
    {
        get => _outgoingBandwidth;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ThrowIfListening();
            _outgoingBandwidth = value;
        }
    }

    /// <summary>
    /// ENet's peer timeout (<c>enet_peer_timeout</c>) of each client: dropped when its reliable data stays unacknowledged
    /// this long (and retransmissions ran out). ENet's default 5 s.
    /// </summary>
    public TimeSpan PeerTimeoutMinimum
    {
        get => _timeoutMinimum;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(200));
            ThrowIfListening();
            _timeoutMinimum = value;
        }
    }

    /// <summary>The longest a client may stay silent before it is dropped; ENet's default 30 s. At least <see cref="PeerTimeoutMinimum"/>.</summary>
    public TimeSpan PeerTimeoutMaximum
    {
        get => _timeoutMaximum;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(200));
            ThrowIfListening();
            _timeoutMaximum = value;
        }
    }

    /// <summary>
    /// How long an admission is remembered: a check still running (its result is used if the client retransmits its CONNECT
    /// within it), an accepted CONNECT waiting for ENet's handshake (its reservation is released after it), a refusal (so
    /// the client's retransmissions are neither answered nor counted again). Default 30 s (ENet's longest connect).
    /// </summary>
    public TimeSpan AdmissionTimeout
    {
        get => _admissionTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(100));
            ThrowIfListening();
            _admissionTimeout = value;
        }
    }

    /// <summary>Whether the listener is running (listening and its service thread alive).</summary>
    public bool IsListening => _session is { HasEnded: false };

    /// <summary>The bound UDP port (the real one after <c>Listen(0)</c>); 0 when not listening.</summary>
    public int LocalPort => _session?.LocalEndPoint.Port ?? 0;

    /// <summary>Where clients connect, <c>enet://host:port</c> (127.0.0.1 when bound to all addresses); null when not listening.</summary>
    public string? Url
    {
        get
        {
            var s = _session;
            if (s is null)
            {
                return null;
            }

            var host = _bindIp.Equals(IPAddress.Any) ? "127.0.0.1" : _bindIp.ToString();
            return string.Create(CultureInfo.InvariantCulture, $"enet://{host}:{s.LocalEndPoint.Port}");
        }
    }

    /// <summary>Clients connected through this listener now.</summary>
    public int PeerCount => _session?.ConnectionCount ?? 0;

    /// <summary>Called on the service thread just before a connection leaves the router, with why (NetworkedMultiplayerENet's PeerLeft).</summary>
    internal Action<RelayConnection, EnetDisconnectReason>? PeerLeaving { get; set; }

    internal EnetServerSession? Session => _session;

    /// <summary>
    /// Creates the ENet host on <see cref="BindIp"/>:<paramref name="port"/> (0 = a free port, see <see cref="LocalPort"/>)
    /// and starts its service thread.
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, or <see cref="Error.CantCreate"/> when the host cannot be created (port in use, address not local).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A port outside 0..65535.</exception>
    /// <exception cref="InvalidOperationException">Already listening, or inconsistent settings (the message says which).</exception>
    /// <exception cref="DllNotFoundException">ENet is not installed; the message names the package.</exception>
    public Error Listen(int port)
    {
        if (port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A UDP port is 0..65535.");
        }

        lock (_gate)
        {
            if (_session is not null)
            {
                throw new InvalidOperationException("This listener is already listening; call Stop() first.");
            }

            if (_maxWaitingData < _maxPacketSize)
            {
                throw new InvalidOperationException($"MaxWaitingData ({_maxWaitingData}) must be at least MaxPacketSize ({_maxPacketSize}).");
            }

            if (_timeoutMaximum < _timeoutMinimum)
            {
                throw new InvalidOperationException($"PeerTimeoutMaximum ({_timeoutMaximum}) must be at least PeerTimeoutMinimum ({_timeoutMinimum}).");
            }

            var config = new EnetHostConfig(_channelCount, _compression, _maxPacketSize, _maxWaitingData,
                (uint)_timeoutMinimum.TotalMilliseconds, (uint)_timeoutMaximum.TotalMilliseconds);
            var session = EnetServerSession.Create(this, Router, config, _room, (long)_admissionTimeout.TotalMilliseconds, ToAddress(_bindIp, port),
                _maxClients, (uint)_incomingBandwidth, (uint)_outgoingBandwidth, _logger, out var error);
            if (session is not null)
            {
                _session = session;
                session.Run();
            }

            return error;
        }
    }

    /// <summary>
    /// Stops: disconnects every client at once with an ENet disconnect (data 1, as Godot's <c>close_connection</c>), flushes,
    /// makes every connection leave the router, releases pending admissions and destroys the host. Idempotent; any
    /// thread (not from the router's callbacks on the service thread).
    /// </summary>
    public void Stop() => Stop(0);

    internal void Stop(uint waitUsec)
    {
        EnetServerSession? session;
        lock (_gate)
        {
            session = _session;
            _session = null;
        }

        session?.Stop(waitUsec);
    }

    /// <summary>A snapshot of the listener's traffic counters (for a status line). Any thread.</summary>
    public EnetListenerStatistics GetStatistics() => _session?.GetStatistics() ?? default;

    /// <summary>Stops (as <see cref="Stop()"/>).</summary>
    public void Dispose() => Stop();

    internal void OnPeerLeaving(RelayConnection connection, EnetDisconnectReason reason) => PeerLeaving?.Invoke(connection, reason);

    private void ThrowIfListening()
    {
        if (_session is not null)
        {
            throw new InvalidOperationException("Set the listener's properties before Listen (or after Stop).");
        }
    }
}
