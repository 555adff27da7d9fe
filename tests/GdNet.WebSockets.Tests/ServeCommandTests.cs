using GdNet.Peers;
using GdNet.TestSupport;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary><c>gdnet serve</c> as a real process: the listening line, plain status lines, clean stop on SIGTERM.</summary>
public class ServeCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Serve_Started_PrintsListeningLineAndRelaysBetweenClients()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--port", "0", "--stats-interval", "0.5");
        var url = (await serve.WaitForLineAsync("listening on ", Wait))["listening on ".Length..];
        Assert.StartsWith("ws://127.0.0.1:", url, StringComparison.Ordinal);

        await using var a = new WebSocketClient();
        await using var b = new WebSocketClient();
        var ap = new Probe(a);
        var bp = new Probe(b);
        a.ConnectToUrl(url);
        b.ConnectToUrl(url);
        await PumpUntilAsync(() => ap.Has("succeeded") && bp.Has("succeeded") && ap.Has($"connected {b.GetUniqueId()}"), Wait, ap, bp);
        Send(a, b.GetUniqueId(), 1, 2, 3);

        // A pure relay (no --lobby): the packet b gets is the one from a.
        await PumpUntilAsync(() => bp.Packets.Any(p => p.From == a.GetUniqueId()), Wait, ap, bp);
        Assert.Equal([1, 2, 3], bp.Packets.Single(p => p.From == a.GetUniqueId()).Data);
        await serve.WaitForLineAsync($"peer {a.GetUniqueId()} connected", Wait);
        await serve.WaitForLineAsync("stats peers=2 ", Wait);
    }

    [Fact]
    public async Task Serve_Idle_PrintsAStatusLineOnlyWhenItChanges()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--port", "0", "--stats-interval", "0.05");
        var url = (await serve.WaitForLineAsync("listening on ", Wait))["listening on ".Length..];
        await serve.WaitForLineAsync("stats peers=0 ", Wait);

        await using (var a = new WebSocketClient())
        {
            var ap = new Probe(a);
            a.ConnectToUrl(url);
            await PumpUntilAsync(() => ap.Has("succeeded"), Wait, ap);
            await serve.WaitForLineAsync("stats peers=1 ", Wait);
        }

        Assert.True(await serve.WaitForLinesContainingAsync("stats peers=0 ", 2, Wait), serve.Describe());

        // Idle for 1.5 s, 30 intervals: no line repeats the last one (every 5 s forever was the old behaviour).
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var stats = serve.Lines.Where(l => l.StartsWith("stats ", StringComparison.Ordinal)).ToList();
        Assert.True(stats.Count <= 6, string.Join("\n", stats));
        Assert.All(stats.Zip(stats.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
        Assert.StartsWith("stats peers=0 ", stats[^1], StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task Serve_GodotClientsPlayConversation_EveryGodotClientDoneOk()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--port", "0", "--lobby", "conversation-v1");
        var url = (await serve.WaitForLineAsync("listening on ", Wait))["listening on ".Length..];
        var port = new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var godots = Enumerable.Range(0, 2).Select(_ => GdNet.TestSupport.GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(40), $"--port={port}", "--timeout=25")).ToList();
        try
        {
            foreach (var g in godots)
            {
                var exit = await g.WaitForExitAsync(Wait);
                Assert.True(exit == 0 && g.DoneLine == "DONE ok", g.Describe() + "\n" + serve.Describe());
            }

            var deadline = DateTime.UtcNow + Wait;
            while (serve.Lines.Count(l => l.Contains("finished conversation v1: ok", StringComparison.Ordinal)) < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Equal(2, serve.Lines.Count(l => l.Contains("finished conversation v1: ok", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }
        }
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task Serve_EnetTransport_GodotEnetClientDoneOk()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0", "--lobby", "conversation-v1");
        var url = (await serve.WaitForLineAsync("listening on enet://", Wait))["listening on ".Length..];
        var port = new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var godot = GdNet.TestSupport.GodotPeerProcess.Start("enet-client", TimeSpan.FromSeconds(40), $"--port={port}", "--timeout=25");

        var exit = await godot.WaitForExitAsync(Wait);

        Assert.True(exit == 0 && godot.DoneLine == "DONE ok", godot.Describe() + "\n" + serve.Describe());
    }

    [Fact]
    public async Task Serve_Sigterm_StopsCleanlyAndClientsSeeServerDisconnected()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--port", "0");
        var url = (await serve.WaitForLineAsync("listening on ", Wait))["listening on ".Length..];
        await using var a = new WebSocketClient();
        var ap = new Probe(a);
        a.ConnectToUrl(url);
        await PumpUntilAsync(() => ap.Has("succeeded"), Wait, ap);

        var exit = await serve.TerminateAsync(Wait);

        Assert.Equal(0, exit);
        Assert.Contains("stopped", serve.Lines);
        await PumpUntilAsync(() => ap.Has("server_disconnected"), Wait, ap);
        Assert.Equal(1001, a.CloseCode);
    }

    [Fact]
    public void Serve_PortOutOfRange_ExitCode2WithReason()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = GdNet.Cli.Program.Run(["serve", "--port", "70000"], output, error);

        Assert.Equal(2, exit);
        Assert.Contains("--port", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_UnknownTransport_ExitCode2()
    {
        var exit = GdNet.Cli.Program.Run(["serve", "--transport", "carrier-pigeon"], new StringWriter(), new StringWriter());

        Assert.Equal(2, exit);
    }

    [Fact]
    public async Task Serve_PortInUse_ExitCode1WithReason()
    {
        await using var busy = StartServer();
        var error = new StringWriter();

        var exit = GdNet.Cli.Program.Run(["serve", "--port", busy.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], new StringWriter(), error);

        Assert.Equal(1, exit);
        Assert.Contains("already in use", error.ToString(), StringComparison.Ordinal);
    }
}
