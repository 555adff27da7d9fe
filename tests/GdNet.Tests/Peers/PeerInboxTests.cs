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

        Assert.Equal((1L, 0L, 0), (pool.Rented, pool.Outstanding, inbox.AvailablePacketCount));
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
        EnqueueOwned(1);
        EnqueueOwned(2);
        EnqueueOwned(3);
        var readInHandler = -1;
        owner.PeerConnected += _ =>
        {
            EnqueueOwned(4);
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

        void EnqueueOwned(byte value)
        {
            var buffer = pool.Rent(1);
            buffer[0] = value;
            inbox.TryEnqueueOwned(2, buffer, 1);
        }
    }

    [Fact]
    public void TryDequeue_BurstsOf100KiB_RecycleTheirChunksAndClearReturnsThem()
    {
        var pool = new CountingArrayPool();
        var inbox = new PeerInbox(new NetworkedMultiplayerCustom(), pool: pool);
        Rounds(3);
        var rentedAfterWarmUp = pool.Rented;

        Rounds(10);
        var rentedAfterMore = pool.Rented;
        inbox.Clear();

        Assert.Equal(3, rentedAfterWarmUp); // a 100 KiB burst spans at most 3 chunks of 64 KiB
        Assert.Equal(rentedAfterWarmUp, rentedAfterMore);
        Assert.Equal(0, pool.Outstanding);

        void Rounds(int count)
        {
            for (var round = 0; round < count; round++)
            {
                for (var j = 0; j < 100; j++)
                {
                    inbox.TryEnqueue(2, new byte[1000]);
                }

                while (inbox.TryDequeue(out _, out _))
                {
                }
            }
        }
    }

    [Fact]
    public void MaxPackets_SetBelowOne_ThrowsArgumentOutOfRange()
    {
        using var inbox = new PeerInbox(new NetworkedMultiplayerCustom());

        Assert.Throws<ArgumentOutOfRangeException>(() => inbox.MaxPackets = 0);
    }
}
