using System.Globalization;
using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary><c>samples/EnetBot</c> (the README's quick start over ENet) as real processes against a real <c>gdnet serve</c>.</summary>
public sealed class EnetBotSampleTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Two_bots_greet_each_other_with_an_RPC_through_serve_over_enet_and_leave_cleanly_on_ctrl_c()
    {
        await using var serve = GdnetCliProcess.Start("serve", "--transport", "enet", "--port", "0");
        var port = new Uri((await serve.WaitForLineAsync("listening on enet://", Wait))["listening on ".Length..]).Port.ToString(CultureInfo.InvariantCulture);
        await using var alice = SampleProcess.Start("EnetBot", "127.0.0.1", port, "alice");
        var aliceId = IdIn(await alice.WaitForLineAsync("alice: connected as peer ", Wait));
        await using var bob = SampleProcess.Start("EnetBot", "127.0.0.1", port, "bob");
        var bobId = IdIn(await bob.WaitForLineAsync("bob: connected as peer ", Wait));

        Assert.Equal($"bob (peer {bobId}) says hello", await alice.WaitForLineAsync("bob ", Wait));
        Assert.Equal($"alice (peer {aliceId}) says hello", await bob.WaitForLineAsync("alice ", Wait));
        await serve.WaitForLineAsync($"peer {bobId} connected (room default, enet ", Wait);

        Assert.Equal(0, await alice.StopAsync("INT", Wait));
        Assert.Equal(0, await bob.StopAsync("INT", Wait));
        Assert.True(await serve.WaitForLinesContainingAsync(" disconnected", 2, Wait), serve.Describe());
    }

    private static int IdIn(string connectedLine) =>
        int.Parse(connectedLine[(connectedLine.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
}
