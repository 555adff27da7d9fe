using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>The transport authors' inbox on its own (the custom peer tests cover it through the peer).</summary>
public class PeerInboxTests
{
    [Fact]
    public void EnqueueEvent_PacketRejectedKind_ThrowsArgumentSayingToUseReject()
    {
        using var inbox = new PeerInbox(new NetworkedMultiplayerCustom());

        var e = Assert.Throws<ArgumentException>(() => inbox.EnqueueEvent(PeerEventKind.PacketRejected, 2));

        Assert.Contains("Reject", e.Message);
    }

    [Fact]
    public void TryEnqueue_WithPool_RentsFromItAndClearReturnsEverything()
    {
        var pool = new CountingArrayPool();
        var inbox = new PeerInbox(new NetworkedMultiplayerCustom(), pool: pool);
        inbox.TryEnqueue(2, [1, 2]);
        inbox.TryEnqueue(2, [3]);
        inbox.TryDequeue(out _, out _);

        inbox.Clear();

        Assert.Equal((2L, 0L, 0), (pool.Rented, pool.Outstanding, inbox.AvailablePacketCount));
    }

    [Fact]
    public void TryEnqueueOwned_OverTheByteBound_ReportsTheByteLimit()
    {
        var owner = new NetworkedMultiplayerCustom();
        var rejections = new List<PacketRejection>();
        owner.PacketRejected += rejections.Add;
        using var inbox = new PeerInbox(owner, maxPackets: 10, maxBytes: 3);

        var result = inbox.TryEnqueue(2, [1, 2, 3, 4]);
        inbox.RaiseDueEvents();

        Assert.Equal(PacketRejectReason.QueueFull, result.RejectReason);
        Assert.Equal((4L, 3L, "byte bound"), (rejections[0].Size, rejections[0].Limit, rejections[0].Note));
    }

    [Fact]
    public void TryDequeue_EventHandlerReadsAPacket_ReturnsThatPacketsBufferToo()
    {
        var pool = new CountingArrayPool();
        var owner = new NetworkedMultiplayerCustom();
        var inbox = new PeerInbox(owner, pool: pool);
        inbox.EnqueueEvent(PeerEventKind.PeerConnected, 2);
        inbox.TryEnqueue(2, [1]);
        inbox.TryEnqueue(2, [2]);
        inbox.TryEnqueue(2, [3]);
        var readInHandler = -1;
        owner.PeerConnected += _ =>
        {
            inbox.TryEnqueue(2, [4]);
            inbox.TryDequeue(out _, out var p);
            readInHandler = p[0];
        };

        var seen = new List<byte>();
        while (inbox.TryDequeue(out _, out var packet))
        {
            seen.Add(packet[0]);
        }

        Assert.Equal(1, readInHandler);
        Assert.Equal([2, 3, 4], seen);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void MaxPackets_SetBelowOne_ThrowsArgumentOutOfRange()
    {
        using var inbox = new PeerInbox(new NetworkedMultiplayerCustom());

        Assert.Throws<ArgumentOutOfRangeException>(() => inbox.MaxPackets = 0);
    }
}
