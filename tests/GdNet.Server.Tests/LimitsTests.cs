using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>Per-peer rate limits, the server-wide send budget, and the hosted logic's back-pressure.</summary>
public sealed class LimitsTests
{
    [Fact]
    public async Task Packets_over_the_packet_rate_are_dropped_as_RateLimited_and_the_bucket_refills_with_time()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPacketsPerSecond = 5; // burst: 10 packets
        options.RateLimitGrace = TimeSpan.FromHours(1);
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        for (var i = 0; i < 30; i++)
        {
            router.Send(a, b.PeerId, "p");
        }

        Assert.Equal(10, b.Packets.Count);
        Assert.Equal(20, a.Rejections.Count(r => r.Rejection.Reason == PacketRejectReason.RateLimited));
        Assert.All(a.Rejections, r => Assert.False(r.Misbehaviour));
        Assert.Null(a.ClosedWith);
        Assert.Equal(20, router.GetStatistics().Rejections[PacketRejectReason.RateLimited]);

        clock.Advance(TimeSpan.FromSeconds(1)); // 5 more tokens
        for (var i = 0; i < 6; i++)
        {
            router.Send(a, b.PeerId, "q");
        }

        Assert.Equal(5, b.Packets.Count(p => p.Payload == "q"));
    }

    [Fact]
    public async Task Bytes_over_the_byte_rate_are_dropped()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxBytesPerSecond = 50; // burst 100 bytes
        options.RateLimitGrace = TimeSpan.FromHours(1);
        var router = new RelayRouter(options, timeProvider: new ManualClock());
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        router.Send(a, b.PeerId, new string('x', 90));
        router.Send(a, b.PeerId, new string('y', 90));

        Assert.Single(b.Packets);
        Assert.Contains("byte rate", Assert.Single(a.Rejections).Rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_still_over_its_rate_after_the_grace_is_disconnected()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPacketsPerSecond = 1; // burst 2
        options.RateLimitGrace = TimeSpan.FromSeconds(3);
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var a = await router.JoinAsync();

        // Over the rate every half second for 3 s: the excess is continuous, so the peer is cut at the grace.
        for (var step = 0; step <= 6; step++)
        {
            for (var i = 0; i < 3; i++)
            {
                router.Send(a, 1, "p");
            }

            Assert.Equal(step == 6 ? CloseReason.RateLimited : null, a.ClosedWith?.Reason);
            clock.Advance(TimeSpan.FromMilliseconds(500));
        }
    }

    [Fact]
    public async Task An_excess_more_than_a_second_after_the_last_starts_a_new_grace()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxPacketsPerSecond = 1;
        options.RateLimitGrace = TimeSpan.FromSeconds(3);
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var a = await router.JoinAsync();

        for (var step = 0; step < 6; step++)
        {
            for (var i = 0; i < 5; i++)
            {
                router.Send(a, 1, "p");
            }

            clock.Advance(TimeSpan.FromSeconds(2)); // refills 2 tokens, and breaks the run of excess
        }

        Assert.Null(a.ClosedWith);
    }

    [Fact]
    public async Task An_exhausted_send_budget_makes_relays_wait_without_doing_anything()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxQueuedBytesTotal = 100;
        var host = new FakeHost();
        var router = new RelayRouter(options) { HostFactory = _ => host };
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        router.SendBudget.Charge(100);
        Assert.True(router.SendBudget.IsExhausted);
        var wait = router.WhenRetryAsync(a, 1);

        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "all"));
        Assert.Equal(RouteResult.RetryLater, router.Send(a, b.PeerId, "one"));
        Assert.Equal(RouteResult.Done, router.Send(a, 1, "host only needs no budget"));
        Assert.Empty(b.Packets);
        Assert.Equal(1, router.GetStatistics().PacketsIn);

        router.SendBudget.Release(60);
        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(RouteResult.Done, router.Send(a, 0, "all"));
        Assert.Single(b.Packets);
        Assert.Equal(40, router.SendBudget.QueuedBytes);
    }

    [Fact]
    public async Task When_the_exhausted_budget_stalls_for_the_timeout_the_peer_holding_the_most_is_cut_as_a_slow_reader()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxQueuedBytesTotal = 1000;
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var a = await router.JoinAsync();
        var reader = await router.JoinAsync();
        var hog = await router.JoinAsync();
        reader.Queued = 100;
        hog.Queued = 900;
        router.SendBudget.Charge(1000);

        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));
        clock.Advance(options.SendStallTimeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));
        Assert.Null(hog.ClosedWith); // not yet: the stall is younger than the timeout

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));

        Assert.Equal(CloseReason.SlowReader, hog.ClosedWith?.Reason);
        Assert.Null(reader.ClosedWith);
        Assert.Null(a.ClosedWith);
        Assert.Single(hog.Rejections, r => r.Rejection.Reason == PacketRejectReason.SlowReader);

        // Its transport has not ended it yet (what it holds is still being written when it is aborted): another stall
        // neither cuts it twice nor cuts the next holder in its place.
        clock.Advance(options.SendStallTimeout);
        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));
        Assert.Single(hog.Log.OfType<Closed>());
        Assert.Single(hog.Rejections, r => r.Rejection.Reason == PacketRejectReason.SlowReader);
        Assert.Null(reader.ClosedWith);
    }

    [Fact]
    public async Task While_bytes_are_being_written_an_exhausted_budget_cuts_nobody()
    {
        var options = RouterKit.NoRateLimits();
        options.MaxQueuedBytesTotal = 900;
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();
        b.Queued = 900;
        router.SendBudget.Charge(900);

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));
            clock.Advance(options.SendStallTimeout);
            router.SendBudget.Release(1); // b reads a little...
            router.SendBudget.Charge(1);  // ...and gets more: slow, but not stalled
        }

        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "x"));
        Assert.Null(b.ClosedWith);
        Assert.Null(a.ClosedWith);
    }

    [Fact]
    public async Task A_full_host_makes_the_sender_retry_and_nothing_is_relayed_twice()
    {
        var host = new FakeHost { Full = true };
        var router = new RelayRouter(RouterKit.NoRateLimits()) { HostFactory = _ => host };
        var a = await router.JoinAsync();
        var b = await router.JoinAsync();

        Assert.Equal(RouteResult.RetryLater, router.Send(a, 0, "all"));
        Assert.Equal(RouteResult.RetryLater, router.Send(a, 1, "host"));
        Assert.Empty(b.Packets);

        host.Full = false;
        Assert.Equal(RouteResult.Done, router.Send(a, 0, "all"));
        Assert.Equal(RouteResult.Done, router.Send(a, 1, "host"));
        Assert.Single(b.Packets);
        Assert.Equal([$"packet {a.PeerId} all", $"packet {a.PeerId} host"], host.Items.Where(i => i.StartsWith("packet", StringComparison.Ordinal)));
        Assert.Equal(2, router.GetStatistics().PacketsIn);
    }

    [Fact]
    public void Options_are_validated_with_the_name_of_the_option()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RelayRouter(new RelayOptions { MaxPeers = 0 }));
        Assert.Equal("MaxPeers", ex.ParamName);
    }
}
