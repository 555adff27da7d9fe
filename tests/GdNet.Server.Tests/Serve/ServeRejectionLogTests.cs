using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// Floods of bad input against <c>gdnet serve</c> at log level information (issue 13 §5.3): every bad message is counted
/// exactly, while the log carries a bounded number of lines a second — RPCs to a path the hosted lobby does not have,
/// garbage datagrams at the ENet port, and garbage WebSocket messages.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeRejectionLogTests
{
    private const int Calls = 3000;
    private const int Datagrams = 1000;
    private const int Garbage = 500;

    [Fact]
    public async Task Floods_of_bad_messages_are_all_counted_and_logged_at_a_bounded_rate()
    {
        var (serve, port) = await StartAsync(2, "--lobby", "conversation-v1", "--transport", "ws,enet", "--log-level", "information", "--admin-port", "0",
            "--max-packets-per-second", "0", "--max-bytes-per-second", "0");
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };
        var clock = Stopwatch.StartNew();

        // 1. REMOTE_CALLs to a node the lobby does not have (full path: target 0x80000000 | offset of the path).
        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/flood"), CancellationToken.None);
            var id = await ReadOwnIdAsync(ws);
            var call = RemoteCallToUnknownPath(id);
            for (var i = 0; i < Calls; i++)
            {
                await ws.SendAsync(call, WebSocketMessageType.Binary, true, CancellationToken.None);
            }

            Assert.True(await WaitForCountAsync(http, s => s.GetProperty("hosted").GetProperty("rejections"), "NodeNotFound", Calls), serve.Describe());
        }

        // 2. Datagrams at the ENet port that are not ENet (an unknown command for no peer), paced so the kernel keeps them all.
        using (var udp = new UdpClient(AddressFamily.InterNetwork))
        {
            var datagram = new byte[40];
            datagram[0] = 0x0F; // peer id 0xFFF (no peer), no flags
            datagram[1] = 0xFF;
            datagram[2] = 0x0E; // command 14: ENet has none
            var target = new IPEndPoint(IPAddress.Loopback, port);
            for (var i = 0; i < Datagrams; i++)
            {
                await udp.SendAsync(datagram, target);
                if (i % 50 == 49)
                {
                    await Task.Delay(10);
                }
            }

            Assert.True(await WaitForCountAsync(http, s => s.GetProperty("rejections"), "Malformed", Datagrams), serve.Describe());
        }

        // 3. WebSocket messages of an unknown type: counted until the connection is closed for too many (1008).
        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/flood"), CancellationToken.None);
            await ReadOwnIdAsync(ws);
            var junk = new byte[20];
            junk[0] = 7;
            try
            {
                for (var i = 0; i < Garbage; i++)
                {
                    await ws.SendAsync(junk, WebSocketMessageType.Binary, true, CancellationToken.None);
                }
            }
            catch (WebSocketException)
            {
                // closed by the server for too many invalid messages
            }

            // Closed with 1008 after MaxViolations (16); the messages already in flight are counted too, so at least that many.
            var buffer = new byte[64];
            using var cts = new CancellationTokenSource(Wait);
            while (ws.State == WebSocketState.Open && (await ws.ReceiveAsync(buffer, cts.Token)).MessageType != WebSocketMessageType.Close)
            {
            }

            Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);
            Assert.True(await WaitForCountAsync(http, s => s.GetProperty("rejections"), "Malformed", Datagrams + 16, exact: false), serve.Describe());
        }

        var seconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(0, await serve.TerminateAsync(Wait));

        // The status lines: at most 20 refusal/rejection lines a second (plus one "N more" line a second).
        var limit = (int)Math.Ceiling(seconds + 2) * 21;
        var terminal = serve.Lines.Count(l => l.StartsWith("rpc rejected", StringComparison.Ordinal) || l.StartsWith("rejected", StringComparison.Ordinal) || l.Contains("more refusals/rejections", StringComparison.Ordinal));
        Assert.True(terminal <= limit, $"{terminal} rejection lines on stdout in {seconds:0.0} s (at most {limit})\n" + serve.Describe());
        Assert.Contains(serve.Lines, l => l.Contains("more refusals/rejections in the last second", StringComparison.Ordinal));

        // The log: at most 10 rejection entries a second (plus one "N more" entry a second), whatever the flood.
        var logLimit = (int)Math.Ceiling(seconds + 2) * 11;
        var logged = serve.Stderr.Split('\n').Count(l => l.Contains("rejected: ", StringComparison.Ordinal) || l.Contains("rejections in the last second", StringComparison.Ordinal));
        Assert.True(logged <= logLimit, $"{logged} rejection entries on stderr in {seconds:0.0} s (at most {logLimit})\n" + serve.Describe());
    }

    private static byte[] RemoteCallToUnknownPath(int from)
    {
        var payload = new byte[5 + "ping\0".Length + 1 + "No/Such/Node\0".Length];
        payload[0] = 0; // REMOTE_CALL
        var pathOffset = 5 + "ping\0".Length + 1;
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(1), 0x80000000u | (uint)pathOffset);
        Encoding.ASCII.GetBytes("ping\0").CopyTo(payload, 5);
        payload[5 + "ping\0".Length] = 0; // no arguments
        Encoding.ASCII.GetBytes("No/Such/Node\0").CopyTo(payload, pathOffset);
        var message = new byte[9 + payload.Length];
        message[0] = 0; // DATA
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(1), from);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(5), 1);
        payload.CopyTo(message, 9);
        return message;
    }

    // The server's first message is SYS_ID (type 3) with the client's id.
    private static async Task<int> ReadOwnIdAsync(ClientWebSocket ws)
    {
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(Wait);
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, cts.Token);
            if (r.Count >= 13 && buffer[0] == 3)
            {
                return BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(9));
            }
        }
    }

    private static async Task<bool> WaitForCountAsync(HttpClient http, Func<JsonElement, JsonElement> select, string reason, long expected, bool exact = true)
    {
        long seen = -1;
        for (var deadline = DateTime.UtcNow + Wait; DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative)));
            seen = select(status.RootElement).TryGetProperty(reason, out var n) ? n.GetInt64() : 0;
            if (seen >= expected)
            {
                return seen == expected || !exact;
            }
        }

        return false;
    }
}
