using System.Text.Json;
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

    [Fact]
    public async Task BenchJson_Enet_OneObjectNothingLost()
    {
        await using var bench = GdnetCliProcess.Start("bench", "--transport", "enet", "--seconds", "0.5", "--clients", "2", "--json");

        Assert.True(await bench.WaitForExitAsync(Wait) == 0, bench.Describe());
        var lines = bench.Lines.Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count == 1, "stdout must be one JSON object:\n" + bench.Describe());
        using var doc = JsonDocument.Parse(lines[0]);
        var json = doc.RootElement;
        Assert.Equal("enet", json.GetProperty("transport").GetString());
        Assert.Equal("server", json.GetProperty("mode").GetString());
        Assert.Equal(json.GetProperty("sent").GetInt64(), json.GetProperty("delivered").GetInt64());
        Assert.Equal(0, json.GetProperty("outOfOrder").GetInt64());
        Assert.True(json.GetProperty("roundTripMs").GetProperty("samples").GetInt32() > 0);
        Assert.True(json.GetProperty("ok").GetBoolean());
    }
}
