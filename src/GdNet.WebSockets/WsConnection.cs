using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
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
/// One WebSocket connection, RFC 6455 done here end to end over a byte stream (after the opening handshake, which
/// <see cref="WebSocketRelayListener"/> and <see cref="WebSocketClient"/> do), with two tasks: a receive loop that parses
/// frames with a <see cref="WsFrameReader"/> (whole messages, bounded by the maximum message size, handed to an
/// <see cref="IWsMessageHandler"/>; pings, closes and protocol errors answered), and a send loop, the only writer of the
/// stream, that writes batches of data frames and the control frames (pong, close). Used by both
/// <see cref="WebSocketRelayListener"/> (one per client, through <see cref="WsRelayConnection"/>) and
/// <see cref="WebSocketClient"/>.
/// </summary>
/// <remarks>
/// <para>Receiving: bytes are read into a pooled buffer, rented when data comes and, on a server, returned whenever
/// nothing is pending (the wait for the next data is a zero-byte read), so an idle connection holds no buffer. A message
/// that came in one frame is handed to the handler where it lies in that buffer (unmasked in place), without a copy.</para>
/// <para>Sending: any thread frames a message straight into the connection's pooled segments (RFC 6455 header, masked
/// with a key from <see cref="MaskSource"/> on a client), under a short lock; the send loop takes all filled segments at
/// once and writes them with one stream write per segment (up to 64 KiB). So a burst of small messages costs one copy
/// each and one system call per 64 KiB. Control frames go through the same loop: a pong before the next batch, the close
/// frame after everything queued.</para>
/// <para>Budget: what is queued counts against <see cref="WsLimits.MaxQueuedBytes"/> and, when given, the server-wide
/// <see cref="WsLimits.Budget"/>: every queued frame byte is charged once and released once, when written or dropped
/// (a write that failed, or what is still queued when the connection ends).</para>
/// <para>Thread safety: enqueueing and closing from any thread; the loops run on their own tasks.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "_abort holds no timer and may be cancelled after the connection ended; RunAsync owns the rest.")]
internal sealed class WsConnection
{
    private const int MinSegmentSize = 4 * 1024;
    private const int SegmentSize = 64 * 1024;
    private const int ReadBufferSize = 16 * 1024;

    private struct Segment
    {
        public byte[] Buffer;
        public int Used;
    }

    private readonly Stream _stream;
    private readonly Action? _abortTransport;
    private readonly bool _releaseIdleBuffers;
    private readonly CancellationTokenSource _abort = new();
    private readonly MaskSource? _masks;
    private readonly IWsMessageHandler _handler;
    private readonly WsLimits _limits;
    private readonly SendBudget? _budget;
    private ReadOnlyMemory<byte> _initialData;

    // Outgoing frames, guarded by _gate.
    private readonly Lock _gate = new();
    private readonly AsyncSignal _wake = new();
    private List<Segment> _segments = new(2);
    private List<Segment> _spare = new(2);
    private long _queuedBytes;
    private bool _loopWaiting;
    private bool _closeQueued;
    private bool _stopped;
    private int _closeCode;
    private string _closeReason = string.Empty;
    private byte[]? _pongPayload;
    private int _pongLength = -1;

    private int _violations;
    private bool _remoteClosed;
    private volatile bool _closeSent;
    private bool _ended;
    private Timer? _closeTimer;
    private Timer? _abortTimer;
    private Timer? _incompleteTimer;
    private int _incompleteArmed;
    private long _partialSince;

    // Counters: written under _gate (out) or by the receive loop (in), read by snapshots.
    private long _messagesIn;
    private long _bytesIn;
    private long _messagesOut;
    private long _bytesOut;

    /// <param name="stream">The connection's byte stream, after the opening handshake. This connection owns it.</param>
    /// <param name="isClient">True on a client: frames sent are masked, frames received must not be.</param>
    /// <param name="handler">Takes the received messages and the violations.</param>
    /// <param name="limits">The limits, and the server-wide send budget when there is one.</param>
    /// <param name="initialData">Bytes read past the handshake (the first frames), parsed before anything else.</param>
    /// <param name="abortTransport">Drops the underlying connection at once (the server's HTTP connection); null when disposing the stream does.</param>
    public WsConnection(Stream stream, bool isClient, IWsMessageHandler handler, WsLimits limits, ReadOnlyMemory<byte> initialData = default, Action? abortTransport = null)
    {
        _stream = stream;
        _masks = isClient ? new MaskSource() : null;
        _handler = handler;
        _limits = limits;
        _budget = limits.Budget;
        _initialData = initialData;
        _abortTransport = abortTransport;
        // A server has many connections, mostly idle: it keeps no buffer between messages. A client keeps its one buffer
        // and saves the zero-byte read.
        _releaseIdleBuffers = !isClient;
    }

    /// <summary>The peer id this connection speaks for (the client's id on the server; 1 on a client). Used in rejections.</summary>
    public int Id { get; set; }

    /// <summary>The remote IP address, for diagnostics.</summary>
    public string RemoteAddress { get; init; } = string.Empty;

    /// <summary>The remote TCP port, for diagnostics.</summary>
    public int RemotePort { get; init; }

    /// <summary>Bytes (frames) waiting to be written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The close code the remote side sent, once it did (null: none, or no close came).</summary>
    public int? RemoteCloseCode { get; private set; }

    /// <summary>The close reason the remote side sent, once it did (null when its close had no code).</summary>
    public string? RemoteCloseDescription { get; private set; }

    /// <summary>The close this side sent or queued (code and reason), for diagnostics.</summary>
    public string? LocalCloseReason { get; private set; }

    /// <summary>True once the remote side's close frame came.</summary>
    public bool RemoteClosed => Volatile.Read(ref _remoteClosed);

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

        // A short queue gets a small segment (a few messages to an idle peer do not take 64 KiB); a growing one 64 KiB ones.
        var want = (int)Math.Min(SegmentSize, _queuedBytes + size);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, Math.Max(MinSegmentSize, want)));
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
                if (!_ended)
                {
                    _abortTimer ??= new Timer(static s => ((WsConnection)s!).Abort(), this, _limits.CloseTimeout, Timeout.InfiniteTimeSpan);
                }
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
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // over already
        }

        if (!Volatile.Read(ref _ended))
        {
            try
            {
                _abortTransport?.Invoke();
            }
            catch (ObjectDisposedException)
            {
                // the HTTP connection ended meanwhile
            }
        }
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
            if (!(_remoteClosed && _closeSent))
            {
                // No complete close handshake: drop the connection rather than close it gracefully.
                Abort();
            }
            else if (_masks is not null)
            {
                // A client lets the server close the TCP connection first (RFC 6455 §7.1.1), bounded.
                await LingerAsync(ArrayPool<byte>.Shared.Rent(256), returnScratch: true).ConfigureAwait(false);
            }

            lock (_gate)
            {
                _ended = true;
                _closeTimer?.Dispose();
                _abortTimer?.Dispose();
                _incompleteTimer?.Dispose();
            }

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
        var reader = new WsFrameReader(fromClient: _masks is null, _limits.MaxMessageSize);
        byte[]? buffer = null;
        int start = 0, end = 0;
        if (!_initialData.IsEmpty)
        {
            buffer = ArrayPool<byte>.Shared.Rent(Math.Max(ReadBufferSize, _initialData.Length));
            _initialData.Span.CopyTo(buffer);
            end = _initialData.Length;
            _initialData = default;
        }

        var token = _abort.Token;
        try
        {
            while (true)
            {
                var r = reader.Read(buffer is null ? [] : buffer.AsSpan(start, end - start));
                switch (r.Kind)
                {
                    case WsReadKind.Message:
                        Volatile.Write(ref _partialSince, 0);
                        if (!reader.Draining)
                        {
                            _messagesIn++;
                            _bytesIn += r.Count;
                            if (r.Text)
                            {
                                Violate(new PacketRejection(Id, PacketRejectReason.UnsupportedFrame, r.Count, 0, "text frame (Godot multiplayer messages are binary)"));
                            }
                            else
                            {
                                while (handler.OnMessage(this, buffer.AsSpan(start + r.Offset, r.Count)) == MessageDisposition.RetryLater)
                                {
                                    // Stop waiting when nothing more can be received: the connection was aborted (a failed
                                    // write, the close timer).
                                    if (token.IsCancellationRequested)
                                    {
                                        return;
                                    }

                                    await handler.WhenRetryAsync(r.Count).ConfigureAwait(false);
                                }
                            }
                        }

                        start += r.Consumed;
                        continue;

                    case WsReadKind.Ping:
                        QueuePong(buffer.AsSpan(start + r.Offset, r.Count));
                        start += r.Consumed;
                        continue;

                    case WsReadKind.Pong:
                        start += r.Consumed;
                        continue;

                    case WsReadKind.Close:
                        OnRemoteClose(r.CloseCode, buffer.AsSpan(start + r.Offset, r.Count));
                        return;

                    case WsReadKind.Fail when r.CloseCode == WsCloseCodes.MessageTooBig:
                        // The framing is intact: say why, then skip data (the reader drains) until the remote close, bounded
                        // by the close timer.
                        Violate(new PacketRejection(Id, PacketRejectReason.TooLarge, r.Length, _limits.MaxMessageSize, "message larger than the limit (refused from its header)"));
                        RequestClose(WsCloseCodes.MessageTooBig, r.Error!);
                        start += r.Consumed;
                        continue;

                    case WsReadKind.Fail:
                        // A protocol error: nothing after it can be parsed. Close with the code and reason, then wait for the
                        // peer to hang up before tearing down, so that the close frame is not lost to a reset (RFC 6455
                        // §7.1.1: the server closes the TCP connection last), bounded by the close timeout.
                        Violate(new PacketRejection(Id, PacketRejectReason.Malformed, 0, 0, "WebSocket protocol error: " + r.Error));
                        RequestClose(r.CloseCode, r.Error!);
                        buffer ??= ArrayPool<byte>.Shared.Rent(ReadBufferSize);
                        await LingerAsync(buffer).ConfigureAwait(false);
                        return;
                }

                // NeedMore.
                start += r.Consumed;
                var pending = end - start;
                if (pending == 0 && reader.AtRest)
                {
                    start = end = 0;
                    Volatile.Write(ref _partialSince, 0);
                    if (_releaseIdleBuffers && buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null;
                    }
                }
                else
                {
                    WatchIncomplete();
                }

                if (buffer is not null && buffer.Length - start < r.Needed)
                {
                    // Make room: drop the gap control frames left inside a fragmented message, move what is pending to the
                    // front, and grow when that is still too small (up to the largest message and a control frame).
                    var length = reader.Compact(buffer.AsSpan(start, pending));
                    buffer.AsSpan(start, length).CopyTo(buffer);
                    start = 0;
                    end = length;
                    var needed = Math.Min(r.Needed - (pending - length), reader.MaxWindow);
                    if (buffer.Length < needed)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(needed, buffer.Length * 2), reader.MaxWindow));
                        buffer.AsSpan(0, end).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }

                if (buffer is null)
                {
                    // Idle: wait for data without holding a buffer (a zero-byte read), then rent one.
                    if (_releaseIdleBuffers)
                    {
                        await _stream.ReadAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
                    }

                    buffer = ArrayPool<byte>.Shared.Rent(Math.Max(ReadBufferSize, r.Needed));
                }

                var n = await _stream.ReadAsync(buffer.AsMemory(end), token).ConfigureAwait(false);
                if (n == 0)
                {
                    return; // the remote side hung up without a close
                }

                end += n;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // reset, or aborted
        }

        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // A frame (or a fragmented message) has begun and waits for the network: it has IncompleteMessageTimeout to end. One
    // timer per connection, armed at most once per period (a later check re-arms it for what is left).
    private void WatchIncomplete()
    {
        if (Volatile.Read(ref _partialSince) == 0)
        {
            Volatile.Write(ref _partialSince, Math.Max(1, Stopwatch.GetTimestamp()));
        }

        if (Interlocked.CompareExchange(ref _incompleteArmed, 1, 0) == 0)
        {
            lock (_gate)
            {
                if (_stopped || _ended)
                {
                    return;
                }

                _incompleteTimer ??= new Timer(static s => ((WsConnection)s!).CheckIncomplete(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _incompleteTimer.Change(_limits.IncompleteMessageTimeout, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void CheckIncomplete()
    {
        Volatile.Write(ref _incompleteArmed, 0);
        var since = Volatile.Read(ref _partialSince);
        if (since == 0)
        {
            return;
        }

        var waited = Stopwatch.GetElapsedTime(since);
        var timeout = _limits.IncompleteMessageTimeout;
        if (waited < timeout)
        {
            if (Interlocked.CompareExchange(ref _incompleteArmed, 1, 0) == 0)
            {
                lock (_gate)
                {
                    if (!_stopped && !_ended)
                    {
                        _incompleteTimer?.Change(timeout - waited, Timeout.InfiniteTimeSpan);
                    }
                }
            }

            return;
        }

        if (IsClosing)
        {
            return;
        }

        // The remote side started a message and stopped sending: it holds a receive buffer for nothing. What it sends next
        // would be read as the rest of that frame, so its answer to the close cannot be parsed: the close timer ends it.
        var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        Violate(new PacketRejection(Id, PacketRejectReason.Malformed, 0, 0, $"message still incomplete after {seconds} s"));
        RequestClose(WsCloseCodes.PolicyViolation, $"message incomplete for {seconds} s");
        lock (_gate)
        {
            if (!_ended)
            {
                _abortTimer ??= new Timer(static s => ((WsConnection)s!).Abort(), this, _limits.CloseTimeout, Timeout.InfiniteTimeSpan);
            }
        }
    }

    // A ping: answer with a pong carrying its payload, before the next batch. Only the latest unanswered ping is answered
    // (RFC 6455 §5.5.3), so a peer that pings and never reads costs one slot, not a queue.
    private void QueuePong(ReadOnlySpan<byte> payload)
    {
        bool wake;
        lock (_gate)
        {
            if (_closeQueued || _stopped)
            {
                return;
            }

            _pongPayload ??= new byte[Rfc6455.MaxControlPayload];
            payload.CopyTo(_pongPayload);
            _pongLength = payload.Length;
            wake = _loopWaiting;
            _loopWaiting = false;
        }

        if (wake)
        {
            _wake.Set();
        }
    }

    private async Task LingerAsync(byte[] scratch, bool returnScratch = false)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
            timeout.CancelAfter(_limits.CloseTimeout);
            while (await _stream.ReadAsync(scratch, timeout.Token).ConfigureAwait(false) > 0)
            {
                // discard
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // reset, timed out, or already gone
        }
        finally
        {
            if (returnScratch)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    private void OnRemoteClose(int code, ReadOnlySpan<byte> reason)
    {
        _remoteClosed = true;
        RemoteCloseCode = code == 0 ? null : code;
        // Godot 3.2.3 sends its close reason with the C string's NUL terminator ("quit\0"): drop it.
        RemoteCloseDescription = code == 0 ? null : Encoding.UTF8.GetString(reason).TrimEnd('\0');

        // Answer the close (if we did not start it), after anything already queued: the same code, or 1000 for none.
        RequestClose(code == 0 ? WsCloseCodes.Normal : code, string.Empty);
    }

    private async Task SendLoopAsync()
    {
        var token = _abort.Token;
        byte[]? control = null;
        try
        {
            while (true)
            {
                List<Segment>? batch = null;
                var close = false;
                var pong = 0;
                lock (_gate)
                {
                    if (_stopped)
                    {
                        return;
                    }

                    if (_pongLength >= 0)
                    {
                        control ??= new byte[Rfc6455.MaxControlFrame];
                        pong = Rfc6455.WriteControlFrame(control, WsOpcode.Pong, 0, _pongPayload.AsSpan(0, _pongLength), _masks is not null, _masks?.Next() ?? 0);
                        _pongLength = -1;
                    }
                    else if (_segments.Count > 0)
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

                if (pong != 0)
                {
                    await _stream.WriteAsync(control.AsMemory(0, pong), token).ConfigureAwait(false);
                    continue;
                }

                if (batch is not null)
                {
                    await WriteBatchAsync(batch, token).ConfigureAwait(false);
                    continue;
                }

                if (close)
                {
                    await WriteCloseAsync(control ??= new byte[Rfc6455.MaxControlFrame], token).ConfigureAwait(false);
                    return;
                }

                await _wake.WaitAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            Abort(); // the write failed: nothing more can be sent, and the receive side ends too
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

    private async Task WriteBatchAsync(List<Segment> batch, CancellationToken token)
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
                await _stream.WriteAsync(s.Buffer.AsMemory(0, s.Used), token).ConfigureAwait(false);
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

    private async Task WriteCloseAsync(byte[] control, CancellationToken token)
    {
        Span<byte> reason = stackalloc byte[Rfc6455.MaxControlPayload - 2];
        var n = Rfc6455.EncodeCloseReason(_closeReason, reason);
        uint mask = 0;
        if (_masks is not null)
        {
            RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(new Span<uint>(ref mask)));
        }

        var length = Rfc6455.WriteControlFrame(control, WsOpcode.Close, _closeCode, reason[..n], _masks is not null, mask);

        // Bound the wait for the remote close: after CloseTimeout the connection is aborted.
        lock (_gate)
        {
            if (!_ended)
            {
                _closeTimer ??= new Timer(static s => ((WsConnection)s!).Abort(), this, _limits.CloseTimeout, Timeout.InfiniteTimeSpan);
            }
        }

        await _stream.WriteAsync(control.AsMemory(0, length), token).ConfigureAwait(false);
        await _stream.FlushAsync(token).ConfigureAwait(false);
        _closeSent = true;
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
internal sealed record WsLimits(int MaxMessageSize, long MaxQueuedBytes, int MaxViolations, TimeSpan CloseTimeout, ILogger Logger, SendBudget? Budget = null)
{
    /// <summary>The default of <see cref="IncompleteMessageTimeout"/>.</summary>
    public static readonly TimeSpan DefaultIncompleteMessageTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a message may take to arrive whole once its first byte came (a frame cut short, a fragmented message left
    /// open): past it the connection is closed with 1008 and the reason, and counted as a violation.
    /// </summary>
    public TimeSpan IncompleteMessageTimeout { get; init; } = DefaultIncompleteMessageTimeout;
}

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
