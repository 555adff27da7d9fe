using GdNet.Server;
using GdNet.TestSupport;

namespace GdNet.Cluster.Tests;

/// <summary>
/// Peer ids are unique across the cluster: two relay routers in this process, each with its own NATS link to one real
/// nats-server. A chosen id (Godot 3's ENet client picks its own) that another node holds is refused before the client
/// is told anything; a freed id can be taken again.
/// </summary>
public sealed class ClusterIdTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_chosen_peer_id_held_by_another_node_is_refused_until_that_node_gives_it_back()
    {
        await using var nats = await NatsServer.StartAsync();
        var name = "ids" + Guid.NewGuid().ToString("N")[..8];
        var r1 = new RelayRouter(new RelayOptions());
        var r2 = new RelayRouter(new RelayOptions());
        await using var l1 = await NatsClusterLink.ConnectAsync(r1, new NatsClusterOptions { Url = nats.Url, ClusterName = name, NodeName = "n1" });
        await using var l2 = await NatsClusterLink.ConnectAsync(r2, new NatsClusterOptions { Url = nats.Url, ClusterName = name, NodeName = "n2" });
        const int Chosen = 1_234_567;

        var held = await r1.AdmitAsync(new AdmissionRequest("enet", null, "default") { RequestedPeerId = Chosen });
        Assert.True(held.IsAccepted, held.Detail);
        Assert.Equal(Chosen, held.PeerId);

        var clash = await r2.AdmitAsync(new AdmissionRequest("enet", null, "default") { RequestedPeerId = Chosen });
        Assert.False(clash.IsAccepted);
        Assert.Equal(AdmissionRefusal.IdTaken, clash.Refusal);
        Assert.Contains("another node of the cluster", clash.Detail, StringComparison.Ordinal);

        // Drawn ids never collide with it either; the abandoned admission gives the id back to the cluster.
        using (var drawn = await r2.AdmitAsync(new AdmissionRequest("ws", null, "default")))
        {
            Assert.True(drawn.IsAccepted, drawn.Detail);
            Assert.NotEqual(Chosen, drawn.PeerId);
        }

        held.Dispose();
        await Poll.UntilAsync(async () =>
        {
            using var again = await r2.AdmitAsync(new AdmissionRequest("enet", null, "default") { RequestedPeerId = Chosen });
            return again.IsAccepted;
        }, Wait, "n1 gave the id back, so n2 may admit it");
        Assert.Equal(0, l1.GetStatistics().UncheckedIds + l2.GetStatistics().UncheckedIds);
    }

    [Fact]
    public async Task Without_NATS_a_node_still_admits_and_reports_the_ids_it_could_not_check()
    {
        await using var nats = await NatsServer.StartAsync();
        var router = new RelayRouter(new RelayOptions());
        await using var link = await NatsClusterLink.ConnectAsync(router, new NatsClusterOptions { Url = nats.Url, ClusterName = "alone", NodeName = "n1" });
        await nats.StopAsync();
        await Poll.UntilAsync(() => !link.IsConnected, Wait, "the link notices the outage");

        using var ticket = await router.AdmitAsync(new AdmissionRequest("ws", null, "default"));
        Assert.True(ticket.IsAccepted, ticket.Detail);
        Assert.Equal(1, link.GetStatistics().UncheckedIds);
    }
}
