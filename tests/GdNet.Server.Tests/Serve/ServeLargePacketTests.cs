using System.Buffers.Binary;
using System.Net.WebSockets;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// <c>--max-packet-size</c> far above the default (issue 13 §5.7): the per-player queue and the slow-reader time follow
/// it, so a 20 MB packet reaches a healthy receiver instead of getting it kicked as a slow reader.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeLargePacketTests
{
    [Fact]
    public async Task A_20_MB_packet_reaches_a_reading_peer_when_the_packet_size_allows_it()
    {
        var (serve, port) = await StartAsync(1, "--max-packet-size", "30000000", "--max-bytes-per-second", "0", "--log-level", "information");
        await using var _ = serve;
        var url = new Uri($"ws://127.0.0.1:{port}/big");
        using var cts = new CancellationTokenSource(Wait);
        using var a = new ClientWebSocket();
        await a.ConnectAsync(url, cts.Token);
        var aId = BinaryPrimitives.ReadInt32LittleEndian((await ReceiveAsync(a, cts.Token)).AsSpan(9));
        using var b = new ClientWebSocket();
        await b.ConnectAsync(url, cts.Token);
        var bId = BinaryPrimitives.ReadInt32LittleEndian((await ReceiveAsync(b, cts.Token)).AsSpan(9));

        var message = new byte[9 + 20_000_000];
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(1), aId);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(5), bId);
        message[9] = 4; // RAW
        message[^1] = 0x5a;
        await a.SendAsync(message, WebSocketMessageType.Binary, true, cts.Token);

        byte[] got;
        do
        {
            got = await ReceiveAsync(b, cts.Token); // SYS_ADDs first
        }
        while (got.Length == 13 && got[0] != 0);

        Assert.Equal(message.Length, got.Length);
        Assert.Equal((0, aId, bId, 0x5a), (got[0], BinaryPrimitives.ReadInt32LittleEndian(got.AsSpan(1)), BinaryPrimitives.ReadInt32LittleEndian(got.AsSpan(5)), got[^1]));
        Assert.Equal(WebSocketState.Open, b.State);
        Assert.DoesNotContain("reads too slowly", serve.Stderr, StringComparison.Ordinal);
    }

    private static async Task<byte[]> ReceiveAsync(ClientWebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[32 << 20];
        var total = 0;
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer.AsMemory(total), ct);
            total += r.Count;
            if (r.EndOfMessage)
            {
                return buffer[..total];
            }
        }
    }
}
