using GdNet.Peers;
using static GdNet.Cluster.Tests.ClusterKit;

namespace GdNet.Cluster.Tests;

/// <summary>
/// <c>gdnet serve --cluster</c> nodes with GdNet players: room affinity (what each node subscribes to, seen from
/// nats-server itself), a node killed with SIGKILL, and the room's hosted logic taken over by a surviving node.
/// </summary>
[Trait("Category", "Interop")]
[Collection(ClusterCollection.Name)]
public sealed class ClusterNodeTests
{
    [Fact]
    public async Task A_node_subscribes_only_to_its_rooms_and_traffic_between_its_own_members_stays_off_NATS()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1);
        var n2 = await cluster.StartNodeAsync("n2", 1);
        var n3 = await cluster.StartNodeAsync("n3", 1);
        Player[] red = [Player.Join(n1.Url("red")), Player.Join(n2.Url("red"))];
        Player[] blue = [Player.Join(n2.Url("blue")), Player.Join(n3.Url("blue"))];
        Player[] solo = [Player.Join(n1.Url("solo")), Player.Join(n1.Url("solo"))];
        Player[] all = [.. red, .. blue, .. solo];
        try
        {
            await Player.UntilAllSeeEachOtherAsync(red, Wait);
            await Player.UntilAllSeeEachOtherAsync(blue, Wait);
            await Player.UntilAllSeeEachOtherAsync(solo, Wait);
            foreach (var p in all)
            {
                Assert.True(p.Peers.Count(id => id != 1) == 1, $"player {p.Id} sees [{string.Join(",", p.Peers)}]: only its partner");
            }

            var prefix = $"gdnet.{cluster.Name}.room.";
            var subs1 = await cluster.Nats.SubscriptionsAsync("gdnet-n1");
            var subs2 = await cluster.Nats.SubscriptionsAsync("gdnet-n2");
            var subs3 = await cluster.Nats.SubscriptionsAsync("gdnet-n3");
            var why = $"n1: {string.Join(" ", subs1)}\nn2: {string.Join(" ", subs2)}\nn3: {string.Join(" ", subs3)}";
            Assert.True(subs1.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).Order().SequenceEqual([prefix + "red", prefix + "solo"]), why);
            Assert.True(subs2.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).Order().SequenceEqual([prefix + "blue", prefix + "red"]), why);
            Assert.True(subs3.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).SequenceEqual([prefix + "blue"]), why);

            // The solo room's members are both on n1: 100 RPCs between them, none forwarded to the cluster.
            var forwarded = await n1.ClusterAsync("packetsForwarded");
            for (var i = 0; i < 100; i++)
            {
                Assert.Equal(Error.Ok, solo[0].Probe.RpcId(solo[1].Id, "seq", (long)i));
            }

            await Player.PumpUntilAsync(all, () => solo[1].Probe.From(solo[0].Id) == 100, Wait, () => $"solo received {solo[1].Probe.Received}");
            Assert.Equal(forwarded, await n1.ClusterAsync("packetsForwarded"));

            // Red's broadcast reaches red only: blue's own marker, sent after it, arrives and red's never does.
            Assert.Equal(Error.Ok, red[0].Probe.Rpc("marker", 1L));
            Assert.Equal(Error.Ok, blue[1].Probe.Rpc("marker", 2L));
            await Player.PumpUntilAsync(all, () => red[1].Probe.Markers.Count == 1 && blue[0].Probe.Markers.Count == 1, Wait,
                () => "the markers arrive");
            Assert.Equal([(red[0].Id, 1L)], red[1].Probe.Markers);
            Assert.Equal([(blue[1].Id, 2L)], blue[0].Probe.Markers);
            Assert.True(await n1.ClusterAsync("packetsForwarded") > forwarded, "red's marker crossed to n2");
        }
        finally
        {
            foreach (var p in all)
            {
                await p.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task When_a_node_is_killed_the_others_announce_its_peers_departure_and_keep_relaying()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1);
        var n2 = await cluster.StartNodeAsync("n2", 1);
        var n3 = await cluster.StartNodeAsync("n3", 1);
        Player[] players = [Player.Join(n1.Url("r")), Player.Join(n2.Url("r")), Player.Join(n3.Url("r"))];
        var (a, b, c) = (players[0], players[1], players[2]);
        try
        {
            await Player.UntilAllSeeEachOtherAsync(players, Wait);
            var cId = c.Id;

            await n3.KillAsync();
            Player[] left = [a, b];
            await Player.PumpUntilAsync(left, () => a.Departed.Contains(cId) && b.Departed.Contains(cId), NodeLossWait,
                () => $"a departed [{string.Join(",", a.Departed)}], b departed [{string.Join(",", b.Departed)}]\n{cluster.Describe()}");
            Assert.False(a.ServerGone || b.ServerGone);

            // Still one server for the two that are left: reliable RPCs both ways, in order.
            for (var i = 0; i < 50; i++)
            {
                a.Probe.RpcId(b.Id, "seq", (long)i);
                b.Probe.RpcId(a.Id, "seq", (long)i);
            }

            await Player.PumpUntilAsync(left, () => a.Probe.From(b.Id) == 50 && b.Probe.From(a.Id) == 50, Wait,
                () => $"a got {a.Probe.From(b.Id)}, b got {b.Probe.From(a.Id)}\n{cluster.Describe()}");
            Assert.Equal(0, a.Probe.Missing + a.Probe.Reordered + b.Probe.Missing + b.Probe.Reordered);
            Assert.Equal(1, await n1.ClusterAsync("nodesLost"));
            Assert.Equal(2, await n1.ClusterAsync("nodes"));
            Assert.Equal(1, await n1.ClusterAsync("remotePeers"));
        }
        finally
        {
            foreach (var p in players)
            {
                await p.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task When_the_node_running_a_rooms_lobby_is_killed_another_node_takes_the_lobby_over_and_its_clients_stay()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1, "--lobby", "conversation-v1");
        var n2 = await cluster.StartNodeAsync("n2", 1, "--lobby", "conversation-v1");
        var a = Player.Join(n1.Url("r"));
        await using var _ = a;
        await Player.PumpUntilAsync([a], () => a.Lobby.Welcomes == 1, Wait, () => "n1's lobby greets a\n" + cluster.Describe());
        Assert.Equal(1, (await n1.StatusAsync()).GetProperty("hosted").GetProperty("rooms").GetInt32());

        var b = Player.Join(n2.Url("r"));
        await using var __ = b;
        Player[] both = [a, b];
        await Player.PumpUntilAsync(both, () => b.Lobby.Welcomes == 1 && a.Peers.Contains(b.Id) && b.Peers.Contains(a.Id), Wait,
            () => "n1's lobby greets b through the cluster\n" + cluster.Describe());
        Assert.Equal(0, (await n2.StatusAsync()).GetProperty("hosted").GetProperty("rooms").GetInt32());
        b.Lobby.RpcId(1, "ping", 7L, "hello");
        await Player.PumpUntilAsync([b], () => b.Lobby.Pongs.Contains(8), Wait, () => "n1's lobby answers b's ping");

        var aId = a.Id;
        await n1.KillAsync();
        // n2 takes the lobby over once n1's lease on it has run out: a new lobby, which greets b again (its state is new).
        await Player.PumpUntilAsync([b], () => b.Departed.Contains(aId) && b.Lobby.Welcomes == 2, NodeLossWait,
            () => $"b departed [{string.Join(",", b.Departed)}], welcomes {b.Lobby.Welcomes}\n{cluster.Describe()}");
        Assert.False(b.ServerGone);
        Assert.Equal(1, (await n2.StatusAsync()).GetProperty("hosted").GetProperty("rooms").GetInt32());
        b.Lobby.RpcId(1, "ping", 41L, "again");
        await Player.PumpUntilAsync([b], () => b.Lobby.Pongs.Contains(42), Wait, () => "n2's lobby answers b's ping");
    }
}
