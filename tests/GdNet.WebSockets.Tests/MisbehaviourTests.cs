using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using GdNet.Peers;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// Raw WebSocket and TCP clients that break the rules: each bad message is refused with a reason and counted, a repeat
/// offender is closed with a reason, and a well-behaved client connected at the same time notices nothing.
/// </summary>
public class MisbehaviourTests
{
    /// <summary>A raw ClientWebSocket that performed the handshake and read its SYS_ID.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        public ClientWebSocket Ws { get; } = new();

        public int Id { get; private set; }

        public static async Task<RawClient> ConnectAsync(WebSocketServer server, Probe serverProbe)
        {
            var raw = new RawClient();
            await raw.Ws.ConnectAsync(new Uri(server.Url!), CancellationToken.None);
            var buffer = new byte[64];
            var r = await raw.Ws.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal(13, r.Count);
            Assert.Equal(3, buffer[0]);
            raw.Id = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(9));
            await PumpUntilAsync(() => serverProbe.Has($"connected {raw.Id}"), serverProbe);
            return raw;
        }

        public Task SendAsync(byte[] message, WebSocketMessageType type = WebSocketMessageType.Binary) =>
            Ws.SendAsync(message, type, true, CancellationToken.None);

        public static byte[] Data(int type, int from, int to, params byte[] payload)
        {
            var m = new byte[9 + payload.Length];
            m[0] = (byte)type;
            BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(1), from);
            BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(5), to);
            payload.CopyTo(m, 9);
            return m;
        }

        /// <summary>Reads until the server closes; returns its close status and reason.</summary>
        public async Task<(WebSocketCloseStatus? Status, string? Reason)> ReadUntilClosedAsync()
        {
            var buffer = new byte[70000];
            using var cts = new CancellationTokenSource(Net.Timeout);
            while (true)
            {
                var r = await Ws.ReceiveAsync(buffer, cts.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    if (Ws.State == WebSocketState.CloseReceived)
                    {
                        await Ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, cts.Token);
                    }

                    return (Ws.CloseStatus, Ws.CloseStatusDescription);
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            Ws.Abort();
            Ws.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private static async Task AssertRejected(Func<RawClient, byte[]> message, PacketRejectReason reason, WebSocketMessageType type = WebSocketMessageType.Binary)
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (good, gp) = await ConnectAsync(server, sp);
        await using var _ = good;
        await using var raw = await RawClient.ConnectAsync(server, sp);

        await raw.SendAsync(message(raw), type);
        Send(good, 1, 1);

        await PumpUntilAsync(() => sp.Rejections.Any(r => r.Reason == reason) && sp.Packets.Count == 1, sp, gp);
        var rejection = sp.Rejections.First(r => r.Reason == reason);
        Assert.Equal(raw.Id, rejection.PeerId);
        Assert.Equal(1, server.Statistics.GetRejections(reason));
        Assert.Equal(good.GetUniqueId(), sp.Packets[0].From);
        Assert.True(server.HasPeer(raw.Id), "one bad message does not disconnect");
        await FlushAsync(server, [gp], sp, gp);
        Assert.Equal(["connected 1", "succeeded", $"connected {raw.Id}"], gp.Events);
        Assert.Empty(gp.Packets);
    }

    [Fact]
    public Task Receive_TextFrame_RejectedAsUnsupportedFrame() =>
        AssertRejected(c => Encoding.UTF8.GetBytes("hello"), PacketRejectReason.UnsupportedFrame, WebSocketMessageType.Text);

    [Fact]
    public Task Receive_ShortHeader_RejectedAsTooSmall() =>
        AssertRejected(c => [0, 1, 2, 3], PacketRejectReason.TooSmall);

    [Fact]
    public Task Receive_UnknownType_RejectedAsMalformed() =>
        AssertRejected(c => RawClient.Data(9, c.Id, 1, 1), PacketRejectReason.Malformed);

    [Fact]
    public Task Receive_SystemMessageFromClient_RejectedAsUnsupportedFrame() =>
        AssertRejected(c => RawClient.Data(1, c.Id, 0, 1, 0, 0, 0), PacketRejectReason.UnsupportedFrame);

    [Fact]
    public Task Receive_SpoofedFrom_RejectedAsSpoofedSource() =>
        AssertRejected(c => RawClient.Data(0, c.Id + 1, 1, 1), PacketRejectReason.SpoofedSource);

    [Fact]
    public Task Receive_UnknownTarget_RejectedAsUnknownTarget() =>
        AssertRejected(c => RawClient.Data(0, c.Id, 777, 1), PacketRejectReason.UnknownTarget);

    [Fact]
    public async Task Receive_TargetJustLeft_CountedButNotAViolation()
    {
        await using var server = StartServer(s => s.MaxViolations = 2);
        var sp = new Probe(server);
        var (gone, _) = await ConnectAsync(server, sp);
        await using var raw = await RawClient.ConnectAsync(server, sp);
        var goneId = gone.GetUniqueId();
        await gone.DisposeAsync();
        await PumpUntilAsync(() => sp.Has($"disconnected {goneId}"), sp);

        for (var i = 0; i < 5; i++)
        {
            await raw.SendAsync(RawClient.Data(0, raw.Id, goneId, 1));
        }

        await raw.SendAsync(RawClient.Data(0, raw.Id, 1, 9));
        await PumpUntilAsync(() => sp.Packets.Any(p => p.From == raw.Id), sp);
        Assert.Equal(5, server.Statistics.GetRejections(PacketRejectReason.UnknownTarget));
        Assert.True(server.HasPeer(raw.Id));
    }

    [Fact]
    public Task Receive_TargetIsSender_RejectedAsUnknownTarget() =>
        AssertRejected(c => RawClient.Data(0, c.Id, c.Id, 1), PacketRejectReason.UnknownTarget);

    [Fact]
    public async Task Receive_OversizedMessage_RejectedAsTooLargeAndClosedWith1009()
    {
        await using var server = StartServer(s => s.MaxPacketSize = 1000);
        var sp = new Probe(server);
        var (good, gp) = await ConnectAsync(server, sp);
        await using var _ = good;
        await using var raw = await RawClient.ConnectAsync(server, sp);

        await raw.SendAsync(RawClient.Data(0, raw.Id, 1, new byte[1001]));
        var (status, reason) = await raw.ReadUntilClosedAsync();

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
        Assert.Contains("larger than 1009 bytes", reason);
        await PumpUntilAsync(() => sp.Has($"disconnected {raw.Id}"), sp, gp);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.TooLarge));
        Send(good, 1, 5);
        await PumpUntilAsync(() => sp.Packets.Count == 1, sp, gp);
    }

    [Fact]
    public async Task Logger_Given_ConnectionsAndRejectionsLogged()
    {
        var log = new ListLogger();
        await using var server = StartServer(s => s.Logger = log);
        var sp = new Probe(server);
        await using var raw = await RawClient.ConnectAsync(server, sp);

        await raw.SendAsync(RawClient.Data(0, raw.Id + 1, 1, 1));

        await PumpUntilAsync(() => sp.Rejections.Count == 1, sp);
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug && e.Message.Contains($"peer {raw.Id} connected", StringComparison.Ordinal));
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug && e.Message.Contains("SpoofedSource", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Receive_MessageAtMaxPacketSize_Delivered()
    {
        await using var server = StartServer(s => s.MaxPacketSize = 1000);
        var sp = new Probe(server);
        await using var raw = await RawClient.ConnectAsync(server, sp);

        await raw.SendAsync(RawClient.Data(0, raw.Id, 1, new byte[1000]));

        await PumpUntilAsync(() => sp.Packets.Count == 1, sp);
        Assert.Equal(1000, sp.Packets[0].Data.Length);
    }

    [Fact]
    public async Task Receive_RepeatedViolations_ClosedWith1008AndReason()
    {
        await using var server = StartServer(s => s.MaxViolations = 3);
        var sp = new Probe(server);
        var (good, gp) = await ConnectAsync(server, sp);
        await using var _ = good;
        await using var raw = await RawClient.ConnectAsync(server, sp);

        for (var i = 0; i < 3; i++)
        {
            await raw.SendAsync(RawClient.Data(0, 424242, 1, 1));
        }

        var (status, reason) = await raw.ReadUntilClosedAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("SpoofedSource", reason);
        await PumpUntilAsync(() => sp.Has($"disconnected {raw.Id}") && gp.Has($"disconnected {raw.Id}"), sp, gp);
        Send(good, 1, 5);
        await PumpUntilAsync(() => sp.Packets.Count == 1, sp, gp);
        Assert.Equal(ConnectionStatus.Connected, good.GetConnectionStatus());
    }

    [Fact]
    public async Task Receive_GarbageAfterHandshake_ClosedWith1002AndOthersUnaffected()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (good, gp) = await ConnectAsync(server, sp);
        await using var _ = good;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.LocalPort);
        var stream = tcp.GetStream();
        var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        var total = 0;
        using var cts = new CancellationTokenSource(Net.Timeout);
        while (!Encoding.ASCII.GetString(buffer, 0, total).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            total += await stream.ReadAsync(buffer.AsMemory(total), cts.Token);
        }

        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(buffer, 0, total), StringComparison.Ordinal);
        await PumpUntilAsync(() => sp.Events.Count(e => e.StartsWith("connected ", StringComparison.Ordinal)) == 2, sp, gp);

        // A masked, empty frame with reserved bits set and an undefined opcode: a protocol error.
        await stream.WriteAsync(new byte[] { 0xF3, 0x80, 1, 2, 3, 4 });

        // The server answers with close 1002 (protocol error) and then hangs up.
        var rest = new List<byte>();
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                rest.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (IOException)
        {
            // a reset after the close frame is fine
        }

        // A close frame (0x88, unmasked, a short payload) with the code 1002 and the reason.
        Assert.Matches("^88[0-7][0-9a-f]03ea", Convert.ToHexStringLower(rest.ToArray()));
        Assert.Contains("reserved bits", Encoding.UTF8.GetString(rest.ToArray()), StringComparison.Ordinal);
        await PumpUntilAsync(() => sp.Events.Any(e => e.StartsWith("disconnected ", StringComparison.Ordinal)), sp, gp);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.Malformed));
        Send(good, 1, 5);
        await PumpUntilAsync(() => sp.Packets.Count == 1, sp, gp);
    }

    [Fact]
    public async Task Request_PlainHttp_Gets426()
    {
        await using var server = StartServer();
        using var http = new HttpClient();

        var response = await http.GetAsync(new Uri($"http://127.0.0.1:{server.LocalPort}/"));

        Assert.Equal(426, (int)response.StatusCode);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.Refused));
    }

    [Fact]
    public async Task Send_ClientNotReading_DisconnectedWhenQueueExceedsLimit()
    {
        await using var server = StartServer(s =>
        {
            s.MaxQueuedBytes = 256 * 1024;
            s.CloseTimeout = TimeSpan.FromMilliseconds(200);
        });
        var sp = new Probe(server);
        await using var raw = await RawClient.ConnectAsync(server, sp);
        server.SetTargetPeer(raw.Id);
        var chunk = new byte[60000];

        // The raw client never reads: the kernel buffers fill, then the server's queue, then the client is dropped.
        var deadline = DateTime.UtcNow + Net.Timeout;
        while (server.HasPeer(raw.Id) && DateTime.UtcNow < deadline)
        {
            server.PutPacket(chunk);
            sp.Pump();
        }

        await PumpUntilAsync(() => sp.Has($"disconnected {raw.Id}"), sp);
        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public async Task Abort_ClientKilledMidStream_OthersSeePeerDisconnectedAndServerCarriesOn()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (good, gp) = await ConnectAsync(server, sp);
        await using var _ = good;
        var raw = await RawClient.ConnectAsync(server, sp);
        await PumpUntilAsync(() => gp.Has($"connected {raw.Id}"), sp, gp);
        for (var i = 0; i < 100; i++)
        {
            await raw.SendAsync(RawClient.Data(0, raw.Id, 0, (byte)i));
        }

        await raw.DisposeAsync();

        await PumpUntilAsync(() => sp.Has($"disconnected {raw.Id}") && gp.Has($"disconnected {raw.Id}"), sp, gp);
        Send(good, 1, 5);
        await PumpUntilAsync(() => sp.Packets.Any(p => p.From == good.GetUniqueId()), sp, gp);
        Assert.Equal(gp.Packets.Count, sp.Packets.Count(p => p.From == raw.Id));
    }
}
