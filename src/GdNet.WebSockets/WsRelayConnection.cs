using System.Net;
using GdNet.Peers;
using GdNet.Server;
using Microsoft.Extensions.Logging;

namespace GdNet.WebSockets;

/// <summary>
/// One Godot 3 WebSocket client as the <see cref="RelayRouter"/> sees it: wraps a <see cref="WsConnection"/>, parses
/// the <c>gd_mp_api</c> header of what the client sends and routes it, and speaks Godot's framing for what the router
/// sends (spec §5): the welcome is SYS_ID then SYS_ADD(1), a packet is a DATA message (type 0, from, to, payload), a
/// join or leave is SYS_ADD or SYS_DEL.
/// </summary>
/// <remarks>
/// The transport's own rules stay here: a message shorter than the header (<see cref="PacketRejectReason.TooSmall"/>),
/// an unknown type (<see cref="PacketRejectReason.Malformed"/>), a system message or a text frame from a client
/// (<see cref="PacketRejectReason.UnsupportedFrame"/>), a message over the size limit, a WebSocket protocol error. They
/// are reported through <see cref="RelayRouter.ReportRejection"/>, so the router counts them with its own; every
/// rejection the router flags as misbehaviour counts towards <see cref="WsLimits.MaxViolations"/> (then close 1008).
/// </remarks>
internal sealed class WsRelayConnection : RelayConnection, IWsMessageHandler
{
    /// <summary>The transport name the router shows in status and logs.</summary>
    public const string TransportName = "ws";

    private readonly RelayRouter _router;
    private readonly WsConnection _ws;
    private readonly ILogger _logger;

    /// <param name="router">The router the client joins.</param>
    /// <param name="stream">The upgraded connection's stream (WebSocket frames from here on).</param>
    /// <param name="limits">The listener's limits.</param>
    /// <param name="remoteEndPoint">The client's address.</param>
    /// <param name="abortTransport">Drops the HTTP connection at once.</param>
    public WsRelayConnection(RelayRouter router, Stream stream, WsLimits limits, IPEndPoint? remoteEndPoint, Action abortTransport)
        : base(TransportName, remoteEndPoint)
    {
        _router = router;
        _logger = limits.Logger;
        _ws = new WsConnection(stream, isClient: false, this, limits, abortTransport: abortTransport)
        {
            RemoteAddress = remoteEndPoint?.Address.ToString() ?? string.Empty,
            RemotePort = remoteEndPoint?.Port ?? 0,
        };
    }

    /// <summary>The WebSocket connection underneath (counters and close details).</summary>
    public WsConnection Socket => _ws;

    /// <inheritdoc/>
    public override long PacketsOut => _ws.MessagesOut;

    /// <inheritdoc/>
    public override long BytesOut => _ws.BytesOut;

    /// <inheritdoc/>
    public override long QueuedBytes => _ws.QueuedBytes;

    /// <summary>Runs the connection until it ends (see <see cref="WsConnection.RunAsync"/>). Never throws.</summary>
    public Task RunAsync(CancellationToken stopping) => _ws.RunAsync(stopping);

    /// <summary>Drops the connection at once, without a close handshake.</summary>
    public void Abort() => _ws.Abort();

    /// <summary>Closes with a WebSocket close code of the caller's choice (Godot's <c>disconnect_peer(id, code, reason)</c>). Any thread.</summary>
    public void CloseWith(int code, string reason) => _ws.RequestClose(code, reason);

    /// <inheritdoc/>
    protected override void Welcome()
    {
        // Spec §5.2: the new client's id, then the server (always peer 1), before any other announcement.
        _ws.Id = PeerId;
        SendSystem(GdMpMessageType.SysId, PeerId);
        SendSystem(GdMpMessageType.SysAdd, RelayRouter.HostPeerId);
    }

    /// <inheritdoc/>
    protected override SendResult Send(in RelayPacket packet) =>
        _ws.EnqueueData(packet.From, packet.To, packet.Payload) switch
        {
            EnqueueResult.Queued => SendResult.Sent,
            EnqueueResult.Full => SendResult.Full,
            _ => SendResult.Closing,
        };

    /// <inheritdoc/>
    protected override void SendPeerAdded(int peerId) => SendSystem(GdMpMessageType.SysAdd, peerId);

    /// <inheritdoc/>
    protected override void SendPeerRemoved(int peerId) => SendSystem(GdMpMessageType.SysDel, peerId);

    private void SendSystem(GdMpMessageType type, int id)
    {
        Span<byte> sys = stackalloc byte[GdMpFrame.SystemMessageSize];
        GdMpFrame.WriteSystem(sys, type, id);
        if (_ws.EnqueueMessage(sys) == EnqueueResult.Full)
        {
            // Announcements are not packets the router sends, so its slow-reader rule is applied here.
            _router.ReportRejection(this, new PacketRejection(PeerId, PacketRejectReason.SlowReader, _ws.QueuedBytes, 0, "disconnected: its send queue is over its budget"), misbehaviour: false);
            Close(CloseReason.SlowReader, "the peer reads too slowly: its send queue is over its budget");
        }
    }

    /// <inheritdoc/>
    protected override void Close(CloseReason reason, string detail)
    {
        var code = reason switch
        {
            CloseReason.Kicked or CloseReason.RoomClosed => WsCloseCodes.Normal,
            CloseReason.ServerShutdown => WsCloseCodes.GoingAway,
            _ => WsCloseCodes.PolicyViolation,
        };
        if (reason != CloseReason.ServerShutdown)
        {
            Log.Kicked(_logger, PeerId, detail);
        }

        if (reason == CloseReason.SlowReader)
        {
            _ws.CloseUnread(code, detail); // its queue will not drain: drop it, and abort if the close cannot be written either
        }
        else
        {
            _ws.RequestClose(code, detail);
        }
    }

    /// <inheritdoc/>
    protected override void OnRejected(PacketRejection rejection, bool misbehaviour)
    {
        if (misbehaviour)
        {
            _ws.CountViolation(rejection);
        }
    }

    /// <summary>Spec §5.3: the header, then the router's rules. Runs on the receive task, one message at a time.</summary>
    MessageDisposition IWsMessageHandler.OnMessage(WsConnection connection, ReadOnlySpan<byte> message)
    {
        if (!GdMpFrame.TryReadHeader(message, out var h))
        {
            connection.Violate(message.Length < GdMpFrame.HeaderSize
                ? new PacketRejection(PeerId, PacketRejectReason.TooSmall, message.Length, GdMpFrame.HeaderSize, "shorter than the 9-byte header")
                : new PacketRejection(PeerId, PacketRejectReason.Malformed, message.Length, 0, "unknown message type {0}", message[0]));
            return MessageDisposition.Done;
        }

        if (h.Type != GdMpMessageType.Data)
        {
            connection.Violate(new PacketRejection(PeerId, PacketRejectReason.UnsupportedFrame, message.Length, 0, "system message from a client (only the server sends them)"));
            return MessageDisposition.Done;
        }

        // WebSocket is TCP: everything is reliable, on no channel.
        return _router.Route(this, h.From, h.To, GdMpFrame.Payload(message), TransferModeEnum.Reliable) == RouteResult.RetryLater
            ? MessageDisposition.RetryLater
            : MessageDisposition.Done;
    }

    Task IWsMessageHandler.WhenRetryAsync(int length) => _router.WhenRetryAsync(this, Math.Max(0, length - GdMpFrame.HeaderSize));

    void IWsMessageHandler.OnViolation(WsConnection connection, PacketRejection rejection) =>
        _router.ReportRejection(this, rejection, misbehaviour: true);
}
