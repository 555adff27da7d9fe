using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GdNet.Peers;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// RFC 6455 as GdNet speaks it, checked with hand-built frames over raw TCP: a raw client against a real
/// <see cref="WebSocketServer"/> (its listener), and a raw server against a real <see cref="WebSocketClient"/>.
/// </summary>
public class Rfc6455ConformanceTests
{
    private const byte Binary = 0x82;
    private const byte BinaryStart = 0x02;
    private const byte Continuation = 0x00;
    private const byte ContinuationEnd = 0x80;
    private const byte Text = 0x81;
    private const byte Close = 0x88;
    private const byte Ping = 0x89;

    /// <summary>A raw client joined to a server: it read SYS_ID and SYS_ADD(1), and the server saw it join.</summary>
    private static async Task<(RawWs Ws, int Id)> JoinAsync(WebSocketServer server, Probe sp)
    {
        var ws = await RawWs.ConnectAsync(server.LocalPort);
        var sysId = await ws.ReadFrameAsync();
        Assert.Equal((Binary, false), (sysId.First, sysId.Masked));
        var id = BinaryPrimitives.ReadInt32LittleEndian(sysId.Payload.AsSpan(9));
        Assert.Equal(1, (await ws.ReadFrameAsync()).Payload[0]);
        await PumpUntilAsync(() => sp.Has($"connected {id}"), sp);
        return (ws, id);
    }

    private static byte[] Data(int from, int to, params byte[] payload) => RawPeer.Message(0, from, to, payload);

    /// <summary>Sends a bad frame; expects a close with <paramref name="code"/> (its reason containing <paramref name="reason"/>), the TCP connection ended, a rejection counted.</summary>
    private static async Task AssertFailsAsync(byte[] frame, int code, string reason, PacketRejectReason rejection = PacketRejectReason.Malformed)
    {
        await using var server = StartServer(s => s.CloseTimeout = TimeSpan.FromMilliseconds(300));
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;

        await ws.WriteAsync(frame);

        var close = await ws.ReadCloseAsync();
        Assert.Equal(code, close.CloseCode);
        Assert.Contains(reason, close.CloseReason, StringComparison.Ordinal);
        Assert.False(close.Masked);
        await ws.WaitEndAsync();
        await PumpUntilAsync(() => sp.Has($"disconnected {id}"), sp);
        Assert.Equal(1, server.Statistics.GetRejections(rejection));
    }

    // ------------------------------------------------------------------ masking

    [Fact]
    public Task ClientFrame_Unmasked_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(Binary, Data(2, 1, 1), masked: false), 1002, "unmasked frame from a client");

    [Fact]
    public async Task ClientFrames_AreMasked()
    {
        // (Server frames are checked unmasked in JoinAsync.)
        var (client, _, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        Net.Send(client, 1, 0x2a);
        var frame = await end.ReadFrameAsync();

        Assert.Equal((Binary, true), (frame.First, frame.Masked));
        Assert.Equal(Data(7, 1, 0x2a), frame.Payload);
    }

    // ------------------------------------------------------------------ close handshake

    [Fact]
    public async Task Close_Normal_EchoedThenTcpClosed()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;

        await ws.SendAsync(Close, RawWs.ClosePayload(1000, "bye"));

        var close = await ws.ReadCloseAsync();
        Assert.Equal(1000, close.CloseCode);
        await ws.WaitEndAsync();
        await PumpUntilAsync(() => sp.Has($"disconnected {id}"), sp);
        Assert.Equal(0, server.Statistics.GetRejections(PacketRejectReason.Malformed));
    }

    [Fact]
    public async Task Close_ApplicationCode_Echoed()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (ws, _) = await JoinAsync(server, sp);
        await using var __ = ws;

        await ws.SendAsync(Close, RawWs.ClosePayload(4321));

        Assert.Equal(4321, (await ws.ReadCloseAsync()).CloseCode);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(2000)]
    [InlineData(5000)]
    public Task Close_InvalidCode_Closed1002(int code) =>
        AssertFailsAsync(RawWs.Frame(Close, RawWs.ClosePayload(code), masked: true), 1002, $"invalid close code {code}");

    [Fact]
    public Task Close_OneBytePayload_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(Close, [3], masked: true), 1002, "1-byte payload");

    [Fact]
    public Task Close_ReasonNotUtf8_Closed1007() =>
        AssertFailsAsync(RawWs.Frame(Close, [0x03, 0xe8, 0xff, 0xfe], masked: true), 1007, "UTF-8");

    // ------------------------------------------------------------------ fragmentation and control frames

    [Fact]
    public async Task Fragmented_BinaryMessage_Reassembled()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;
        var message = Data(id, 1, [.. Enumerable.Range(0, 300).Select(i => (byte)i)]);

        await ws.SendAsync(BinaryStart, message[..5]);
        await ws.SendAsync(Continuation, message[5..200]);
        await ws.SendAsync(Continuation, []);
        await ws.SendAsync(ContinuationEnd, message[200..]);

        await PumpUntilAsync(() => sp.Packets.Count == 1, sp);
        Assert.Equal(message[9..], sp.Packets[0].Data);
        Assert.Equal(id, sp.Packets[0].From);
    }

    [Fact]
    public async Task Ping_InsideFragmentedMessage_AnsweredAndMessageIntact()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;
        var message = Data(id, 1, 1, 2, 3, 4, 5, 6);

        await ws.SendAsync(BinaryStart, message[..7]);
        await ws.SendAsync(Ping, "are you there"u8.ToArray());
        var pong = await ws.ReadFrameAsync();
        await ws.SendAsync(ContinuationEnd, message[7..]);

        Assert.Equal((0x8A, false), (pong.First, pong.Masked));
        Assert.Equal("are you there"u8.ToArray(), pong.Payload);
        await PumpUntilAsync(() => sp.Packets.Count == 1, sp);
        Assert.Equal(message[9..], sp.Packets[0].Data);
    }

    [Fact]
    public Task ControlFrame_Over125Bytes_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(Ping, new byte[126], masked: true), 1002, "control frame longer than 125 bytes");

    [Fact]
    public Task ControlFrame_Fragmented_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(0x09, [1, 2], masked: true), 1002, "fragmented control frame");

    [Fact]
    public Task Continuation_WithoutMessage_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(ContinuationEnd, [1, 2], masked: true), 1002, "no message to continue");

    [Fact]
    public async Task NewMessage_InsideFragmentedOne_Closed1002()
    {
        byte[] frames = [.. RawWs.Frame(BinaryStart, [0], masked: true), .. RawWs.Frame(Binary, [0], masked: true)];
        await AssertFailsAsync(frames, 1002, "before the fragmented one ended");
    }

    // ------------------------------------------------------------------ header rules

    [Theory]
    [InlineData(0xC2, "reserved bits")] // RSV1
    [InlineData(0xA2, "reserved bits")] // RSV2
    [InlineData(0x92, "reserved bits")] // RSV3
    [InlineData(0x83, "unknown opcode 0x3")]
    [InlineData(0x87, "unknown opcode 0x7")]
    [InlineData(0x8B, "unknown opcode 0xB")]
    public Task Header_ReservedBitsOrUnknownOpcode_Closed1002(byte first, string reason) =>
        AssertFailsAsync(RawWs.Frame(first, [1, 2, 3], masked: true), 1002, reason);

    [Fact]
    public Task Header_LengthNotMinimal_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(Binary, new byte[100], masked: true, lengthForm: 126), 1002, "minimal form");

    [Fact]
    public Task Header_64BitLengthWithTopBit_Closed1002() =>
        AssertFailsAsync(RawWs.Frame(Binary, [], masked: true, lengthForm: 127, declaredLength: long.MinValue | 70000), 1002, "most significant bit");

    // ------------------------------------------------------------------ sizes

    [Fact]
    public async Task Message_DeclaringHugeLength_Closed1009AtOnce()
    {
        // Only the header: the server refuses it from the declared length, without waiting for any payload.
        await AssertFailsAsync(RawWs.Frame(Binary, [], masked: true, declaredLength: long.MaxValue), 1009, "larger than 65536 bytes", PacketRejectReason.TooLarge);
    }

    [Fact]
    public async Task Message_FragmentsTogetherOverLimit_Closed1009()
    {
        await using var server = StartServer(s => s.MaxPacketSize = 1000);
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;

        await ws.SendAsync(BinaryStart, new byte[600]);
        await ws.SendAsync(ContinuationEnd, new byte[410]);

        var close = await ws.ReadCloseAsync();
        Assert.Equal(1009, close.CloseCode);
        Assert.Contains("larger than 1009 bytes", close.CloseReason, StringComparison.Ordinal);

        // The framing is intact: the server reads on to the answer to its close and then hangs up.
        await ws.SendAsync(Close, RawWs.ClosePayload(1009));
        await ws.WaitEndAsync();
        await PumpUntilAsync(() => sp.Has($"disconnected {id}"), sp);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.TooLarge));
        Assert.Empty(sp.Packets);
    }

    [Fact]
    public async Task TextFrame_RefusedAsUnsupportedFrame_ConnectionStays()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;

        await ws.SendAsync(Text, "hello"u8.ToArray());
        await ws.SendAsync(Binary, Data(id, 1, 9));

        await PumpUntilAsync(() => sp.Packets.Count == 1, sp);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.UnsupportedFrame));
        Assert.True(server.HasPeer(id));
    }

    [Fact]
    public async Task Frame_CutMidwayThenIdle_ClosedAfterTimeoutWithReason()
    {
        await using var server = StartServer(s =>
        {
            s.IncompleteMessageTimeout = TimeSpan.FromMilliseconds(300);
            s.CloseTimeout = TimeSpan.FromMilliseconds(300);
        });
        var sp = new Probe(server);
        var (ws, id) = await JoinAsync(server, sp);
        await using var _ = ws;

        // A frame declaring 60000 bytes, then 100 of them, then nothing.
        var frame = RawWs.Frame(Binary, new byte[60000], masked: true);
        await ws.WriteAsync(frame[..(8 + 100)]);

        var close = await ws.ReadCloseAsync();
        Assert.Equal(1008, close.CloseCode);
        Assert.Contains("incomplete", close.CloseReason, StringComparison.Ordinal);
        await ws.WaitEndAsync();
        await PumpUntilAsync(() => sp.Has($"disconnected {id}"), sp);
        var rejection = Assert.Single(sp.Rejections, r => r.Reason == PacketRejectReason.Malformed);
        Assert.Contains("incomplete after 0.3 s", rejection.Detail, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ opening handshake

    [Fact]
    public async Task Handshake_RfcSampleKey_AcceptValueOfTheRfc()
    {
        await using var server = StartServer();

        var answer = await RawHttp.UpgradeAsync(server.LocalPort, "/");

        Assert.Equal(101, answer.Status);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", answer.Head, StringComparison.Ordinal);
        Assert.DoesNotContain("Sec-WebSocket-Protocol", answer.Head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", answer.Head, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("", 400, "Sec-WebSocket-Key")]
    [InlineData("Sec-WebSocket-Key: c2hvcnQ=", 400, "Sec-WebSocket-Key")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==|Sec-WebSocket-Version: 8", 426, "version")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", 426, "version")]
    public async Task Handshake_Invalid_RefusedWithStatus(string headers, int status, string why)
    {
        await using var server = StartServer();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.LocalPort);
        var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + string.Concat(headers.Split('|', StringSplitOptions.RemoveEmptyEntries).Select(h => h + "\r\n"))
            + (status == 400 ? "Sec-WebSocket-Version: 13\r\n" : string.Empty) + "\r\n";
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
        var text = await ReadAnswerAsync(tcp.GetStream());

        Assert.StartsWith($"HTTP/1.1 {status} ", text, StringComparison.Ordinal);
        Assert.Contains(why, text, StringComparison.Ordinal);
        if (status == 426)
        {
            Assert.Contains("Sec-WebSocket-Version: 13", text, StringComparison.Ordinal);
        }

        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.Refused));
    }

    private static async Task<string> ReadAnswerAsync(NetworkStream stream)
    {
        using var cts = new CancellationTokenSource(Net.Timeout);
        var data = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.ASCII.GetString(data.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } cl
                && data.Count >= end + 4 + int.Parse(cl["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
            {
                return text;
            }

            var n = await stream.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0, "the server closed before answering");
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    // ------------------------------------------------------------------ the client against a raw server

    private static async Task<(WebSocketClient Client, Probe Probe, RawWs Server, TcpListener Listener)> ClientAgainstRawServerAsync(Func<string, string>? answer = null, bool welcome = true)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new WebSocketClient();
        var probe = new Probe(client);
        Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/room?token=abc"));
        var end = await RawWs.AcceptAsync(listener, answer);
        if (welcome)
        {
            await end.SendAsync(Binary, RawPeer.Message(3, 1, 0, 7, 0, 0, 0));
            await end.SendAsync(Binary, RawPeer.Message(1, 1, 0, 1, 0, 0, 0));
            await PumpUntilAsync(() => probe.Has("succeeded"), probe);
        }

        return (client, probe, end, listener);
    }

    [Fact]
    public async Task Client_Request_IsAValidUpgradeRequest()
    {
        var (client, _, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        var lines = end.Head.Split("\r\n");
        Assert.Equal("GET /room?token=abc HTTP/1.1", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("Host: 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains("Upgrade: websocket", lines);
        Assert.Contains("Connection: Upgrade", lines);
        Assert.Contains("Sec-WebSocket-Version: 13", lines);
        var key = lines.Single(l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal))["Sec-WebSocket-Key: ".Length..];
        Assert.Equal(16, Convert.FromBase64String(key).Length);
        Assert.DoesNotContain(lines, l => l.StartsWith("Sec-WebSocket-Protocol", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Client_WrongAcceptValue_ConnectionFailedWithReason()
    {
        var (client, probe, end, listener) = await ClientAgainstRawServerAsync(
            _ => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            welcome: false);
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        await PumpUntilAsync(() => probe.Has("failed"), probe);
        Assert.Contains("Sec-WebSocket-Accept", client.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_HttpRefusal_ConnectionFailedWithStatus()
    {
        var (client, probe, end, listener) = await ClientAgainstRawServerAsync(
            _ => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", welcome: false);
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        await PumpUntilAsync(() => probe.Has("failed"), probe);
        Assert.Contains("HTTP 503", client.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_MaskedFrameFromServer_Closed1002()
    {
        var (client, probe, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        await end.SendAsync(Binary, RawPeer.Message(0, 1, 7, 1), masked: true);

        var close = await end.ReadCloseAsync();
        Assert.True(close.Masked);
        Assert.Equal(1002, close.CloseCode);
        Assert.Contains("masked frame from a server", close.CloseReason, StringComparison.Ordinal);
        await end.SendAsync(Close, RawWs.ClosePayload(1002));
        await PumpUntilAsync(() => probe.Has("server_disconnected"), probe);
        Assert.Equal(1, client.Statistics.GetRejections(PacketRejectReason.Malformed));
    }

    [Fact]
    public async Task Client_PingAndFragmentsFromServer_PongMaskedAndMessageIntact()
    {
        var (client, probe, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();
        var message = RawPeer.Message(0, 1, 7, 10, 20, 30, 40);

        await end.SendAsync(BinaryStart, message[..3]);
        await end.SendAsync(Ping, [1, 2, 3]);
        var pong = await end.ReadFrameAsync();
        await end.SendAsync(ContinuationEnd, message[3..]);

        Assert.Equal((0x8A, true), (pong.First, pong.Masked));
        Assert.Equal([1, 2, 3], pong.Payload);
        await PumpUntilAsync(() => probe.Packets.Count == 1, probe);
        Assert.Equal([10, 20, 30, 40], probe.Packets[0].Data);
    }

    [Fact]
    public async Task Client_ServerCloses_CloseEchoedAndReported()
    {
        var (client, probe, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        await end.SendAsync(Close, RawWs.ClosePayload(4000, "kicked\0"));

        var echo = await end.ReadCloseAsync();
        Assert.Equal((4000, true), (echo.CloseCode, echo.Masked));
        await end.DisposeAsync(); // the server closes the TCP connection first
        await PumpUntilAsync(() => probe.Has("server_disconnected"), probe);
        Assert.Equal((4000, "kicked"), (client.CloseCode, client.CloseReason));
    }

    [Fact]
    public async Task Client_DisconnectFromHost_SendsMaskedCloseWithCodeAndReason()
    {
        var (client, _, end, listener) = await ClientAgainstRawServerAsync();
        await using var _ = client;
        await using var __ = end;
        listener.Stop();

        client.DisconnectFromHost(4001, "bye now");

        var close = await end.ReadCloseAsync();
        Assert.Equal((4001, "bye now", true), (close.CloseCode, close.CloseReason, close.Masked));
    }
}
