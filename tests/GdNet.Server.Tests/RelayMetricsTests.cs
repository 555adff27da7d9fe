using System.Diagnostics.Metrics;
using GdNet.Peers;

namespace GdNet.Server.Tests;

/// <summary>The router's counters as <see cref="System.Diagnostics.Metrics"/> instruments, read by a real <see cref="MeterListener"/>.</summary>
public sealed class RelayMetricsTests
{
    [Fact]
    public async Task Instruments_follow_peers_rooms_traffic_refusals_and_rejections_and_totals_never_go_down()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPeers = 2;
        var router = new RelayRouter(options);
        using var metrics = new RelayMetrics(router);
        using var reader = new MetricsReader(metrics.Meter);

        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        using (var refused = await router.AdmitAsync(new AdmissionRequest("fake", RouterKit.Loopback, Room.DefaultName)))
        {
            Assert.False(refused.IsAccepted);
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(RouteResult.Done, router.Send(a, b.PeerId, "xy"));
        }

        Assert.Equal(RouteResult.Done, router.Send(a, 99, "z")); // nobody: UnknownTarget

        var now = reader.Collect();
        Assert.Equal(2, now[("gdnet.peers", "fake")]);
        Assert.Equal(1, now[("gdnet.rooms", null)]);
        Assert.Equal(2, now[("gdnet.connections.accepted", null)]);
        Assert.Equal(1, now[("gdnet.connections.refused", nameof(AdmissionRefusal.ServerFull))]);
        Assert.Equal(4, now[("gdnet.packets.received", "fake")]);
        Assert.Equal(7, now[("gdnet.traffic.received", "fake")]);
        Assert.Equal(3, now[("gdnet.packets.relayed", null)]);
        Assert.Equal(1, now[("gdnet.packets.rejected", nameof(PacketRejectReason.UnknownTarget))]);
        Assert.Equal(0, now[("gdnet.send_queue.size", null)]);

        // Departures: the gauges drop, the totals keep what the departed peers did.
        router.Leave(a);
        router.Leave(b);
        var after = reader.Collect();
        Assert.Equal(0, after[("gdnet.peers", "fake")]);
        Assert.Equal(0, after[("gdnet.rooms", null)]);
        Assert.Equal(4, after[("gdnet.packets.received", "fake")]);
        Assert.Equal(7, after[("gdnet.traffic.received", "fake")]);
        Assert.Equal(3, after[("gdnet.packets.relayed", null)]);
        Assert.Equal(2, after[("gdnet.connections.accepted", null)]);
    }

    [Fact]
    public void The_meter_is_named_GdNet_and_disposing_removes_its_instruments()
    {
        var router = new RelayRouter();
        var metrics = new RelayMetrics(router);
        using var reader = new MetricsReader(metrics.Meter);
        Assert.Equal("GdNet", metrics.Meter.Name);
        Assert.Contains("gdnet.peers", reader.Instruments);
        Assert.Contains("gdnet.packets.relayed", reader.Instruments);

        metrics.Dispose();
        Assert.Empty(reader.Instruments);
    }

    [Fact]
    public async Task Room_labels_only_when_asked_for_and_for_at_most_that_many_rooms()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        using var plain = new RelayMetrics(router);
        using var labelled = new RelayMetrics(router, roomLabels: 2);
        using var plainReader = new MetricsReader(plain.Meter);
        using var reader = new MetricsReader(labelled.Meter);
        foreach (var (room, n) in new[] { ("big", 3), ("mid", 2), ("small", 1), ("tiny", 1) })
        {
            for (var i = 0; i < n; i++)
            {
                await router.JoinAsync(room);
            }
        }

        Assert.DoesNotContain("gdnet.room.peers", plainReader.Instruments);
        var now = reader.Collect();
        Assert.Equal(3, now[("gdnet.room.peers", "big")]);
        Assert.Equal(2, now[("gdnet.room.peers", "mid")]);
        Assert.Equal(2, now[("gdnet.room.peers", "(other)")]);
        Assert.Equal(3, now.Keys.Count(k => k.Item1 == "gdnet.room.peers"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RelayMetrics(router, roomLabels: -1));
    }

    [Fact]
    public void With_a_meter_factory_the_meter_comes_from_it()
    {
        using var factory = new TestMeterFactory();
        using var metrics = new RelayMetrics(new RelayRouter(), factory);
        Assert.Same(factory.Created, metrics.Meter);
        Assert.Equal(RelayMetrics.MeterName, metrics.Meter.Name);
    }

    [Fact]
    public async Task A_declared_transport_has_zero_series_before_its_first_peer()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        using var metrics = new RelayMetrics(router);
        using var reader = new MetricsReader(metrics.Meter);
        Assert.DoesNotContain(("gdnet.peers", "enet"), reader.Collect().Keys);

        router.DeclareTransport("enet");
        router.DeclareTransport("enet"); // twice: nothing more
        var now = reader.Collect();
        Assert.Equal(0, now[("gdnet.peers", "enet")]);
        Assert.Equal(0, now[("gdnet.packets.received", "enet")]);
        Assert.Equal(0, now[("gdnet.traffic.sent", "enet")]);

        await router.JoinAsync(); // a "fake" peer: its own series, the declared one stays
        now = reader.Collect();
        Assert.Equal(1, now[("gdnet.peers", "fake")]);
        Assert.Equal(0, now[("gdnet.peers", "enet")]);
        Assert.Throws<ArgumentException>(() => router.DeclareTransport(""));
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter? Created { get; private set; }

        public Meter Create(MeterOptions options) => Created = new Meter(options);

        public void Dispose() => Created?.Dispose();
    }
}
