using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>
/// Refusing a bad packet costs no allocation (issue 13 §4): the rejection is a value, its text is formatted only when
/// logged, its count is an array slot. A flood of bad packets of every kind the router refuses allocates a bounded
/// number of bytes in all, not a number per packet.
/// </summary>
public sealed class RejectionAllocationTests
{
    private const int Flood = 20_000;

    [Fact]
    public async Task A_flood_of_refused_packets_allocates_next_to_nothing_and_every_one_is_counted()
    {
        var router = new RelayRouter(RouterKit.NoRateLimits());
        var limits = RouterKit.NoRateLimits();
        limits.MaxPacketsPerSecond = 10; // the rate-limited kind on a second router (the grace is long: nobody is cut)
        limits.RateLimitGrace = TimeSpan.FromHours(1);
        var limited = new RelayRouter(limits, timeProvider: new ManualClock());
        var fast = new SilentConnection();
        await JoinAsync(limited, fast);
        var a = new SilentConnection();
        var b = new SilentConnection();
        var gone = new SilentConnection();
        await JoinAsync(router, a);
        await JoinAsync(router, b);
        await JoinAsync(router, gone);
        router.Leave(gone);
        var payload = new byte[32];

        // Warm up every path (first-call JIT, tiered compilation's allocations), then measure.
        for (var round = 0; round < 2; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Flood; i++)
            {
                router.Route(a, a.PeerId + 1, b.PeerId, payload, TransferModeEnum.Reliable); // spoofed source
                router.Route(a, a.PeerId, 123_456, payload, TransferModeEnum.Reliable); // unknown target
                router.Route(a, a.PeerId, a.PeerId, payload, TransferModeEnum.Reliable); // the sender itself
                router.Route(a, a.PeerId, gone.PeerId, payload, TransferModeEnum.Reliable); // departed target
                limited.Route(fast, fast.PeerId, 0, payload, TransferModeEnum.Reliable); // over the rate (past the burst)
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 1)
            {
                // 100,000 refusals: a class or a formatted note each would be megabytes.
                Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated for {5 * Flood} refused packets");
            }
        }

        var counts = router.GetStatistics().Rejections;
        Assert.Equal(2L * Flood, counts[PacketRejectReason.SpoofedSource]);
        Assert.Equal(4L * Flood, counts[PacketRejectReason.UnknownTarget]);
        Assert.Equal(2L * Flood, counts[PacketRejectReason.DepartedTarget]); // counted, under its own reason…
        Assert.Equal(6L * Flood, a.Misbehaviour); // …and not held against the sender
        Assert.Equal(2L * Flood - 20, limited.GetStatistics().Rejections[PacketRejectReason.RateLimited]); // all but the burst
    }

    [Fact]
    public void A_rejection_formats_its_note_and_number_only_when_read()
    {
        var r = new PacketRejection(7, PacketRejectReason.SpoofedSource, 99, 0, "claims to be peer {0}", 99);
        Assert.Equal("claims to be peer 99", r.Note);
        Assert.Equal("SpoofedSource from peer 7 (99 bytes): claims to be peer 99", r.Detail);
        var plain = new PacketRejection(7, PacketRejectReason.Malformed, 3, 0, "{not a format}");
        Assert.Equal("{not a format}", plain.Note); // a note without a number is never formatted
        Assert.Equal("peer 7 reads too slowly: 100 bytes queued for it (limit 50)",
            new PacketRejection(7, PacketRejectReason.SlowReader, 100, 50).Detail);
    }

    private static async Task JoinAsync(RelayRouter router, RelayConnection c)
    {
        using var ticket = await router.AdmitAsync(new AdmissionRequest("fake", RouterKit.Loopback, Room.DefaultName));
        router.Join(ticket, c);
    }

    // Records nothing (a recording connection would allocate itself); counts what the router blames it for.
    private sealed class SilentConnection() : RelayConnection("fake", RouterKit.Loopback)
    {
        public long Misbehaviour;

        protected override void Welcome()
        {
        }

        protected override SendResult Send(in RelayPacket packet) => SendResult.Sent;

        protected override void SendPeerAdded(int peerId)
        {
        }

        protected override void SendPeerRemoved(int peerId)
        {
        }

        protected override void Close(CloseReason reason, string detail)
        {
        }

        protected override void OnRejected(PacketRejection rejection, bool misbehaviour)
        {
            if (misbehaviour)
            {
                Misbehaviour++;
            }
        }
    }
}
