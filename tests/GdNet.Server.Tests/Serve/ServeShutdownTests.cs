using System.Net.Sockets;
using System.Text;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// SIGTERM with a client that completed the WebSocket handshake and then never reads nor answers the close (issue 13
/// §5.6): the server still drains, prints its "stopped" line and exits 0, without waiting for the client.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeShutdownTests
{
    [Fact]
    public async Task SIGTERM_with_a_client_that_ignores_the_close_still_stops_and_exits_0()
    {
        var (serve, port) = await StartAsync(1, "--drain-seconds", "1", "--log-level", "information");
        await using var _ = serve;
        using var tcp = new TcpClient();
        tcp.ReceiveBufferSize = 4096;
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var request = $"GET /deaf HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var response = new byte[256];
        var n = await stream.ReadAsync(response);
        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(response, 0, n), StringComparison.Ordinal);
        Assert.True(await serve.WaitForLinesContainingAsync(" connected (room deaf,", 1, Wait), serve.Describe());

        // From here the client reads nothing and never sends its close; its socket stays open throughout.
        var exit = await serve.TerminateAsync(Wait);

        Assert.True(exit == 0, $"exit {exit}\n" + serve.Describe());
        Assert.Contains("stopped", serve.Lines);
        Assert.Contains(serve.Lines, l => l.StartsWith("draining: 1 peers", StringComparison.Ordinal));
        Assert.True(tcp.Connected);
    }
}
