using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GdNet.Peers;

/// <summary>
/// Godot 3's <c>NetworkedMultiplayerPeer</c> (spec §2.2): a packet peer addressed by 31-bit peer ids, with a target, a
/// transfer mode, a connection status and peer events. <c>MultiplayerAPI</c> sits on top of it and knows no transport.
/// </summary>
/// <remarks>
/// <para>Threading: every member is for the game thread unless its documentation says otherwise. Events are raised on the
/// game thread, from <see cref="Poll"/> and from the packet-reading members, in the order things happened: a peer's
/// connect event before its packets, its packets before its disconnect event.</para>
/// </remarks>
public abstract class NetworkedMultiplayerPeer : PacketPeer
{
    /// <summary>Target every peer.</summary>
    public const int TargetPeerBroadcast = 0;

    /// <summary>The server's id.</summary>
    public const int TargetPeerServer = 1;

    /// <summary>Godot's <c>transfer_mode</c>: how the next <see cref="PacketPeer.PutPacket(ReadOnlySpan{byte})"/> is sent.</summary>
    public virtual TransferModeEnum TransferMode { get; set; } = TransferModeEnum.Reliable;

    /// <summary>Godot's <c>refuse_new_connections</c>.</summary>
    public virtual bool RefuseNewConnections { get; set; }

    /// <summary>Traffic and rejection counters of this peer.</summary>
    public PeerStatistics Statistics { get; } = new();

    private readonly LogRateLimiter _failureLog = new(LogRateLimiter.DefaultLinesPerSecond);
    private ILogger _logger;

    /// <summary>Creates a peer that logs through <see cref="GdNetLogging.LoggerFactory"/> until <see cref="Logger"/> is set.</summary>
    protected NetworkedMultiplayerPeer()
    {
        _logger = GdNetLogging.LoggerFactory.CreateLogger(GetType().FullName ?? nameof(NetworkedMultiplayerPeer));
    }

    /// <summary>
    /// The peer's log: a warning for each call that fails (rate-limited), and the transport's own events (connections,
    /// rejected packets). Defaults to a logger of <see cref="GdNetLogging.LoggerFactory"/> as it was when the peer was
    /// created; null sets none.
    /// </summary>
    public ILogger Logger
    {
        get => _logger;
        set => _logger = value ?? NullLogger.Instance;
    }

    /// <summary>
    /// Why the last call on this peer that returned an error failed, in words with what to do; null when it succeeded.
    /// Set by the call that returned the <see cref="Error"/> (game thread), beside a rate-limited warning in
    /// <see cref="Logger"/>.
    /// </summary>
    public string? LastErrorMessage { get; private set; }

    /// <summary>
    /// Records why a call failed (see <see cref="LastErrorMessage"/>), logs it as a rate-limited warning and returns
    /// <paramref name="error"/>; for peer authors.
    /// </summary>
    protected Error Fail(Error error, string message)
    {
        LastErrorMessage = message;
        if (_logger.IsEnabled(LogLevel.Warning) && _failureLog.TryTake(out var skipped))
        {
            PeerLog.CallFailed(_logger, error, message, skipped);
        }

        return error;
    }

    /// <summary>Clears <see cref="LastErrorMessage"/> after a call that succeeded; for peer authors.</summary>
    protected void ClearLastError() => LastErrorMessage = null;

    /// <summary>Godot's <c>set_target_peer(id)</c>: 0 everyone, a positive id that peer, −id everyone but that peer.</summary>
    public abstract void SetTargetPeer(int id);

    /// <summary>Godot's <c>get_packet_peer()</c>: the sender of the next packet to be read.</summary>
    public abstract int GetPacketPeer();

    /// <summary>Godot's <c>poll()</c>: lets the peer process what arrived and raise its events.</summary>
    public abstract void Poll();

    /// <summary>Godot's <c>get_connection_status()</c>.</summary>
    public abstract ConnectionStatus GetConnectionStatus();

    /// <summary>Godot's <c>get_unique_id()</c>: this peer's id (1 for the server, 0 while unknown).</summary>
    public abstract int GetUniqueId();

    /// <summary>Godot's <c>is_server()</c>.</summary>
    public virtual bool IsServer() => GetUniqueId() == TargetPeerServer;

    /// <summary>Godot's <c>get_max_packet_size()</c>: the largest packet this peer can handle.</summary>
    public abstract int GetMaxPacketSize();

    /// <summary>Godot's <c>peer_connected(id)</c>.</summary>
    public event Action<int>? PeerConnected;

    /// <summary>Godot's <c>peer_disconnected(id)</c>.</summary>
    public event Action<int>? PeerDisconnected;

    /// <summary>Godot's <c>connection_succeeded()</c>.</summary>
    public event Action? ConnectionSucceeded;

    /// <summary>Godot's <c>connection_failed()</c>.</summary>
    public event Action? ConnectionFailed;

    /// <summary>Godot's <c>server_disconnected()</c>.</summary>
    public event Action? ServerDisconnected;

    /// <summary>A packet was refused (malformed, too large, unknown peer, queue full…). Raised on the game thread.</summary>
    public event Action<PacketRejection>? PacketRejected;

    protected void EmitPeerConnected(int id) => PeerConnected?.Invoke(id);

    protected void EmitPeerDisconnected(int id) => PeerDisconnected?.Invoke(id);

    protected void EmitConnectionSucceeded() => ConnectionSucceeded?.Invoke();

    protected void EmitConnectionFailed() => ConnectionFailed?.Invoke();

    protected void EmitServerDisconnected() => ServerDisconnected?.Invoke();

    protected void EmitPacketRejected(PacketRejection rejection) => PacketRejected?.Invoke(rejection);

    internal void RaiseQueued(PeerEventKind kind, int peerId, PacketRejection? rejection)
    {
        switch (kind)
        {
            case PeerEventKind.PeerConnected: EmitPeerConnected(peerId); break;
            case PeerEventKind.PeerDisconnected: EmitPeerDisconnected(peerId); break;
            case PeerEventKind.ConnectionSucceeded: EmitConnectionSucceeded(); break;
            case PeerEventKind.ConnectionFailed: EmitConnectionFailed(); break;
            case PeerEventKind.ServerDisconnected: EmitServerDisconnected(); break;
            case PeerEventKind.PacketRejected: EmitPacketRejected(rejection.GetValueOrDefault()); break;
            default: break;
        }
    }
}

/// <summary>The events a <see cref="PeerInbox"/> carries in order with the packets.</summary>
public enum PeerEventKind
{
    PeerConnected = 1,
    PeerDisconnected,
    ConnectionSucceeded,
    ConnectionFailed,
    ServerDisconnected,
    PacketRejected,
}
