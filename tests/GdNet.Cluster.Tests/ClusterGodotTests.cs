using GdNet.TestSupport;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Cluster.Tests;

/// <summary>
/// <c>gdnet serve --cluster</c> nodes acting as one server for real Godot 3.2.3 clients: each client on its own node, the
/// relay exchange and conversation v1 (the lobby, peer 1, runs on one node; clients of the others reach it through NATS).
/// Each room's lobby waits for its players (<c>--lobby-min-players</c>) so every client is there for every broadcast.
/// </summary>
[Trait("Category", "Interop")]
[Collection(ClusterCollection.Name)]
public sealed class ClusterGodotTests
{
    [Fact]
    public async Task Two_nodes_with_a_WebSocket_Godot_client_each_act_as_one_server()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        var n2 = await cluster.StartNodeAsync("n2", 1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        var a = Godot("ws-client", $"--url={n1.Url("r1")}");
        var b = Godot("ws-client", $"--url={n2.Url("r1")}");
        await using (a)
        await using (b)
        {
            await AssertPairAsync(cluster, a, b);
        }
    }

    [Fact]
    public async Task Two_nodes_with_an_ENet_Godot_client_each_act_as_one_server()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1, "--transport", "enet", "--lobby", "conversation-v1", "--lobby-min-players", "2");
        var n2 = await cluster.StartNodeAsync("n2", 1, "--transport", "enet", "--lobby", "conversation-v1", "--lobby-min-players", "2");
        // Godot 3's ENet client chooses its own id: the nodes claim it cluster-wide before admitting it.
        var a = Godot("enet-client", $"--port={n1.Port}");
        var b = Godot("enet-client", $"--port={n2.Port}");
        await using (a)
        await using (b)
        {
            await AssertPairAsync(cluster, a, b);
        }
    }

    [Fact]
    public async Task Three_nodes_with_clients_spread_over_two_rooms_keep_the_rooms_apart()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        var n2 = await cluster.StartNodeAsync("n2", 1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        var n3 = await cluster.StartNodeAsync("n3", 1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        // red on n1 and n2, blue on n2 and n3: n2 carries both rooms, n1 and n3 one each.
        GodotPeerProcess[] godots =
        [
            Godot("ws-client", $"--url={n1.Url("red")}"),
            Godot("ws-client", $"--url={n2.Url("red")}"),
            Godot("ws-client", $"--url={n2.Url("blue")}"),
            Godot("ws-client", $"--url={n3.Url("blue")}"),
        ];
        try
        {
            foreach (var g in godots)
            {
                Assert.True(await g.WaitForExitAsync(Wait) == 0 && g.DoneLine == "DONE ok", cluster.Describe(godots));
            }

            var ids = godots.Select(OwnId).ToArray();
            Assert.Equal(4, ids.Distinct().Count());
            for (var i = 0; i < 4; i++)
            {
                var partner = ids[i ^ 1];
                Assert.True(PeersSeen(godots[i]).Order().SequenceEqual(new[] { 1, partner }.Order()), cluster.Describe(godots));
                Assert.True(AnnouncesFrom(godots[i]).SequenceEqual([partner]), cluster.Describe(godots));
                Assert.True(Rpcs(godots[i], "relayed").Select(r => r.Args).Order().SequenceEqual(
                    new[] { $"[{ids[i]},\"hello everyone\"]", $"[{partner},\"hello everyone\"]" }.Order()), cluster.Describe(godots));
            }
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }
        }
    }

    // Both clients pass conversation v1 (welcome, ping, submit, score, announce, raw, quit: every reply from the one lobby),
    // see each other, and receive each other's broadcast; the lobby ran on exactly one node and the other reached it
    // through the cluster.
    private static async Task AssertPairAsync(ClusterKit cluster, GodotPeerProcess a, GodotPeerProcess b)
    {
        Assert.True(await a.WaitForExitAsync(Wait) == 0 && a.DoneLine == "DONE ok", cluster.Describe(a, b));
        Assert.True(await b.WaitForExitAsync(Wait) == 0 && b.DoneLine == "DONE ok", cluster.Describe(a, b));
        var (aId, bId) = (OwnId(a), OwnId(b));
        Assert.NotEqual(aId, bId);
        Assert.Contains(bId, PeersSeen(a));
        Assert.Contains(aId, PeersSeen(b));
        Assert.Equal([bId], AnnouncesFrom(a));
        Assert.Equal([aId], AnnouncesFrom(b));
        Assert.Contains((1, $"[{bId},\"hello everyone\"]"), Rpcs(a, "relayed"));
        Assert.Contains((1, $"[{aId},\"hello everyone\"]"), Rpcs(b, "relayed"));

        var hosted = new List<long>();
        foreach (var n in cluster.Nodes)
        {
            hosted.Add((await n.StatusAsync()).GetProperty("hosted").GetProperty("rpcDispatched").GetInt64());
        }

        Assert.True(hosted.Count(h => h > 0) == 1, $"RPCs dispatched by each node's lobby: {string.Join(", ", hosted)}\n" + cluster.Describe(a, b));
        foreach (var n in cluster.Nodes)
        {
            Assert.True(await n.ClusterAsync("packetsForwarded") > 0, cluster.Describe(a, b));
            Assert.True(await n.ClusterAsync("packetsReceived") > 0, cluster.Describe(a, b));
        }
    }
}
