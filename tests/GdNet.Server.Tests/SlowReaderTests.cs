using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>
/// A peer that stops reading is cut even when neither its own queue cap nor the server-wide budget is reached (issue 13
/// §5.1: a client that never reads held 16 MiB, its slot and its announcements forever).
/// </summary>
public sealed class SlowReaderTests
{
    [Fact]
    public async Task A_peer_whose_queue_does_not_shrink_for_the_timeout_is_cut_as_a_slow_reader_once()
    {
        var options = RouterKit.NoRateLimits();
        var clock = new ManualClock();
        var router = new RelayRouter(options, timeProvider: clock);
        var deaf = await router.JoinAsync();
        var reader = await router.JoinAsync();
        var idle = await router.JoinAsync();
        deaf.Queued = 12_000_000;
        reader.Queued = 5_000;

        router.CheckSlowReaders(); // both seen with bytes queued
        clock.Advance(options.SlowReaderTimeout / 2);
        reader.Queued = 4_000; // some of it written: it reads
        router.CheckSlowReaders();
        clock.Advance(options.SlowReaderTimeout / 2 - TimeSpan.FromMilliseconds(1));
        router.CheckSlowReaders();
        Assert.Null(deaf.ClosedWith); // not yet: stuck for less than the timeout

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, router.CheckSlowReaders());

        Assert.Equal(CloseReason.SlowReader, deaf.ClosedWith?.Reason);
        Assert.Contains("read none of the 12000000 bytes", deaf.ClosedWith!.Detail, StringComparison.Ordinal);
        var (r, bad) = Assert.Single(deaf.Rejections);
        Assert.Equal(PacketRejectReason.SlowReader, r.Reason);
        Assert.False(bad);
        Assert.Null(reader.ClosedWith);
        Assert.Null(idle.ClosedWith); // nothing queued is not slow

        // Its transport has not ended it yet: later checks do not cut (or count) it again.
        reader.Queued = 0; // (the reader has read everything by now)
        clock.Advance(options.SlowReaderTimeout * 2);
        router.CheckSlowReaders();
        Assert.Single(deaf.Log.OfType<Closed>());
        Assert.Equal(1, router.GetStatistics().Rejections[PacketRejectReason.SlowReader]);

        // Once it has left it is no longer announced, and the others were told.
        router.Leave(deaf);
        Assert.Contains(deaf.PeerId, reader.PeersRemoved);
        Assert.Null(router.FindPeer(deaf.PeerId));
        Assert.Equal(2, router.PeerCount);
    }

    [Fact]
    public async Task The_check_is_off_with_a_zero_timeout_and_the_router_runs_it_by_itself()
    {
        var off = RouterKit.NoRateLimits();
        off.SlowReaderTimeout = TimeSpan.Zero;
        var clock = new ManualClock();
        var router = new RelayRouter(off, timeProvider: clock);
        var deaf = await router.JoinAsync();
        deaf.Queued = 1000;
        router.CheckSlowReaders();
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, router.CheckSlowReaders());
        Assert.Null(deaf.ClosedWith);

        // On the real clock, with a short timeout, nobody calls CheckSlowReaders: the router's own timer cuts the peer.
        var on = RouterKit.NoRateLimits();
        on.SlowReaderTimeout = TimeSpan.FromMilliseconds(300);
        var live = new RelayRouter(on);
        var stuck = await live.JoinAsync();
        stuck.Queued = 1000;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (stuck.ClosedWith is null && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.Equal(CloseReason.SlowReader, stuck.ClosedWith?.Reason);
    }
}
