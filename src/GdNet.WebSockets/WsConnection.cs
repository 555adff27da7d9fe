using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using GdNet.Peers;
using GdNet.Server;
using Microsoft.Extensions.Logging;

namespace GdNet.WebSockets;

/// <summary>What a message handler did with one incoming WebSocket message.</summary>
internal enum MessageDisposition
{
    /// <summary>Handled (delivered, relayed or rejected).</summary>
    Done,

    /// <summary>The game thread's inbox is full: call again with the same message a little later (TCP back-pressure).</summary>
    RetryLater,
}

/// <summary>Handles the messages of a <see cref="WsConnection"/> on its receive task.</summary>
internal interface IWsMessageHandler
{
    /// <summary>One whole binary message (header included). Runs on the connection's receive task.</summary>
    MessageDisposition OnMessage(WsConnection connection, ReadOnlySpan<byte> message);

    /// <summary>After <see cref="MessageDisposition.RetryLater"/>: completes when retrying may succeed.</summary>
    Task WhenRetryAsync(int length);

    /// <summary>
    /// The remote side broke a rule of the transport (see <see cref="WsConnection.Violate"/>): report the rejection where
    /// the peer reports them, and count it with <see cref="WsConnection.CountViolation"/> when it is misbehaviour.
    /// Runs on the connection's receive task.
    /// </summary>
    void OnViolation(WsConnection connection, PacketRejection rejection);
}

/// <summary>The outcome of queueing a message for sending.</summary>
internal enum EnqueueResult
{
    Queued,

    /// <summary>The connection is closing or closed; nothing more is sent.</summary>
    Closing,

    /// <summary>The queue would exceed <see cref="WsLimits.MaxQueuedBytes"/>.</summary>
    Full,
}

/// <summary>
/// One WebSocket connection with its two tasks: a receive loop that reads whole messages (bounded by the maximum message
/// size) through the <see cref="WebSocket"/> and hands them to an <see cref="IWsMessageHandler"/>, and a send loop that
/// writes batches of data frames. Used by both <see cref="WebSocketRelayListener"/> (one per client, through
/// <see cref="WsRelayConnection"/>) and <see cref="WebSocketClient"/>.
/// </summary>
/// <remarks>
/// <para>Sending: any thread frames a message straight into the connection's pooled 64 KiB segments (RFC 6455 header,
/// masked with a key from <see cref="MaskSource"/> on a client), under a short lock; the send loop takes all filled
/// segments at once and writes them with one socket write per segment. So a burst of small messages costs one copy each
/// and one system call per 64 KiB, where <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>
/// costs a write (and, on a client, a call into the system CSPRNG) per message. Control frames (pong, close) are
/// still written by the <see cref="WebSocket"/>, through the same <see cref="WsStream"/> lock.</para>
/// <para>Budget: what is queued counts against <see cref="WsLimits.MaxQueuedBytes"/> and, when given, the server-wide
/// <see cref="WsLimits.Budget"/>: every queued frame byte is charged once and released once, when written or dropped
/// (a write that failed, or what is still queued when the connection ends).</para>
/// <para>Thread safety: enqueueing and closing from any thread; the loops run on their own tasks.</para>
/// </remarks>
internal sealed class WsConnection
{
    private const int InitialReceiveBufferSize = 4096;
    private const int SegmentSize = 64 * 1024;

    private struct Segment
    {
        public byte[] Buffer;
        public int Used;
    }

    private readonly WebSocket _ws;
    private readonly WsStream _stream;
    private readonly MaskSource? _masks;
    private readonly IWsMessageHandler _handler;
    private readonly WsLimits _limits;
    private readonly SendBudget? _budget;

    // Outgoing frames, guarded by _gate.
    private readonly Lock _gate = new();
    private readonly AsyncSignal _wake = new();
    private List<Segment> _segments = new(4);
    private List<Segment> _spare = new(4);
    private long _queuedBytes;
    private bool _loopWaiting;
    private bool _closeQueued;
    private bool _stopped;
    private int _closeCode;
    private string _closeReason = string.Empty;

    private int _violations;
    private bool _remoteClosed;
    private CancellationTokenSource? _closeTimer;
    private Timer? _abortTimer;

    // Counters: written under _gate (out) or by the receive loop (in), read by snapshots.
    private long _messagesIn;
    private long _bytesIn;
    private long _messagesOut;
    private long _bytesOut;

    /// <param name="ws">The WebSocket over <paramref name="stream"/> (control frames and receiving).</param>
    /// <param name="stream">The stream the send loop writes data frames to.</param>
    /// <param name="maskFrames">True on a client: data frames are masked.</param>
    /// <param name="handler">Takes the received messages and the violations.</param>
    /// <param name="limits">The limits, and the server-wide send budget when there is one.</param>
    public WsConnection(WebSocket ws, WsStream stream, bool maskFrames, IWsMessageHandler handler, WsLimits limits)
    {
        _ws = ws;
        _stream = stream;
        _masks = maskFrames ? new MaskSource() : null;
        _handler = handler;
        _limits = limits;
        _budget = limits.Budget;
    }

    /// <summary>The peer id this connection speaks for (the client's id on the server; 1 on a client). Used in rejections.</summary>
    public int Id { get; set; }

    /// <summary>The remote IP address, for diagnostics.</summary>
    public string RemoteAddress { get; init; } = string.Empty;

    /// <summary>The remote TCP port, for diagnostics.</summary>
    public int RemotePort { get; init; }

    /// <summary>Bytes (frames) waiting to be written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The close status the remote side sent, once it did.</summary>
    public WebSocketCloseStatus? RemoteCloseStatus { get; private set; }

    /// <summary>The close reason the remote side sent, once it did.</summary>
    public string? RemoteCloseDescription { get; private set; }

    /// <summary>The close this side sent or queued (code and reason), for diagnostics.</summary>
    public string? LocalCloseReason { get; private set; }

    /// <summary>True once a close was queued, sent or received, or the connection was aborted: nothing more is sent.</summary>
    public bool IsClosing
    {
        get
        {
            lock (_gate)
            {
                return _closeQueued || _stopped;
            }
        }
    }

    public long MessagesIn => Interlocked.Read(ref _messagesIn);

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public int Violations => Volatile.Read(ref _violations);

    /// <summary>Queues a DATA message: the 9-byte header (type 0, <paramref name="from"/>, <paramref name="to"/>) then <paramref name="payload"/>.</summary>
    public EnqueueResult EnqueueData(int from, int to, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[GdMpFrame.HeaderSize];
        GdMpFrame.WriteHeader(header, GdMpMessageType.Data, from, to);
        return Append(header, payload);
    }

    /// <summary>Queues a whole message as it is (a relayed message, a system message).</summary>
    public EnqueueResult EnqueueMessage(ReadOnlySpan<byte> message) => Append(message, default);

    private EnqueueResult Append(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var length = first.Length + second.Length;
        var masked = _masks is not null;
        var frame = Rfc6455.HeaderSize(length, masked) + length;
        bool wake;
        lock (_gate)
        {
            if (_closeQueued || _stopped)
            {
                return EnqueueResult.Closing;
            }

            if (_queuedBytes + frame > _limits.MaxQueuedBytes)
            {
                return EnqueueResult.Full;
            }

            var span = Reserve(frame);
            var mask = masked ? _masks!.Next() : 0;
            var n = Rfc6455.WriteHeader(span, length, masked, mask);
            if (masked)
            {
                var offset = Rfc6455.MaskCopy(first, span[n..], mask, 0);
                Rfc6455.MaskCopy(second, span[(n + first.Length)..], mask, offset);
            }
            else
            {
                first.CopyTo(span[n..]);
                second.CopyTo(span[(n + first.Length)..]);
            }

            _queuedBytes += frame;
            _budget?.Charge(frame);
            _messagesOut++;
            _bytesOut += length;
            wake = _loopWaiting;
            _loopWaiting = false;
        }

        if (wake)
        {
            _wake.Set();
        }

        return EnqueueResult.Queued;
    }

    // Caller holds _gate.
    private Span<byte> Reserve(int size)
    {
        var list = CollectionsMarshal.AsSpan(_segments);
        if (list.Length > 0)
        {
            ref var tail = ref list[^1];
            if (tail.Buffer.Length - tail.Used >= size)
            {
                var span = tail.Buffer.AsSpan(tail.Used, size);
                tail.Used += size;
                return span;
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(SegmentSize, size));
        _segments.Add(new Segment { Buffer = buffer, Used = size });
        return buffer.AsSpan(0, size);
    }

    /// <summary>
    /// Queues a close frame after what is already queued; later data is refused. The first call wins. The remote side then
    /// has <see cref="WsLimits.CloseTimeout"/> to answer before the connection is aborted.
    /// </summary>
    public void RequestClose(int code, string reason) => RequestClose(code, reason, discardQueued: false);

    /// <summary>
    /// Closes a peer that does not read: what is queued and not yet being written is dropped (and released from the
    /// budget), the close frame goes next, and the connection is aborted if it has not ended within
    /// <see cref="WsLimits.CloseTimeout"/> (a write to a peer that never reads never completes). Any thread.
    /// </summary>
    public void CloseUnread(int code, string reason) => RequestClose(code, reason, discardQueued: true);

    private void RequestClose(int code, string reason, bool discardQueued)
    {
        var wake = false;
        long dropped = 0;
        lock (_gate)
        {
            if (_stopped || (_closeQueued && !discardQueued))
            {
                return;
            }

            if (discardQueued)
            {
                foreach (var seg in _segments)
                {
                    dropped += seg.Used;
                    ArrayPool<byte>.Shared.Return(seg.Buffer);
                }

                _segments.Clear();
                _queuedBytes -= dropped;
                _abortTimer ??= new Timer(static s => ((WsConnection)s!).Abort(), this, _limits.CloseTimeout, Timeout.InfiniteTimeSpan);
            }

            if (!_closeQueued)
            {
                _closeQueued = true;
                _closeCode = code;
                _closeReason = reason;
                LocalCloseReason = string.Create(CultureInfo.InvariantCulture, $"{code} {reason}");
                wake = _loopWaiting;
                _loopWaiting = false;
            }
        }

        if (dropped != 0)
        {
            _budget?.Release(dropped);
        }

        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// A message from the remote side broke a rule of the transport (framing, frame kind, size): hands it to the handler,
    /// which reports it and counts it (<see cref="CountViolation"/>).
    /// </summary>
    public void Violate(PacketRejection rejection) => _handler.OnViolation(this, rejection);

    /// <summary>Counts a refused message from the remote side; past <see cref="WsLimits.MaxViolations"/> the connection is closed with 1008 and the reason. Any thread.</summary>
    public void CountViolation(PacketRejection rejection)
    {
        var n = Interlocked.Increment(ref _violations);
        if ((_limits.MaxViolations == 0 || n <= _limits.MaxViolations) && _limits.Logger.IsEnabled(LogLevel.Debug))
        {
            Log.Rejected(_limits.Logger, rejection.Detail); // not past the close: what is still in flight is counted, not logged
        }

        if (_limits.MaxViolations > 0 && n == _limits.MaxViolations) // once: what is still in flight after it is only counted
        {
            RequestClose(WsCloseCodes.PolicyViolation, string.Create(CultureInfo.InvariantCulture,
                $"too many invalid messages ({n}); last: {rejection.Reason}"));
        }
    }

    /// <summary>Closes the socket at once, without a close handshake. Pending sends and receives end.</summary>
    public void Abort()
    {
        StopSending();
        _ws.Abort();
    }

    private void StopSending()
    {
        bool wake;
        lock (_gate)
        {
            _stopped = true;
            wake = _loopWaiting;
            _loopWaiting = false;
        }

        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>Runs both loops until the connection is closed (by either side) or aborted. Never throws.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var stopReg = stopping.UnsafeRegister(static s => ((WsConnection)s!).Abort(), this);
        var sendLoop = Task.Run(SendLoopAsync, CancellationToken.None);
        try
        {
            await ReceiveLoopAsync(_handler).ConfigureAwait(false);
        }
        finally
        {
            // The receive side is done. After a close from the remote side, let the send loop finish what is queued and
            // answer the close (bounded); after an error there is nobody to send to.
            if (!_remoteClosed)
            {
                StopSending();
            }

            if (!await WaitAsync(sendLoop, _limits.CloseTimeout).ConfigureAwait(false))
            {
                Abort();
                await sendLoop.ConfigureAwait(false);
            }

            StopSending();
            if (_ws.State != WebSocketState.Closed)
            {
                _ws.Abort();
            }

            _closeTimer?.Dispose();
            lock (_gate)
            {
                _abortTimer?.Dispose();
            }

            _ws.Dispose();
            await _stream.DisposeAsync().ConfigureAwait(false);
            ReturnSegments();
        }
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout)
    {
        if (task.IsCompleted)
        {
            return true;
        }

        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task ReceiveLoopAsync(IWsMessageHandler handler)
    {
        var maxMessage = _limits.MaxMessageSize;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBufferSize, maxMessage));
        try
        {
            while (true)
            {
                var total = 0;
                ValueWebSocketReceiveResult result;
                while (true)
                {
                    var room = Math.Min(buffer.Length, maxMessage) - total;
                    if (room == 0)
                    {
                        if (buffer.Length >= maxMessage)
                        {
                            // The message is larger than the limit; the rest of the stream cannot be trusted cheaply.
                            Violate(new PacketRejection(Id, PacketRejectReason.TooLarge, total + 1L, maxMessage, "message still incomplete when the limit was reached"));
                            RequestClose(WsCloseCodes.MessageTooBig, string.Create(CultureInfo.InvariantCulture, $"message larger than {maxMessage} bytes"));
                            await DrainUntilCloseAsync(buffer).ConfigureAwait(false);
                            return;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxMessage));
                        buffer.AsSpan(0, total).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                        room = Math.Min(buffer.Length, maxMessage) - total;
                    }

                    result = await _ws.ReceiveAsync(buffer.AsMemory(total, room), CancellationToken.None).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        OnRemoteClose();
                        return;
                    }

                    total += result.Count;
                    if (result.EndOfMessage)
                    {
                        break;
                    }
                }

                _messagesIn++;
                _bytesIn += total;
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    Violate(new PacketRejection(Id, PacketRejectReason.UnsupportedFrame, total, 0, "text frame (Godot multiplayer messages are binary)"));
                    continue;
                }

                while (handler.OnMessage(this, buffer.AsSpan(0, total)) == MessageDisposition.RetryLater)
                {
                    // Stop waiting when nothing more can be received: the connection was aborted (a failed write, the
                    // close timer), or it is closing and the remote close already came.
                    if (_ws.State == WebSocketState.Aborted || (IsClosing && _ws.State is not (WebSocketState.Open or WebSocketState.CloseSent)))
                    {
                        return;
                    }

                    await handler.WhenRetryAsync(total).ConfigureAwait(false);
                }
            }
        }
        catch (WebSocketException ex)
        {
            // Protocol errors (bad framing, invalid UTF-8 in a text frame, reserved bits…) and resets end here.
            if (ex.WebSocketErrorCode is not (WebSocketError.ConnectionClosedPrematurely or WebSocketError.InvalidState))
            {
                Violate(new PacketRejection(Id, PacketRejectReason.Malformed, 0, 0, "WebSocket protocol error: " + ex.Message));

                // The WebSocket has sent its close (1002, 1007…). Wait for the peer to hang up before tearing down, so that
                // the close frame is not lost to a reset (RFC 6455 §7.1.1: the server closes the TCP connection last).
                await LingerAsync(buffer).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // connection reset
        }
        catch (ObjectDisposedException)
        {
            // aborted
        }
        catch (OperationCanceledException)
        {
            // aborted
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task LingerAsync(byte[] scratch)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_limits.CloseTimeout);
            while (await _stream.ReadAsync(scratch, timeout.Token).ConfigureAwait(false) > 0)
            {
                // discard
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // reset, timed out, or already gone
        }
    }

    private async Task DrainUntilCloseAsync(byte[] scratch)
    {
        // After a fatal violation: wait (bounded by the close timer) for the remote close, ignoring data.
        while (true)
        {
            var r = await _ws.ReceiveAsync(scratch.AsMemory(), CancellationToken.None).ConfigureAwait(false);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                OnRemoteClose();
                return;
            }
        }
    }

    private void OnRemoteClose()
    {
        _remoteClosed = true;
        RemoteCloseStatus = _ws.CloseStatus;
        // Godot 3.2.3 sends its close reason with the C string's NUL terminator ("quit\0"): drop it.
        RemoteCloseDescription = _ws.CloseStatusDescription?.TrimEnd('\0');
        var code = _ws.CloseStatus is { } s && s != WebSocketCloseStatus.Empty ? (int)s : WsCloseCodes.Normal;

        // Answer the close (if we did not start it), after anything already queued.
        RequestClose(code, string.Empty);
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                List<Segment>? batch = null;
                var close = false;
                lock (_gate)
                {
                    if (_stopped)
                    {
                        return;
                    }

                    if (_segments.Count > 0)
                    {
                        batch = _segments;
                        _segments = _spare;
                    }
                    else if (_closeQueued)
                    {
                        close = true;
                    }
                    else
                    {
                        _loopWaiting = true;
                    }
                }

                if (batch is not null)
                {
                    await WriteBatchAsync(batch).ConfigureAwait(false);
                    continue;
                }

                if (close)
                {
                    await CloseOutputAsync(_closeCode, _closeReason).ConfigureAwait(false);
                    return;
                }

                await _wake.WaitAsync().ConfigureAwait(false);
            }
        }
        catch (WebSocketException)
        {
            Abort(); // the write failed: nothing more can be sent, and the receive side ends too
        }
        catch (IOException)
        {
            Abort();
        }
        catch (ObjectDisposedException)
        {
            // aborted
        }
        catch (OperationCanceledException)
        {
            // aborted
        }
    }

    private async Task WriteBatchAsync(List<Segment> batch)
    {
        // The whole batch leaves the queue here, written or (after a failed write) dropped.
        long bytes = 0;
        foreach (var s in batch)
        {
            bytes += s.Used;
        }

        try
        {
            foreach (var s in batch)
            {
                await _stream.WriteAsync(s.Buffer.AsMemory(0, s.Used)).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var s in batch)
            {
                ArrayPool<byte>.Shared.Return(s.Buffer);
            }

            batch.Clear();
            lock (_gate)
            {
                _queuedBytes -= bytes;
                _spare = batch;
            }

            _budget?.Release(bytes);
        }
    }

    private async Task CloseOutputAsync(int code, string reason)
    {
        if (_ws.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        // Bound the wait for the remote close: after CloseTimeout the socket is aborted.
        var timer = new CancellationTokenSource(_limits.CloseTimeout);
        timer.Token.UnsafeRegister(static s => ((WebSocket)s!).Abort(), _ws);
        _closeTimer = timer;
        await _ws.CloseOutputAsync((WebSocketCloseStatus)code, TruncateReason(reason), CancellationToken.None).ConfigureAwait(false);
    }

    // RFC 6455: the close frame payload is at most 125 bytes, 2 of them the code.
    private static string TruncateReason(string reason)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= 123)
        {
            return reason;
        }

        var chars = reason.AsSpan();
        var n = Math.Min(chars.Length, 123);
        while (n > 0 && System.Text.Encoding.UTF8.GetByteCount(chars[..n]) > 123)
        {
            n--;
        }

        return reason[..n];
    }

    // After both loops ended (nothing more is queued: _stopped is set): drops what was never written.
    private void ReturnSegments()
    {
        long dropped;
        lock (_gate)
        {
            foreach (var seg in _segments)
            {
                ArrayPool<byte>.Shared.Return(seg.Buffer);
            }

            _segments.Clear();
            dropped = _queuedBytes;
            _queuedBytes = 0;
        }

        if (dropped != 0)
        {
            _budget?.Release(dropped);
        }
    }
}

/// <summary>
/// The limits one WebSocket peer applies to each of its connections, and the server-wide send budget its connections
/// charge what they queue to (null on a client).
/// </summary>
internal sealed record WsLimits(int MaxMessageSize, long MaxQueuedBytes, int MaxViolations, TimeSpan CloseTimeout, ILogger Logger, SendBudget? Budget = null);

/// <summary>RFC 6455 close codes used here.</summary>
internal static class WsCloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int ProtocolError = 1002;
    public const int InvalidPayload = 1007;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;
    public const int TryAgainLater = 1013;
}
