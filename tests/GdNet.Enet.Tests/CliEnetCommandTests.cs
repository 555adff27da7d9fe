using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary><c>gdnet demo</c> and <c>gdnet bench</c> on the ENet transport, as real processes.</summary>
public sealed class CliEnetCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Demo_Enet_EveryBotPassesAndExitsZero()
    {
        await using var demo = GdnetCliProcess.Start("demo", "--transport", "enet", "--bots", "3");

        Assert.True(await demo.WaitForExitAsync(Wait) == 0, demo.Describe());
        Assert.Contains("demo passed", demo.Lines);
        Assert.Contains(demo.Lines, l => l.StartsWith("server listening on enet://127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bench_Enet_NothingLostAndExitsZero()
    {
        await using var bench = GdnetCliProcess.Start("bench", "--transport", "enet", "--seconds", "1", "--clients", "4");

        // The bench exits 1 when an RPC was lost or arrived out of order.
        Assert.True(await bench.WaitForExitAsync(Wait) == 0, bench.Describe());
        Assert.Contains(bench.Lines, l => l.Contains("lost / out of order", StringComparison.Ordinal) && l.Contains(" 0 / 0 ", StringComparison.Ordinal));
    }
}
