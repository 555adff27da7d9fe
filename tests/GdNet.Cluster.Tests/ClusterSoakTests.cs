using System.Diagnostics;
using System.Globalization;
using GdNet.Peers;
using Xunit.Abstractions;
using static GdNet.Cluster.Tests.ClusterKit;

namespace GdNet.Cluster.Tests;

/// <summary>
/// A soak over three <c>gdnet serve --cluster</c> nodes: rooms of six players, two on each node, every player
/// broadcasting sequenced reliable RPCs to its room at a steady rate (so most deliveries cross NATS), then every
/// player's every number checked: none lost, none reordered, no cluster drop. The CI form is short;
/// <c>GDNET_CLUSTER_SOAK_PLAYERS</c> (per node) and <c>GDNET_CLUSTER_SOAK_SECONDS</c> give the long one (50 and 60).
/// </summary>
[Trait("Category", "Interop")]
[Collection(ClusterCollection.Name)]
public sealed class ClusterSoakTests(ITestOutputHelper output)
{
    private const int PerSecond = 20;

    [Fact]
    public async Task Three_nodes_relay_sequenced_reliable_RPCs_across_the_cluster_without_loss_or_reordering()
    {
        var perNode = Setting("GDNET_CLUSTER_SOAK_PLAYERS", 6);
        var seconds = Setting("GDNET_CLUSTER_SOAK_SECONDS", 8);
        Assert.True(perNode % 2 == 0, "players per node: an even number (two per node in each room)");
        await using var cluster = await ClusterKit.StartAsync();
        // Every player comes from 127.0.0.1: the per-address connection limits would refuse most of them.
        string[] args = ["--max-connections-per-ip", "0", "--max-connections-per-second", "0"];
        var nodes = new[]
        {
            await cluster.StartNodeAsync("n1", 1, args),
            await cluster.StartNodeAsync("n2", 1, args),
            await cluster.StartNodeAsync("n3", 1, args),
        };
        var rooms = new List<Player[]>();
        for (var r = 0; r < perNode / 2; r++)
        {
            var room = $"soak{r}";
            rooms.Add([.. nodes.SelectMany(n => new[] { Player.Join(n.Url(room)), Player.Join(n.Url(room)) })]);
        }

        var all = rooms.SelectMany(r => r).ToArray();
        try
        {
            foreach (var room in rooms)
            {
                await Player.UntilAllSeeEachOtherAsync(room, Wait);
            }

            var sent = new long[all.Length];
            var clock = Stopwatch.StartNew();
            var length = TimeSpan.FromSeconds(seconds);
            while (clock.Elapsed < length)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * PerSecond);
                for (var i = 0; i < all.Length; i++)
                {
                    for (; sent[i] < due; sent[i]++)
                    {
                        Assert.Equal(Error.Ok, all[i].Probe.Rpc("seq", sent[i]));
                    }

                    all[i].Api.Poll();
                }

                await Task.Delay(2);
            }

            var index = all.Select((p, i) => (p.Id, i)).ToDictionary(x => x.Id, x => x.i);
            bool AllArrived() => rooms.All(room => room.All(p => room.All(o => o == p || p.Probe.From(o.Id) == sent[index[o.Id]])));
            await Player.PumpUntilAsync(all, AllArrived, Wait, () => "every number reached every room mate\n" + cluster.Describe());

            var expected = rooms.Sum(room => room.Sum(p => room.Where(o => o != p).Sum(o => sent[index[o.Id]])));
            Assert.Equal(expected, all.Sum(p => p.Probe.Received));
            Assert.Equal(0, all.Sum(p => p.Probe.Missing));
            Assert.Equal(0, all.Sum(p => p.Probe.Reordered));
            foreach (var n in nodes)
            {
                var status = await n.StatusAsync();
                Assert.True(status.GetProperty("cluster").GetProperty("dropped").EnumerateObject().All(d => d.Value.GetInt64() == 0),
                    $"{n.Name} dropped: {status.GetProperty("cluster").GetProperty("dropped")}");
            }

            var forwarded = 0L;
            var messages = 0L;
            foreach (var n in nodes)
            {
                forwarded += await n.ClusterAsync("packetsForwarded");
                messages += await n.ClusterAsync("messagesSent");
            }

            // One copy of each broadcast crosses the cluster: the paths are confirmed, so a broadcast stays one packet
            // (unconfirmed, each would be one unicast per peer, four of them across). Besides: each player's path
            // handshakes and the first broadcasts it sent one per peer while they were under way.
            Assert.True(forwarded < 2 * sent.Sum(), $"{forwarded:N0} packets crossed for {sent.Sum():N0} broadcasts");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{all.Length} players ({perNode} per node) in {rooms.Count} rooms, {seconds} s at {PerSecond} RPC/s each: {sent.Sum():N0} broadcasts, {expected:N0} deliveries, 0 lost, 0 reordered; {forwarded:N0} packets crossed the cluster in {messages:N0} NATS messages"));
        }
        finally
        {
            foreach (var p in all)
            {
                await p.DisposeAsync();
            }
        }
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
