using System.Net.WebSockets;
using GdNet.Peers;
using GdNet.TestSupport;
using GdNet.WebSockets;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// A flooding client and one that never reads, against <c>gdnet serve</c> with tight limits, while a real Godot client
/// plays its conversation in the same room: the flood is rate-limited and then cut, the non-reader is cut, a connection
/// over the per-address limit is refused, and the Godot client is unaffected.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeFloodTests
{
    [Fact]
    public async Task Flooder_and_non_reader_are_cut_per_address_limit_holds_and_the_Godot_client_is_unaffected()
    {
        var (serve, port) = await StartAsync(1,
            "--lobby", "conversation-v1", "--max-packets-per-second", "200", "--max-connections-per-ip", "3", "--max-queued-bytes-total", "1048576", "--drain-seconds", "1");
        await using var _ = serve;
        var url = $"ws://127.0.0.1:{port}/arena";

        // A raw WebSocket that completes the handshake and then never reads: broadcasts pile up for it.
        using var nonReader = new ClientWebSocket();
        await nonReader.ConnectAsync(new Uri(url), CancellationToken.None);

        await using var flooder = new WebSocketClient();
        Assert.Equal(Error.Ok, flooder.ConnectToUrl(url));
        var flooderDone = false;
        var target = 0;
        flooder.ServerDisconnected += () => flooderDone = true;
        flooder.ConnectionFailed += () => flooderDone = true;
        flooder.PeerConnected += id => target = target == 0 && id != 1 ? id : target; // the non-reader, there before it
        var until = DateTime.UtcNow + Wait;
        while (target == 0 && DateTime.UtcNow < until)
        {
            flooder.Poll();
            await Task.Delay(5);
        }

        Assert.NotEqual(0, target);

        // A third connection holds the last slot for 127.0.0.1; a fourth is refused before the upgrade (HTTP 503).
        using (var third = new ClientWebSocket())
        {
            await third.ConnectAsync(new Uri(url), CancellationToken.None);
            Assert.True(await serve.WaitForLinesContainingAsync("connected (room arena,", 3, Wait), serve.Describe());
            using var fourth = new ClientWebSocket();
            using var fourthCts = new CancellationTokenSource(Wait);
            var refused = await Record.ExceptionAsync(() => fourth.ConnectAsync(new Uri(url), fourthCts.Token));
            Assert.True(refused is WebSocketException, "the fourth connection from one address was not refused\n" + serve.Describe());
            Assert.Contains("503", refused.Message, StringComparison.Ordinal);
            await third.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 1, Wait), serve.Describe()); // the slot is free again

        // The Godot client starts now and plays its conversation during the flood.
        await using var godot = Godot("ws-client", $"--url={url}");

        // Flood: 60 KiB packets at the non-reader as fast as the client can queue them, until the server cuts it (over
        // its rate for 5 s). The non-reader holds the send budget until the server cuts it too.
        var payload = new byte[60 * 1024];
        var sent = 0;
        var deadline = DateTime.UtcNow + Wait;
        while (!flooderDone && DateTime.UtcNow < deadline)
        {
            flooder.Poll();
            while (flooder.TryGetPacket(out var _))
            {
                // a client reads what it receives: its disconnect event comes after the packets queued before it
            }

            if (flooder.GetConnectionStatus() == ConnectionStatus.Connected)
            {
                flooder.SetTargetPeer(target);
                if (flooder.PutPacket(payload) == Error.Ok)
                {
                    sent++;
                    if (sent % 64 != 0)
                    {
                        continue;
                    }
                }
            }

            await Task.Delay(1); // every 64 packets, and whenever the client's own queue is full
        }

        Assert.True(flooderDone, $"the flooder was never disconnected (status {flooder.GetConnectionStatus()}, {sent} sent)\n" + serve.Describe());
        var exit = await godot.WaitForExitAsync(Wait);
        Assert.True(exit == 0 && godot.DoneLine == "DONE ok", Describe(serve, godot));
        Assert.True(await serve.WaitForLinesContainingAsync("RateLimited=", 1, Wait), serve.Describe());
        Assert.Contains(serve.Lines, l => l.StartsWith("refused ws ", StringComparison.Ordinal) && l.Contains("TooManyFromAddress", StringComparison.Ordinal));
        Assert.Contains(serve.Lines, l => l.Contains("reads too slowly", StringComparison.Ordinal));
        Assert.Contains(serve.Lines, l => l.Contains("over the packet rate limit", StringComparison.Ordinal) || l.Contains("over the byte rate limit", StringComparison.Ordinal));
        Assert.Equal(0, await serve.TerminateAsync(Wait));
    }
}
