using System.Text.Json;
using GdNet.TestSupport;

namespace GdNet.Cluster.Tests;

/// <summary><c>gdnet bench --relay --cluster</c>: a short real run against a real nats-server, and its option errors.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterBenchCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_short_two_node_bench_relays_across_the_cluster_with_nothing_lost_and_prints_the_ratio()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var bench = GdnetCliProcess.Start("bench", "--relay", "--cluster", nats.Url, "--nodes", "2", "--clients", "4", "--seconds", "0.5");
        Assert.True(await bench.WaitForExitAsync(Wait) == 0, bench.Describe());
        var lines = bench.Lines;
        Assert.Contains(lines, l => l.StartsWith("cross-node/same-node throughput ratio: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("added p50 / p99 round trip: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("cross-node: relayed ", StringComparison.Ordinal) && l.EndsWith(", lost 0, out of order 0", StringComparison.Ordinal));
        // The same-node phase never touches NATS; the cross-node phase does, batched.
        Assert.Contains(lines, l => l.StartsWith("same-node: throughput, node 0 link: sent 0 packets in 0 NATS messages", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("cross-node: throughput, node 0 link: sent ", StringComparison.Ordinal) && !l.Contains(" sent 0 packets", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_json_the_cluster_bench_prints_one_object_with_both_phases()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var bench = GdnetCliProcess.Start("bench", "--relay", "--cluster", nats.Url, "--nodes", "2", "--clients", "4", "--seconds", "0.5", "--json");
        Assert.True(await bench.WaitForExitAsync(Wait) == 0, bench.Describe());
        var lines = bench.Lines.Where(l => l.Length > 0).ToList();
        Assert.True(lines.Count == 1, "stdout must be one JSON object:\n" + bench.Describe());
        using var doc = JsonDocument.Parse(lines[0]);
        var json = doc.RootElement;
        Assert.Equal("cluster", json.GetProperty("mode").GetString());
        Assert.Equal(2, json.GetProperty("nodes").GetInt32());
        Assert.Equal(["same-node", "cross-node"], json.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        foreach (var phase in json.GetProperty("phases").EnumerateArray())
        {
            Assert.Equal(0, phase.GetProperty("lost").GetInt64());
            Assert.True(phase.GetProperty("delivered").GetInt64() > 0);
        }

        Assert.True(json.GetProperty("ratio").GetDouble() > 0);
        Assert.True(json.GetProperty("ok").GetBoolean());
    }

    [Theory]
    [InlineData("--cluster only applies with --relay", "bench", "--cluster", "nats://127.0.0.1:4222")]
    [InlineData("--nodes", "bench", "--relay", "--cluster", "nats://127.0.0.1:4222", "--nodes", "4")]
    public async Task Misused_cluster_options_are_refused_with_the_reason(string expected, params string[] args)
    {
        await using var gdnet = GdnetCliProcess.Start(args);
        Assert.NotEqual(0, await gdnet.WaitForExitAsync(Wait));
        Assert.Contains(expected, gdnet.Stderr, StringComparison.Ordinal);
    }
}
