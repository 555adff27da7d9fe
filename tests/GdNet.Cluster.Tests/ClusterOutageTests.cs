using GdNet.Peers;
using static GdNet.Cluster.Tests.ClusterKit;

namespace GdNet.Cluster.Tests;

/// <summary>
/// nats-server stopped and started again under traffic: each node keeps serving its own players, cross-node packets sent
/// meanwhile are dropped and counted (never silently), and when NATS is back the nodes reconcile who is where and
/// cross-node traffic resumes.
/// </summary>
[Trait("Category", "Interop")]
[Collection(ClusterCollection.Name)]
public sealed class ClusterOutageTests
{
    [Fact]
    public async Task A_NATS_restart_leaves_local_traffic_alone_counts_what_could_not_cross_and_reconciles_membership()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1);
        var n2 = await cluster.StartNodeAsync("n2", 1);
        var a = Player.Join(n1.Url("r"));
        var gone = Player.Join(n1.Url("r"));
        var b = Player.Join(n2.Url("r"));
        Player? late = null;
        var players = new List<Player> { a, gone, b };
        try
        {
            await Player.UntilAllSeeEachOtherAsync(players, Wait);
            long toLocal = 0, toRemote = 0;
            void Send(int local, int remote)
            {
                for (var i = 0; i < local; i++)
                {
                    Assert.Equal(Error.Ok, a.Probe.RpcId(gone.Id, "seq", toLocal++));
                }

                for (var i = 0; i < remote; i++)
                {
                    Assert.Equal(Error.Ok, a.Probe.RpcId(b.Id, "seq", toRemote++));
                }
            }

            Send(200, 200);
            await Player.PumpUntilAsync(players, () => gone.Probe.From(a.Id) == 200 && b.Probe.From(a.Id) == 200, Wait, () => "before the outage");

            await cluster.Nats.StopAsync();
            await Poll.UntilAsync(async () => !await n1.IsConnectedAsync(), Wait, "n1 notices the outage");

            // Local traffic is untouched; what was meant for n2 is dropped and counted.
            var droppedBefore = await n1.DroppedAsync("disconnected");
            Send(200, 50);
            await Player.PumpUntilAsync(players, () => gone.Probe.From(a.Id) == 400, Wait, () => $"local traffic during the outage: {gone.Probe.From(a.Id)}");
            Assert.Equal(0, gone.Probe.Missing + gone.Probe.Reordered);
            Assert.Equal(50, await n1.DroppedAsync("disconnected") - droppedBefore);

            // Membership changes during the outage: one player leaves n1, another joins it.
            var goneId = gone.Id;
            players.Remove(gone);
            await gone.DisposeAsync();
            late = Player.Join(n1.Url("r"));
            players.Add(late);
            await Player.PumpUntilAsync(players, () => late.IsConnected && a.Peers.Contains(late.Id) && !a.Peers.Contains(goneId), Wait,
                () => "n1 admits a player without NATS");
            Assert.True(await n1.ClusterAsync("uncheckedIds") >= 1, "the id given during the outage is reported as unchecked");

            await cluster.Nats.StartAgainAsync();
            await Poll.UntilAsync(async () => await n1.IsConnectedAsync() && await n2.IsConnectedAsync(), Wait,
                "both nodes reconnect");
            Assert.True(await n1.ClusterAsync("outages") >= 1);
            Assert.True(await n2.ClusterAsync("outages") >= 1);

            // Reconciled: b sees the player who joined n1 meanwhile and no longer the one who left; late sees b.
            await Player.PumpUntilAsync(players, () => b.Peers.Contains(late.Id) && !b.Peers.Contains(goneId) && late.Peers.Contains(b.Id), Wait,
                () => $"b sees [{string.Join(",", b.Peers)}], late ({late.Id}) sees [{string.Join(",", late.Peers)}]\n{cluster.Describe()}");
            Assert.Contains(goneId, b.Departed);

            // Cross-node traffic resumes: the 50 dropped ones are the only gap b sees, nothing reordered.
            Send(0, 200);
            await Player.PumpUntilAsync(players, () => b.Probe.From(a.Id) == 450, Wait, () => $"b got up to {b.Probe.From(a.Id)}\n{cluster.Describe()}");
            Assert.Equal(50, b.Probe.Missing);
            Assert.Equal(0, b.Probe.Reordered);
            Assert.Equal(400, b.Probe.Received);
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
    public async Task A_node_shuts_down_promptly_while_the_NATS_server_hangs()
    {
        await using var cluster = await ClusterKit.StartAsync();
        var n1 = await cluster.StartNodeAsync("n1", 1, "--drain-seconds", "1");
        var a = Player.Join(n1.Url("r"));
        await using (a)
        {
            await Player.PumpUntilAsync([a], () => a.IsConnected, Wait, () => "a joins");
        }

        // A frozen server keeps its connections open: the node still believes it is connected, and its goodbye
        // (publish, lease and id releases, a flush) would wait for an answer that never comes, unless bounded.
        await cluster.Nats.PauseAsync();
        Assert.Equal(0, await n1.Serve.TerminateAsync(Wait));
        Assert.Contains("stopped", n1.Serve.Lines);
    }
}
