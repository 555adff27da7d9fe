using GdNet.Cli.Commands;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// The short form of <c>gdnet soak</c> (the same code; the long form is 200 clients for 60 s): clients sending reliable
/// RPCs to the server and to each other through it, some killed mid-stream, a garbage-sending socket. The heap check is
/// left to the long form (<c>./test.sh --soak</c>, where no other test shares the process).
/// </summary>
[Collection(LoadCollection.Name)]
public class SoakTests
{
    private static readonly Lazy<Task<SoakOutcome>> ShortRun = new(() => SoakRun.RunAsync(new SoakOptions { Clients = 30, Seconds = 3, Rate = 100, Kill = 3, Garbage = true, HeapTolerance = null }));

    [Fact]
    public async Task SoakRun_ShortForm_Passes()
    {
        var outcome = await ShortRun.Value;

        Assert.True(outcome.Passed, string.Join("; ", outcome.Problems));
    }

    [Fact]
    public async Task SoakRun_ShortForm_NothingLostOrReorderedBetweenLivePeers()
    {
        var outcome = await ShortRun.Value;

        Assert.True(outcome.SentToServer > 0, "no RPC was sent"); // traffic happened; how much depends on the machine
        Assert.Equal(outcome.SentToServer, outcome.ReceivedByServer);
        Assert.Equal(outcome.SentToNeighbours, outcome.ReceivedByNeighbours);
        Assert.Equal(0, outcome.Lost);
        Assert.Equal(0, outcome.Reordered);
    }

    [Fact]
    public async Task SoakRun_ShortForm_KilledClientsSeenDisconnectedEverywhere()
    {
        var outcome = await ShortRun.Value;

        Assert.Equal(3, outcome.KillsSeenEverywhere);
    }

    [Fact]
    public async Task SoakRun_ShortForm_GarbageSocketClosedWithProtocolError()
    {
        var outcome = await ShortRun.Value;

        Assert.StartsWith("closed 1002", outcome.GarbageClose, StringComparison.Ordinal);
    }

    /// <summary>The long form, `gdnet soak`'s defaults (200 clients × 60 s) with its heap check: <c>./test.sh --soak</c>.</summary>
    [Fact]
    [Trait("Category", "Soak")]
    public async Task SoakRun_LongForm_PassesWithFlatHeap()
    {
        var outcome = await SoakRun.RunAsync(new SoakOptions());

        Assert.True(outcome.Passed, string.Join("; ", outcome.Problems));
        Assert.Equal(0, outcome.Lost);
        Assert.Equal(0, outcome.Reordered);
    }

    [Fact]
    public void SoakOptions_KillAllClients_Invalid()
    {
        Assert.NotNull(new SoakOptions { Clients = 4, Kill = 4 }.Validate());
    }
}
