using System.Buffers.Binary;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// <see cref="Rfc6455"/>'s header parser and <see cref="WsFrameReader"/> on plain spans: every length form and its
/// boundaries, partial input, masking, reassembly, control frames between fragments, limits. Frames are built with
/// <see cref="RawWs.Frame"/>, which is independent of the code under test.
/// </summary>
public class WsFrameReaderTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    [InlineData(1_000_000, 10)]
    public void TryReadHeader_EveryLengthForm_LengthAndHeaderSize(int length, int headerSize)
    {
        foreach (var masked in new[] { false, true })
        {
            var frame = RawWs.Frame(0x82, new byte[length], masked);

            Assert.Equal(WsHeaderStatus.Ok, Rfc6455.TryReadHeader(frame, out var h, out _));

            Assert.Equal((true, WsOpcode.Binary, masked, (long)length), (h.Fin, h.Opcode, h.Masked, h.PayloadLength));
            Assert.Equal(headerSize + (masked ? 4 : 0), h.HeaderLength);

            // Every prefix shorter than the header needs more, and none is an error.
            for (var n = 0; n < h.HeaderLength; n++)
            {
                Assert.Equal(WsHeaderStatus.NeedMore, Rfc6455.TryReadHeader(frame.AsSpan(0, n), out _, out _));
            }
        }
    }

    [Theory]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    public void WriteHeader_BoundaryLengths_ParsedBack(int length)
    {
        var buffer = new byte[Rfc6455.MaxHeaderSize];
        var n = Rfc6455.WriteHeader(buffer, length, masked: true, 0x11223344);

        Assert.Equal(n, Rfc6455.HeaderSize(length, masked: true));
        Assert.Equal(WsHeaderStatus.Ok, Rfc6455.TryReadHeader(buffer.AsSpan(0, n), out var h, out _));
        Assert.Equal((length, n, 0x11223344u), (h.PayloadLength, h.HeaderLength, h.Mask));
    }

    [Theory]
    [InlineData(125, 126, "minimal form")]
    [InlineData(0, 126, "minimal form")]
    [InlineData(65535, 127, "minimal form")]
    [InlineData(126, 127, "minimal form")]
    public void TryReadHeader_NonMinimalLength_Invalid(int length, int form, string why)
    {
        var frame = RawWs.Frame(0x82, new byte[length], masked: false, lengthForm: form);

        Assert.Equal(WsHeaderStatus.Invalid, Rfc6455.TryReadHeader(frame, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadHeader_64BitLengthTopBitSet_Invalid()
    {
        var frame = RawWs.Frame(0x82, [], masked: false, lengthForm: 127, declaredLength: long.MinValue);

        Assert.Equal(WsHeaderStatus.Invalid, Rfc6455.TryReadHeader(frame, out _, out var error));
        Assert.Contains("most significant bit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadHeader_LargestLength_Parsed()
    {
        var frame = RawWs.Frame(0x82, [], masked: false, declaredLength: long.MaxValue);

        Assert.Equal(WsHeaderStatus.Ok, Rfc6455.TryReadHeader(frame, out var h, out _));
        Assert.Equal(long.MaxValue, h.PayloadLength);
    }

    [Theory]
    [InlineData(0xC2, "reserved bits")]
    [InlineData(0x83, "unknown opcode 0x3")]
    [InlineData(0x8F, "unknown opcode 0xF")]
    [InlineData(0x09, "fragmented control frame")]
    [InlineData(0x08, "fragmented control frame")]
    public void TryReadHeader_BadFirstByte_Invalid(byte first, string why)
    {
        Assert.Equal(WsHeaderStatus.Invalid, Rfc6455.TryReadHeader(RawWs.Frame(first, [1], masked: false), out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryReadHeader_ControlFrameOver125_Invalid()
    {
        Assert.Equal(WsHeaderStatus.Invalid, Rfc6455.TryReadHeader(RawWs.Frame(0x89, new byte[126], masked: false), out _, out var error));
        Assert.Contains("longer than 125", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ComputeAccept_RfcSample() =>
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Rfc6455.ComputeAccept("dGhlIHNhbXBsZSBub25jZQ=="));

    [Theory]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==", true)]
    [InlineData(" dGhlIHNhbXBsZSBub25jZQ== ", true)]
    [InlineData("c2hvcnQ=", false)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ", false)]
    [InlineData("not base64 at all!!!!!!", false)]
    [InlineData("", false)]
    public void IsValidKey(string key, bool valid) => Assert.Equal(valid, Rfc6455.IsValidKey(key));

    // ------------------------------------------------------------------ the reader

    /// <summary>Feeds <paramref name="input"/> to a reader the way a socket loop does, <paramref name="chunk"/> bytes at a time; returns what it found.</summary>
    private static List<string> Feed(WsFrameReader reader, byte[] input, int chunk)
    {
        var found = new List<string>();
        var buffer = new byte[reader.MaxWindow + 16];
        int start = 0, end = 0, fed = 0;
        while (true)
        {
            var r = reader.Read(buffer.AsSpan(start, end - start));
            var payload = Convert.ToHexStringLower(buffer.AsSpan(start + r.Offset, r.Count));
            switch (r.Kind)
            {
                case WsReadKind.NeedMore:
                    start += r.Consumed;
                    if (fed == input.Length)
                    {
                        return found;
                    }

                    if (buffer.Length - start < r.Needed)
                    {
                        var length = reader.Compact(buffer.AsSpan(start, end - start));
                        buffer.AsSpan(start, length).CopyTo(buffer);
                        start = 0;
                        end = length;
                    }

                    var n = Math.Min(chunk, Math.Min(input.Length - fed, buffer.Length - end));
                    input.AsSpan(fed, n).CopyTo(buffer.AsSpan(end));
                    fed += n;
                    end += n;
                    continue;
                case WsReadKind.Message:
                    found.Add((r.Text ? "text " : "binary ") + payload);
                    break;
                case WsReadKind.Ping:
                    found.Add("ping " + payload);
                    break;
                case WsReadKind.Pong:
                    found.Add("pong " + payload);
                    break;
                case WsReadKind.Close:
                    found.Add($"close {r.CloseCode} {payload}");
                    return found;
                default:
                    found.Add($"fail {r.CloseCode} {r.Error}");
                    if (r.CloseCode != WsCloseCodes.MessageTooBig)
                    {
                        return found;
                    }

                    break;
            }

            start += r.Consumed;
        }
    }

    private static byte[] Bytes(int n, int seed = 0) => [.. Enumerable.Range(seed, n).Select(i => (byte)(i * 7))];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Read_MixedFramesInAnyChunking_SameResults(int chunk)
    {
        byte[] input =
        [
            .. RawWs.Frame(0x82, Bytes(125), masked: true),
            .. RawWs.Frame(0x82, Bytes(126), masked: true),
            .. RawWs.Frame(0x02, Bytes(10, 1), masked: true),
            .. RawWs.Frame(0x89, [1, 2], masked: true),
            .. RawWs.Frame(0x00, Bytes(65525, 2), masked: true),
            .. RawWs.Frame(0x8A, [], masked: true),
            .. RawWs.Frame(0x80, Bytes(1, 3), masked: true),
            .. RawWs.Frame(0x81, "hi"u8, masked: true),
            .. RawWs.Frame(0x82, [], masked: true),
            .. RawWs.Frame(0x88, RawWs.ClosePayload(1000, "ok"), masked: true),
        ];

        var found = Feed(new WsFrameReader(fromClient: true, 65536), input, chunk);

        string[] expected =
        [
            "binary " + Convert.ToHexStringLower(Bytes(125)),
            "binary " + Convert.ToHexStringLower(Bytes(126)),
            "ping 0102",
            "pong ",
            "binary " + Convert.ToHexStringLower([.. Bytes(10, 1), .. Bytes(65525, 2), .. Bytes(1, 3)]),
            "text 6869",
            "binary ",
            "close 1000 6f6b",
        ];
        Assert.Equal(expected, found);
    }

    [Theory]
    [InlineData(65535)]
    [InlineData(65536)]
    public void Read_MessageAtLimitInLengthForm_Delivered(int length)
    {
        var found = Feed(new WsFrameReader(fromClient: false, length), RawWs.Frame(0x82, Bytes(length), masked: false), 4096);

        Assert.Equal(["binary " + Convert.ToHexStringLower(Bytes(length))], found);
    }

    [Fact]
    public void Read_OverLimitByHeader_Fails1009AtOnceThenSkipsToClose()
    {
        // The header alone triggers the refusal; the payload that follows is skipped, and frames after it are read.
        byte[] input = [.. RawWs.Frame(0x82, Bytes(101), masked: true), .. RawWs.Frame(0x89, [9], masked: true), .. RawWs.Frame(0x88, RawWs.ClosePayload(1009), masked: true)];
        var reader = new WsFrameReader(fromClient: true, 100);

        var first = reader.Read(input.AsSpan(0, 8));
        Assert.Equal((WsReadKind.Fail, 1009, 101L), (first.Kind, first.CloseCode, first.Length));
        Assert.Equal(["fail 1009 message larger than 100 bytes", "ping 09", "close 1009 "], Feed(new WsFrameReader(fromClient: true, 100), input, 7));
    }

    [Fact]
    public void Read_HugeDeclaredLength_Fails1009WithoutPayload()
    {
        var r = new WsFrameReader(fromClient: false, 65536).Read(RawWs.Frame(0x82, [], masked: false, declaredLength: long.MaxValue));

        Assert.Equal((WsReadKind.Fail, WsCloseCodes.MessageTooBig, long.MaxValue), (r.Kind, r.CloseCode, r.Length));
    }

    [Fact]
    public void Read_FragmentsOverLimitTogether_Fails1009()
    {
        byte[] input = [.. RawWs.Frame(0x02, Bytes(60), masked: false), .. RawWs.Frame(0x80, Bytes(41), masked: false)];

        Assert.Equal(["fail 1009 message larger than 100 bytes"], Feed(new WsFrameReader(fromClient: false, 100), input, 1000));
    }

    [Theory]
    [InlineData(true, false, "unmasked frame from a client")]
    [InlineData(false, true, "masked frame from a server")]
    public void Read_WrongMasking_Fails1002(bool fromClient, bool masked, string why) =>
        Assert.Equal([$"fail 1002 {why}"], Feed(new WsFrameReader(fromClient, 100), RawWs.Frame(0x82, [1], masked), 100));

    [Theory]
    [InlineData(0x88, new byte[] { 3 }, "fail 1002 close frame with a 1-byte payload")]
    [InlineData(0x88, new byte[] { 0x03, 0xed }, "fail 1002 invalid close code 1005")]
    [InlineData(0x88, new byte[] { 0x03, 0xe8, 0xc3, 0x28 }, "fail 1007 close reason is not valid UTF-8")]
    [InlineData(0x88, new byte[] { }, "close 0 ")]
    [InlineData(0x88, new byte[] { 0x0b, 0xb8 }, "close 3000 ")]
    public void Read_CloseFrames(byte first, byte[] payload, string expected) =>
        Assert.Equal([expected], Feed(new WsFrameReader(fromClient: false, 100), RawWs.Frame(first, payload, masked: false), 100));

    [Fact]
    public void Read_ByteByByte_NeedsAtMostTheLargestWindow()
    {
        var reader = new WsFrameReader(fromClient: true, 1000);
        var frame = RawWs.Frame(0x82, Bytes(1000), masked: true);
        var window = new byte[frame.Length];
        for (var n = 0; n < frame.Length; n++)
        {
            frame.AsSpan(0, n).CopyTo(window);
            var r = reader.Read(window.AsSpan(0, n));
            Assert.Equal(WsReadKind.NeedMore, r.Kind);
            Assert.Equal(0, r.Consumed);
            Assert.InRange(r.Needed, n + 1, reader.MaxWindow);
            frame.AsSpan(0, n).CopyTo(window); // the reader may unmask in place only once the frame is whole
        }

        frame.CopyTo(window);
        var done = reader.Read(window);
        Assert.Equal((WsReadKind.Message, frame.Length), (done.Kind, done.Consumed));
        Assert.Equal(Bytes(1000), window.AsSpan(done.Offset, done.Count).ToArray());
        Assert.True(reader.AtRest);
    }

    [Fact]
    public void WriteControlFrame_MaskedClose_ParsedBack()
    {
        var buffer = new byte[Rfc6455.MaxControlFrame];
        var n = Rfc6455.WriteControlFrame(buffer, WsOpcode.Close, 1001, "going"u8, masked: true, 0xdeadbeef);

        var found = Feed(new WsFrameReader(fromClient: true, 10), buffer[..n], 100);

        Assert.Equal(["close 1001 " + Convert.ToHexStringLower("going"u8)], found);
    }

    [Fact]
    public void EncodeCloseReason_LongReason_CutAtCharacterBoundaryWithin123Bytes()
    {
        var reason = new string('é', 100); // 200 bytes of UTF-8
        var buffer = new byte[123];

        var n = Rfc6455.EncodeCloseReason(reason, buffer);

        Assert.Equal(122, n);
        Assert.Equal(new string('é', 61), System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        Assert.Equal(1000, BinaryPrimitives.ReadUInt16BigEndian(RawWs.ClosePayload(1000)));
    }
}
