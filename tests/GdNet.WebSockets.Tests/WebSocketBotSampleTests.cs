using System.Globalization;
using GdNet.TestSupport;

namespace GdNet.WebSockets.Tests;

/// <summary><c>samples/WebSocketBot</c> (the README's quick start) as real processes against a real <c>gdnet serve</c>.</summary>
public sealed class WebSocketBotSampleTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Two_bots_in_a_room_greet_each_other_with_an_RPC_and_leave_cleanly_on_ctrl_c()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--port", "0"); // a pure relay, as by default
        var url = (await serve.WaitForLineAsync("listening on ", Wait))["listening on ".Length..] + "/bots";
        await using var alice = SampleProcess.Start("WebSocketBot", url, "alice");
        var aliceId = IdIn(await alice.WaitForLineAsync("alice: connected as peer ", Wait));
        await using var bob = SampleProcess.Start("WebSocketBot", url, "bob");
        var bobId = IdIn(await bob.WaitForLineAsync("bob: connected as peer ", Wait));

        // Each greets the other when it sees it join (alice: bob's arrival; bob: alice, already there), through serve.
        Assert.Equal($"bob (peer {bobId}) says hello", await alice.WaitForLineAsync("bob ", Wait));
        Assert.Equal($"alice (peer {aliceId}) says hello", await bob.WaitForLineAsync("alice ", Wait));
        await serve.WaitForLineAsync($"peer {aliceId} connected (room bots, ws ", Wait);
        await serve.WaitForLineAsync($"peer {bobId} connected (room bots, ws ", Wait);

        // Ctrl+C ends the poll loop; disposing the client closes the connection; the process exits 0.
        Assert.Equal(0, await alice.StopAsync("INT", Wait));
        Assert.Equal(0, await bob.StopAsync("INT", Wait));
        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 2, Wait), serve.Describe());
        Assert.Single(alice.Lines, l => l.EndsWith(" says hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bot_without_a_server_reports_the_failed_connection_and_exits_1()
    {
        var port = GodotPeerProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        await using var bot = SampleProcess.Start("WebSocketBot", $"ws://127.0.0.1:{port}/nobody", "alone");

        Assert.Equal(1, await bot.WaitForExitAsync(Wait));
        Assert.DoesNotContain(bot.Lines, l => l.Contains("connected as", StringComparison.Ordinal));
    }

    internal static int IdIn(string connectedLine) =>
        int.Parse(connectedLine[(connectedLine.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
}
