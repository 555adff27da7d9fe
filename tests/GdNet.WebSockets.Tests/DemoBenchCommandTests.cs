using System.Text.Json;
using GdNet.Cli.Commands;
using GdNet.TestSupport;

namespace GdNet.WebSockets.Tests;

/// <summary><c>gdnet demo</c> and <c>gdnet bench</c> as real processes, in short forms.</summary>
public class DemoBenchCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("ws")]
    [InlineData("local")]
    public async Task Demo_Transport_EveryBotPassesAndExitCode0(string transport)
    {
        await using var demo = GdnetCliProcess.Start("demo", "--transport", transport);

        var exit = await demo.WaitForExitAsync(Wait);

        Assert.True(exit == 0, demo.Describe());
        Assert.Contains("demo passed", demo.Lines);
        Assert.Contains(demo.Lines, l => l.Contains("3 clients ok, 0 failed", StringComparison.Ordinal));
        Assert.Contains(demo.Lines, l => l.StartsWith("chat: every bot saw all 3 lines", StringComparison.Ordinal));
    }

    [Fact]
    public void Demo_TooManyBots_ExitCode2()
    {
        var error = new StringWriter();

        var exit = GdNet.Cli.Program.Run(["demo", "--bots", "500"], new StringWriter(), error);

        Assert.Equal(2, exit);
        Assert.Contains("--bots", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ws")]
    [InlineData("local")]
    public async Task Bench_ShortRun_PrintsThroughputAndLatencyWithNothingLost(string transport)
    {
        await using var bench = GdnetCliProcess.Start("bench", "--transport", transport, "--clients", "2", "--seconds", "0.5");

        var exit = await bench.WaitForExitAsync(Wait);

        Assert.True(exit == 0, bench.Describe());
        Assert.Contains(bench.Lines, l => l.Contains("RPC/s", StringComparison.Ordinal));
        Assert.Contains(bench.Lines, l => l.Contains("lost / out of order", StringComparison.Ordinal) && l.Contains("0 / 0", StringComparison.Ordinal));
        Assert.Contains(bench.Lines, l => l.Contains("round trip p50 / p99", StringComparison.Ordinal) && l.Contains(" ms ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--rooms", "1")]
    [InlineData("--rooms", "2", "--admin")]
    public async Task BenchRelay_ShortRun_RelaysWithNothingLost(params string[] extra)
    {
        await using var bench = GdnetCliProcess.Start(["bench", "--relay", "--clients", "4", "--seconds", "0.5", .. extra]);

        var exit = await bench.WaitForExitAsync(Wait);

        Assert.True(exit == 0, bench.Describe());
        Assert.Contains(bench.Lines, l => l.StartsWith("relayed ", StringComparison.Ordinal) && l.EndsWith("lost 0, out of order 0", StringComparison.Ordinal));
        if (extra.Contains("--admin"))
        {
            // The warm-up scrape happens before the measurement; the scraper ran beside it.
            Assert.Contains(bench.Lines, l => l.StartsWith("admin endpoint http://127.0.0.1:", StringComparison.Ordinal) && l.Contains("/metrics scraped", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void BenchAdmin_WithoutRouterRooms_ExitCode2SayingWhy()
    {
        var error = new StringWriter();
        var exit = GdNet.Cli.Program.Run(["bench", "--relay", "--admin"], new StringWriter(), error);

        Assert.Equal(2, exit);
        Assert.Contains("--admin needs --rooms 2 or more", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_ZeroSeconds_ExitCode2()
    {
        var exit = GdNet.Cli.Program.Run(["bench", "--seconds", "0"], new StringWriter(), new StringWriter());

        Assert.Equal(2, exit);
    }

    /// <summary>The one JSON object a <c>--json</c> run printed on stdout (nothing else there).</summary>
    internal static JsonElement OneJsonObject(GdnetCliProcess gdnet)
    {
        var lines = gdnet.Lines.Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count == 1, "stdout must be one JSON object:\n" + gdnet.Describe());
        using var doc = JsonDocument.Parse(lines[0]);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task DemoJson_Ws_OneObjectEveryBotOk()
    {
        await using var demo = GdnetCliProcess.Start("demo", "--transport", "ws", "--bots", "3", "--json");

        Assert.True(await demo.WaitForExitAsync(Wait) == 0, demo.Describe());
        var json = OneJsonObject(demo);
        Assert.Equal("ws", json.GetProperty("transport").GetString());
        Assert.Equal(3, json.GetProperty("bots").GetArrayLength());
        Assert.All(json.GetProperty("bots").EnumerateArray(), b => Assert.Equal("ok", b.GetProperty("result").GetString()));
        Assert.Equal(3, json.GetProperty("serverClientsOk").GetInt32());
        Assert.True(json.GetProperty("relayed").GetInt64() >= 6, demo.Describe()); // at least each of 3 chat lines to the 2 other bots
        Assert.True(json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task BenchJson_RelayRooms_OneObject()
    {
        await using var bench = GdnetCliProcess.Start("bench", "--relay", "--clients", "4", "--rooms", "2", "--seconds", "0.5", "--json");

        Assert.True(await bench.WaitForExitAsync(Wait) == 0, bench.Describe());
        var json = OneJsonObject(bench);
        Assert.Equal("relay", json.GetProperty("mode").GetString());
        Assert.Equal("ws", json.GetProperty("transport").GetString());
        Assert.Equal(2, json.GetProperty("rooms").GetInt32());
        Assert.Equal(json.GetProperty("sent").GetInt64(), json.GetProperty("delivered").GetInt64());
        Assert.True(json.GetProperty("rpcPerSecond").GetDouble() > 0);
    }

    [Fact]
    public async Task SoakJson_ShortRun_OneObjectThatPasses()
    {
        await using var soak = GdnetCliProcess.Start("soak", "--clients", "6", "--seconds", "2", "--rate", "20", "--kill", "1", "--json");

        var exit = await soak.WaitForExitAsync(Wait);

        var json = OneJsonObject(soak);
        Assert.True(exit == 0, soak.Describe());
        Assert.Equal("soak", json.GetProperty("command").GetString());
        Assert.Equal(6, json.GetProperty("clients").GetInt32());
        Assert.Equal(20, json.GetProperty("rate").GetInt32());
        Assert.Equal(1, json.GetProperty("killed").GetInt32());
        Assert.Equal(1, json.GetProperty("killsSeenEverywhere").GetInt32());
        Assert.Equal(0, json.GetProperty("lost").GetInt64());
        Assert.Equal(0, json.GetProperty("reordered").GetInt64());
        Assert.True(json.GetProperty("receivedByServer").GetInt64() > 0);
        // The soak's own heap check runs here (its own process, nothing else in it): measured after warm-up and at the
        // end, growth within SoakRun.DefaultHeapTolerance, else "problems" names it and ok is false.
        var (warm, end) = (json.GetProperty("heapWarmBytes").GetInt64(), json.GetProperty("heapEndBytes").GetInt64());
        Assert.True(warm > 0 && end > 0, "the heap was not measured");
        Assert.True(end - warm <= SoakRun.DefaultHeapTolerance, $"heap grew from {warm} to {end} bytes");
        Assert.Equal(0, json.GetProperty("problems").GetArrayLength());
        Assert.True(json.GetProperty("ok").GetBoolean());
    }
}
