using System.Globalization;
using System.Text.RegularExpressions;
using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary><c>gdnet serve --transport enet</c> as a real process: the listening line, and Godot 3.2.3 enet-clients
/// playing conversation v1 against it.</summary>
public sealed partial class ServeCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^listening on enet://127\.0\.0\.1:(\d+)$")]
    private static partial Regex ListeningLine();

    [Fact]
    public async Task Serve_EnetPortZero_PrintsListeningLineAndAcceptsClient()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0", "--stats-interval", "0.5");
        var line = await serve.WaitForLineAsync("listening on ", Wait);
        var match = ListeningLine().Match(line);
        Assert.True(match.Success, line);

        using var client = EnetTestKit.Client(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        EnetTestKit.PumpUntil(() => client.Has("succeeded"), client);
        await serve.WaitForLineAsync($"peer {client.Peer.GetUniqueId()} connected", Wait);
    }

    [Fact]
    public async Task Serve_EnetFixedPort_ListensOnThatPort()
    {
        var port = GodotPeerProcess.FreePort();
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1");

        Assert.Equal($"listening on enet://127.0.0.1:{port}", await serve.WaitForLineAsync("listening on ", Wait));
    }

    [Fact]
    public async Task Serve_EnetPortInUse_ExitsOneWithReason()
    {
        using var taken = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)taken.Client.LocalEndPoint!).Port;
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", port.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(1, await serve.WaitForExitAsync(Wait));
        Assert.Contains("already in use", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(serve.Lines, l => l.StartsWith("listening", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_EnetIpv6Bind_RefusedAsBadInputSayingIpv4Only()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0", "--bind", "::1");

        Assert.Equal(2, await serve.WaitForExitAsync(Wait)); // checked with the other options, before anything listens
        Assert.Contains("IPv4", serve.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", serve.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task Serve_EnetGodotClientsPlayConversation_EveryGodotClientDoneOk()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0", "--stats-interval", "0.5", "--lobby", "conversation-v1");
        var port = ListeningLine().Match(await serve.WaitForLineAsync("listening on ", Wait)).Groups[1].Value;
        var godots = Enumerable.Range(0, 2).Select(_ => GodotPeerProcess.Start("enet-client", TimeSpan.FromSeconds(40), $"--port={port}", "--timeout=25")).ToList();
        try
        {
            foreach (var g in godots)
            {
                var exit = await g.WaitForExitAsync(Wait);
                Assert.True(exit == 0 && g.DoneLine == "DONE ok", g.Describe() + "\n" + serve.Describe());
            }

            Assert.True(await serve.WaitForLinesContainingAsync("finished conversation v1: ok", 2, Wait), serve.Describe());
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }
        }
    }
}
