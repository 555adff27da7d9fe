using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace GdNet.WebSockets;

/// <summary>What <see cref="WsFrameReader.Read"/> found.</summary>
internal enum WsReadKind
{
    /// <summary>More bytes are needed; <see cref="WsReadResult.Needed"/> is the window length that will hold the next step.</summary>
    NeedMore,

    /// <summary>A whole data message (reassembled when it came in fragments) at <see cref="WsReadResult.Offset"/>.</summary>
    Message,

    /// <summary>A ping: answer with a pong carrying the same payload.</summary>
    Ping,

    /// <summary>A pong (nothing to do).</summary>
    Pong,

    /// <summary>A valid close frame: <see cref="WsReadResult.CloseCode"/> (0 when it had none) and its reason's bytes.</summary>
    Close,

    /// <summary>
    /// The remote side broke the protocol: close with <see cref="WsReadResult.CloseCode"/> (1002, 1007 or 1009) and
    /// <see cref="WsReadResult.Error"/>. After a 1009 the reader drains (skips data frames, still reads control frames);
    /// after anything else the stream cannot be parsed any further.
    /// </summary>
    Fail,
}

/// <summary>The result of one <see cref="WsFrameReader.Read"/> call.</summary>
/// <param name="Kind">What was found.</param>
/// <param name="Offset">Where the payload (message, ping, pong, close reason) starts in the window.</param>
/// <param name="Count">The payload's length.</param>
/// <param name="Consumed">
/// Bytes at the start of the window that are done once the payload has been used: the caller drops them before the next
/// call (the reader's own positions already count from there).
/// </param>
/// <param name="Needed">For <see cref="WsReadKind.NeedMore"/>: the window length (from its start) the next step needs.</param>
/// <param name="Text">For <see cref="WsReadKind.Message"/>: a text message.</param>
/// <param name="CloseCode">For <see cref="WsReadKind.Close"/>: the code received (0: none); for <see cref="WsReadKind.Fail"/>: the code to close with.</param>
/// <param name="Error">For <see cref="WsReadKind.Fail"/>: what was wrong.</param>
/// <param name="Length">For a 1009 <see cref="WsReadKind.Fail"/>: the size the message declared (so far).</param>
internal readonly record struct WsReadResult(
    WsReadKind Kind, int Offset = 0, int Count = 0, int Consumed = 0, int Needed = 0, bool Text = false, int CloseCode = 0, string? Error = null, long Length = 0);

/// <summary>
/// The receiving half of RFC 6455 as a pure state machine over the caller's buffer: no I/O, no allocation (except the
/// text of an error), so it can be driven byte by byte, by a socket loop or by a fuzzer.
/// </summary>
/// <remarks>
/// <para>The caller keeps the bytes received and not yet consumed in one contiguous window and calls
/// <see cref="Read"/> with it. Frames are unmasked in place; a message that came whole in one frame is handed out where it
/// lies, a fragmented one is reassembled at the start of the window (each continuation's payload moved down over the
/// headers before it), so the window never needs more than the largest message plus one frame header (or plus one
/// control frame, which may come between fragments).</para>
/// <para>Rules (each breach is a <see cref="WsReadKind.Fail"/>): frames from a client must be masked and frames from a
/// server must not (1002); the header rules of <see cref="Rfc6455.TryReadHeader"/> (1002); a continuation with no
/// message to continue, or a new message before the fragmented one ended (1002); a close frame with a 1-byte payload or
/// an invalid code (1002) or a reason that is not UTF-8 (1007); a message whose declared size passes the limit (1009,
/// before any of its payload is read: a frame declaring 2^63 − 1 bytes is refused at once).</para>
/// </remarks>
internal sealed class WsFrameReader
{
    private readonly bool _expectMasked;
    private readonly int _maxMessage;

    // Offsets in the window: the reassembled message so far is [0, _assembled), the next unread frame starts at _next
    // (>= _assembled; control frames between fragments leave a gap that Compact removes).
    private int _assembled;
    private int _next;
    private bool _inMessage;
    private bool _text;
    private bool _draining;
    private long _skip;

    /// <param name="fromClient">True on a server (the frames come from a client and must be masked).</param>
    /// <param name="maxMessageSize">The largest message accepted, in bytes.</param>
    public WsFrameReader(bool fromClient, int maxMessageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageSize, 1);
        _expectMasked = fromClient;
        _maxMessage = maxMessageSize;
    }

    /// <summary>The largest window <see cref="Read"/> can ask for: the largest message, then a control frame.</summary>
    public int MaxWindow => _maxMessage + Rfc6455.MaxHeaderSize + Rfc6455.MaxControlFrame;

    /// <summary>True when nothing is pending: no fragmented message, no payload being skipped.</summary>
    public bool AtRest => !_inMessage && _next == 0 && _skip == 0;

    /// <summary>True after a 1009: data frames are skipped until the remote close comes.</summary>
    public bool Draining => _draining;

    /// <summary>
    /// Reads the next frame of <paramref name="window"/> (the bytes received and not yet consumed). Call again after
    /// each result other than <see cref="WsReadKind.NeedMore"/>, having dropped <see cref="WsReadResult.Consumed"/> bytes.
    /// </summary>
    public WsReadResult Read(Span<byte> window)
    {
        while (true)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, window.Length - _next);
                _skip -= n;
                _next += n;
                if (_skip > 0)
                {
                    return NeedMore(window.Length + 1, consumedAll: true);
                }
            }

            var data = window[_next..];
            var status = Rfc6455.TryReadHeader(data, out var h, out var error);
            if (status == WsHeaderStatus.NeedMore)
            {
                return NeedMore(_next + Rfc6455.MaxHeaderSize, consumedAll: false);
            }

            if (status == WsHeaderStatus.Invalid)
            {
                return Fail(WsCloseCodes.ProtocolError, error!);
            }

            if (h.Masked != _expectMasked)
            {
                return Fail(WsCloseCodes.ProtocolError, _expectMasked ? "unmasked frame from a client" : "masked frame from a server");
            }

            if (h.IsControl)
            {
                var total = h.HeaderLength + (int)h.PayloadLength;
                if (data.Length < total)
                {
                    return NeedMore(_next + total, consumedAll: false);
                }

                var payload = data.Slice(h.HeaderLength, (int)h.PayloadLength);
                if (h.Masked)
                {
                    Rfc6455.MaskCopy(payload, payload, h.Mask, 0);
                }

                var offset = _next + h.HeaderLength;
                _next += total;
                var consumed = TakeConsumed();
                switch (h.Opcode)
                {
                    case WsOpcode.Ping:
                        return new WsReadResult(WsReadKind.Ping, offset, payload.Length, consumed);
                    case WsOpcode.Pong:
                        return new WsReadResult(WsReadKind.Pong, offset, payload.Length, consumed);
                    default:
                        return ReadClose(payload, offset, consumed);
                }
            }

            // A data frame.
            if (!_draining)
            {
                if (h.Opcode == WsOpcode.Continuation && !_inMessage)
                {
                    return Fail(WsCloseCodes.ProtocolError, "continuation frame with no message to continue");
                }

                if (h.Opcode != WsOpcode.Continuation && _inMessage)
                {
                    return Fail(WsCloseCodes.ProtocolError, "new message before the fragmented one ended");
                }
            }

            if (_draining || h.PayloadLength > _maxMessage - _assembled)
            {
                var declared = h.PayloadLength > long.MaxValue - _assembled ? long.MaxValue : _assembled + h.PayloadLength;
                var wasDraining = _draining;
                _draining = true;
                _inMessage = false;
                _assembled = 0;
                _next += h.HeaderLength;
                _skip = h.PayloadLength;
                if (!wasDraining)
                {
                    return new WsReadResult(WsReadKind.Fail, CloseCode: WsCloseCodes.MessageTooBig, Error: string.Create(CultureInfo.InvariantCulture,
                        $"message larger than {_maxMessage} bytes"), Length: declared);
                }

                continue;
            }

            var length = (int)h.PayloadLength;
            var frame = h.HeaderLength + length;
            if (data.Length < frame)
            {
                return NeedMore(_next + frame, consumedAll: false);
            }

            var body = data.Slice(h.HeaderLength, length);
            if (h.Masked)
            {
                Rfc6455.MaskCopy(body, body, h.Mask, 0);
            }

            if (!_inMessage && h.Fin)
            {
                // The common case: a whole message in one frame, handed out where it lies.
                var offset = _next + h.HeaderLength;
                _next += frame;
                var consumed = TakeConsumed();
                return new WsReadResult(WsReadKind.Message, offset, length, consumed, Text: h.Opcode == WsOpcode.Text);
            }

            if (!_inMessage)
            {
                _inMessage = true;
                _text = h.Opcode == WsOpcode.Text;
            }

            body.CopyTo(window[_assembled..]);
            _assembled += length;
            _next += frame;
            if (h.Fin)
            {
                var count = _assembled;
                var text = _text;
                _inMessage = false;
                _assembled = 0;
                var consumed = TakeConsumed();
                return new WsReadResult(WsReadKind.Message, 0, count, consumed, Text: text);
            }
        }
    }

    /// <summary>
    /// Removes the gap control frames left between the reassembled part of a message and the next frame: moves the unread
    /// bytes down. Returns the window's new length.
    /// </summary>
    public int Compact(Span<byte> window)
    {
        if (_next == _assembled)
        {
            return window.Length;
        }

        var rest = window[_next..];
        rest.CopyTo(window[_assembled..]);
        var length = _assembled + rest.Length;
        _next = _assembled;
        return length;
    }

    private static WsReadResult ReadClose(Span<byte> payload, int offset, int consumed)
    {
        if (payload.Length == 0)
        {
            return new WsReadResult(WsReadKind.Close, offset, 0, consumed);
        }

        if (payload.Length == 1)
        {
            return Fail(WsCloseCodes.ProtocolError, "close frame with a 1-byte payload");
        }

        var code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!Rfc6455.IsValidReceivedCloseCode(code))
        {
            return Fail(WsCloseCodes.ProtocolError, string.Create(CultureInfo.InvariantCulture, $"invalid close code {code}"));
        }

        if (!Utf8.IsValid(payload[2..]))
        {
            return Fail(WsCloseCodes.InvalidPayload, "close reason is not valid UTF-8");
        }

        return new WsReadResult(WsReadKind.Close, offset + 2, payload.Length - 2, consumed, CloseCode: code);
    }

    // Outside a fragmented message everything read so far is done: hand it back to the caller and count from there.
    private int TakeConsumed()
    {
        if (_inMessage)
        {
            return 0;
        }

        var consumed = _next;
        _next = 0;
        return consumed;
    }

    private WsReadResult NeedMore(int needed, bool consumedAll)
    {
        var consumed = consumedAll || !_inMessage ? TakeConsumed() : 0;
        return new WsReadResult(WsReadKind.NeedMore, Consumed: consumed, Needed: Math.Max(needed - consumed, 1));
    }

    private static WsReadResult Fail(int code, string error) => new(WsReadKind.Fail, CloseCode: code, Error: error);
}
