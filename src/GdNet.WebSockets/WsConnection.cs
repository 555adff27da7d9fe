using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Threading.Channels;
using GdNet.Peers;

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
}

/// <summary>
/// One WebSocket connection with its two tasks: a receive loop that reads whole messages (bounded by the maximum message
/// size) and hands them to an <see cref="IWsMessageHandler"/>, and a send loop that drains a bounded per-connection queue of
/// pooled buffers. Used by both <see cref="WebSocketServer"/> (one per client) and <see cref="WebSocketClient"/>.
/// </summary>
/// <remarks>
/// Ownership: every buffer handed to <see cref="TryEnqueueOwned"/> belongs to the connection from then on, and is returned
/// to <see cref="ArrayPool{T}.Shared"/> once sent, dropped or refused. Thread safety: enqueueing and closing from any
/// thread; the loops run on their own tasks.
/// </remarks>
internal sealed class WsConnection
{
    private const int InitialReceiveBufferSize = 4096;

    private readonly WebSocket _ws;
    private readonly CorkedStream? _cork;
    private readonly PeerInbox _inbox;
    private readonly WsLimits _limits;
    private readonly Channel<Outgoing> _queue;
    private readonly TaskCompletionSource _sendLoopDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _queuedBytes;
    private int _closeRequested;
    private int _violations;
    private CancellationTokenSource? _closeTimer;

    // Counters: written by one loop each, read by snapshots.
    private long _messagesIn;
    private long _bytesIn;
    private long _messagesOut;
    private long _bytesOut;

    private readonly record struct Outgoing(byte[]? Buffer, int Length, int CloseCode, string? CloseReason);

    public WsConnection(WebSocket ws, CorkedStream? cork, PeerInbox inbox, WsLimits limits)
    {
        _ws = ws;
        _cork = cork;
        _inbox = inbox;
        _limits = limits;
        _queue = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    }

    /// <summary>The peer id this connection speaks for (the client's id on the server; 1 on a client).</summary>
    public int Id { get; set; }

    /// <summary>The remote IP address, for diagnostics.</summary>
    public string RemoteAddress { get; init; } = string.Empty;

    /// <summary>The remote TCP port, for diagnostics.</summary>
    public int RemotePort { get; init; }

    /// <summary>Bytes waiting in the send queue.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>The close status the remote side sent, once it did.</summary>
    public WebSocketCloseStatus? RemoteCloseStatus { get; private set; }

    /// <summary>The close reason the remote side sent, once it did.</summary>
    public string? RemoteCloseDescription { get; private set; }

    /// <summary>The close this side sent or queued (code and reason), for diagnostics.</summary>
    public string? LocalCloseReason { get; private set; }

    /// <summary>True once a close was queued, sent or received: no more data is accepted for sending.</summary>
    public bool IsClosing => Volatile.Read(ref _closeRequested) != 0;

    public long MessagesIn => Interlocked.Read(ref _messagesIn);

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public int Violations => Volatile.Read(ref _violations);

    /// <summary>
    /// Queues a whole message held in <paramref name="rented"/> (from <see cref="ArrayPool{T}.Shared"/>); ownership passes
    /// in every case. False when the connection is closing or the queue would exceed its byte limit.
    /// </summary>
    public bool TryEnqueueOwned(byte[] rented, int length)
    {
        if (Interlocked.Add(ref _queuedBytes, length) > _limits.MaxQueuedBytes && length > 0)
        {
            Interlocked.Add(ref _queuedBytes, -length);
            ArrayPool<byte>.Shared.Return(rented);
            return false;
        }

        if (IsClosing || !_queue.Writer.TryWrite(new Outgoing(rented, length, 0, null)))
        {
            Interlocked.Add(ref _queuedBytes, -length);
            ArrayPool<byte>.Shared.Return(rented);
            return false;
        }

        return true;
    }

    /// <summary>Copies <paramref name="message"/> into a pooled buffer and queues it.</summary>
    public bool TryEnqueueCopy(ReadOnlySpan<byte> message)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(message.Length);
        message.CopyTo(buffer);
        return TryEnqueueOwned(buffer, message.Length);
    }

    /// <summary>
    /// Queues a close frame after what is already queued; later data is refused. The first call wins. The remote side then
    /// has <see cref="WsLimits.CloseTimeout"/> to answer before the connection is aborted.
    /// </summary>
    public void RequestClose(int code, string reason)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        LocalCloseReason = string.Create(CultureInfo.InvariantCulture, $"{code} {reason}");
        _queue.Writer.TryWrite(new Outgoing(null, 0, code, reason));
        _queue.Writer.TryComplete();
    }

    /// <summary>Counts a refused message from the remote side; past the limit the connection is closed with 1008.</summary>
    public void Violate(PacketRejection rejection)
    {
        _inbox.Reject(rejection);
        var n = Interlocked.Increment(ref _violations);
        if (_limits.MaxViolations > 0 && n >= _limits.MaxViolations)
        {
            RequestClose(WsCloseCodes.PolicyViolation, string.Create(CultureInfo.InvariantCulture,
                $"too many invalid messages ({n}); last: {rejection.Reason}"));
        }
    }

    /// <summary>Closes the socket at once, without a close handshake. Pending sends and receives end.</summary>
    public void Abort()
    {
        Interlocked.Exchange(ref _closeRequested, 1);
        _queue.Writer.TryComplete();
        _ws.Abort();
    }

    /// <summary>Runs both loops until the connection is closed (by either side) or aborted. Never throws.</summary>
    public async Task RunAsync(IWsMessageHandler handler, CancellationToken stopping)
    {
        using var stopReg = stopping.UnsafeRegister(static s => ((WsConnection)s!).Abort(), this);
        var sendLoop = Task.Run(SendLoopAsync, CancellationToken.None);
        try
        {
            await ReceiveLoopAsync(handler).ConfigureAwait(false);
        }
        finally
        {
            // The receive side is done: let the send loop finish its close (bounded), then make sure the socket is gone.
            _queue.Writer.TryComplete();
            if (!await WaitAsync(sendLoop, _limits.CloseTimeout).ConfigureAwait(false))
            {
                _ws.Abort();
                await sendLoop.ConfigureAwait(false);
            }

            if (_ws.State != WebSocketState.Closed)
            {
                _ws.Abort();
            }

            _closeTimer?.Dispose();
            _ws.Dispose();
            _cork?.Dispose();

            DrainQueue();
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
                    if (IsClosing && _ws.State != WebSocketState.Open && _ws.State != WebSocketState.CloseSent)
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
        RemoteCloseStatus = _ws.CloseStatus;
        RemoteCloseDescription = _ws.CloseStatusDescription;
        var code = _ws.CloseStatus is { } s && s != WebSocketCloseStatus.Empty ? (int)s : WsCloseCodes.Normal;

        // Answer the close (if we did not start it), after anything already queued.
        RequestClose(code, string.Empty);
    }

    private async Task SendLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                _cork?.Cork();
                try
                {
                    while (reader.TryRead(out var item))
                    {
                        if (item.Buffer is null)
                        {
                            if (_cork is not null)
                            {
                                await _cork.UncorkAsync().ConfigureAwait(false);
                            }

                            await CloseOutputAsync(item.CloseCode, item.CloseReason ?? string.Empty).ConfigureAwait(false);
                            return;
                        }

                        try
                        {
                            await _ws.SendAsync(item.Buffer.AsMemory(0, item.Length), WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                            _messagesOut++;
                            _bytesOut += item.Length;
                        }
                        finally
                        {
                            Interlocked.Add(ref _queuedBytes, -item.Length);
                            ArrayPool<byte>.Shared.Return(item.Buffer);
                        }
                    }
                }
                finally
                {
                    if (_cork is not null)
                    {
                        await _cork.UncorkAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        catch (WebSocketException)
        {
            _ws.Abort();
        }
        catch (IOException)
        {
            _ws.Abort();
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
            _sendLoopDone.TrySetResult();
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

    private void DrainQueue()
    {
        while (_queue.Reader.TryRead(out var item))
        {
            if (item.Buffer is not null)
            {
                Interlocked.Add(ref _queuedBytes, -item.Length);
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
        }
    }
}

/// <summary>The limits one WebSocket peer applies to each of its connections.</summary>
internal sealed record WsLimits(int MaxMessageSize, long MaxQueuedBytes, int MaxViolations, TimeSpan CloseTimeout);

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
