using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>Outgoing and incoming limits, rejections (raised, counted, never thrown), pooling and statistics.</summary>
public class NetworkedMultiplayerCustomLimitsTests
{
    [Fact]
    public void PutPacket_AboveMaxPacketSize_IsRefusedWithoutEventAndCountedAsTooLarge()
    {
        var peer = CustomPeers.Connected(1, 2);
        var raised = 0;
        peer.PacketGenerated += (_, _, _) => raised++;
        peer.SetMaxPacketSize(10);

        var error = peer.PutPacket(new byte[11]);

        Assert.Equal(Error.ParameterRangeError, error);
        Assert.Equal(0, raised);
        Assert.Equal(1, peer.Statistics.GetRejections(PacketRejectReason.TooLarge));
    }

    [Fact]
    public void PutPacket_WhileDisconnected_ReturnsUnconfiguredWithoutEvent()
    {
        var peer = new NetworkedMultiplayerCustom();
        var raised = 0;
        peer.PacketGenerated += (_, _, _) => raised++;

        Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));
        Assert.Equal(0, raised);
    }

    [Fact]
    public void PutPacket_NoPacketGeneratedHandler_ReturnsUnconfigured()
    {
        var peer = CustomPeers.Connected(1, 2);

        Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));
    }

    [Fact]
    public void PutPacket_WhileConnecting_RaisesPacketGenerated()
    {
        var peer = CustomPeers.Connecting();
        var raised = 0;
        peer.PacketGenerated += (_, _, _) => raised++;

        Assert.Equal(Error.Ok, peer.PutPacket([1]));
        Assert.Equal(1, raised);
    }

    [Fact]
    public void PutPacket_EmptyPacket_IsRaisedAsEmpty()
    {
        var peer = CustomPeers.Connected(1, 2);
        var length = -1;
        peer.PacketGenerated += (_, bytes, _) => length = bytes.Length;

        peer.PutPacket(ReadOnlySpan<byte>.Empty);

        Assert.Equal(0, length);
    }

    [Fact]
    public void DeliverPacket_AboveMaxPacketSize_RaisesPacketRejectedWithSizeAndLimitAtPoll()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.SetMaxPacketSize(10);
        var log = new PeerEventLog(peer);

        var result = peer.DeliverPacket(new byte[11], 2);
        var beforePoll = log.Rejections.Count;
        peer.Poll();

        Assert.Equal(PacketRejectReason.TooLarge, result.RejectReason);
        Assert.Equal(0, beforePoll);
        var r = Assert.Single(log.Rejections);
        Assert.Equal((2, PacketRejectReason.TooLarge, 11L, 10L), (r.PeerId, r.Reason, r.Size, r.Limit));
        Assert.Equal("packet of 11 bytes from peer 2 exceeds the maximum packet size 10", r.Detail);
        Assert.Equal(1, peer.Statistics.GetRejections(PacketRejectReason.TooLarge));
    }

    [Fact]
    public void DeliverPacket_FromUnknownPeer_IsRejectedAndCountedAsUnknownPeer()
    {
        var peer = CustomPeers.Connected(1, 2);
        var log = new PeerEventLog(peer);

        var result = peer.DeliverPacket([1, 2, 3], 3);
        peer.Poll();

        Assert.Equal(PacketRejectReason.UnknownPeer, result.RejectReason);
        Assert.Equal((3, PacketRejectReason.UnknownPeer, 3L), (log.Rejections[0].PeerId, log.Rejections[0].Reason, log.Rejections[0].Size));
        Assert.Equal(1, peer.Statistics.GetRejections(PacketRejectReason.UnknownPeer));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void DeliverPacket_FromInvalidId_IsRejectedNotThrown(int from)
    {
        var peer = CustomPeers.Connected(1, 2);

        var result = peer.DeliverPacket([1], from);

        Assert.Equal(PacketRejectReason.UnknownPeer, result.RejectReason);
    }

    [Fact]
    public void DeliverPacket_FromItself_IsRejectedAsUnknownPeer()
    {
        var peer = CustomPeers.Connected(1, 2);

        Assert.Equal(PacketRejectReason.UnknownPeer, peer.DeliverPacket([1], 1).RejectReason);
    }

    [Fact]
    public void DeliverPacket_WhileDisconnected_IsRejectedAsNotConnected()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        var result = peer.DeliverPacket([1], 2);

        Assert.Equal(PacketRejectReason.NotConnected, result.RejectReason);
        Assert.Equal(1, peer.Statistics.GetRejections(PacketRejectReason.NotConnected));
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    [Fact]
    public void DeliverPacket_BeyondMaxQueuedPackets_IsRejectedAsQueueFull()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.MaxQueuedPackets = 2;
        var log = new PeerEventLog(peer);

        peer.DeliverPacket([1], 2);
        peer.DeliverPacket([2], 2);
        var third = peer.DeliverPacket([3], 2);

        Assert.Equal(PacketRejectReason.QueueFull, third.RejectReason);
        Assert.Equal(["packet 2 [1]", "packet 2 [2]", "rejected 2 QueueFull"], log.Drain());
        Assert.Equal(2, log.Rejections[0].Limit);
    }

    [Fact]
    public void DeliverPacket_BeyondMaxQueuedBytes_IsRejectedAsQueueFull()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.MaxQueuedBytes = 10;
        var log = new PeerEventLog(peer);

        var first = peer.DeliverPacket(new byte[6], 2);
        var second = peer.DeliverPacket(new byte[5], 2);
        var third = peer.DeliverPacket(new byte[4], 2);
        log.Drain();

        Assert.Equal((true, PacketRejectReason.QueueFull, true), (first.IsAccepted, second.RejectReason!.Value, third.IsAccepted));
        Assert.Equal((5L, 10L), (log.Rejections[0].Size, log.Rejections[0].Limit));
    }

    [Fact]
    public void DeliverPacket_QueueDrained_AcceptsAgain()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.MaxQueuedPackets = 1;
        peer.DeliverPacket([1], 2);
        peer.GetPacket();

        Assert.True(peer.DeliverPacket([2], 2).IsAccepted);
    }

    [Fact]
    public void DeliverPacket_EmptyPacket_IsAcceptedAsAZeroBytePacket()
    {
        var peer = CustomPeers.Connected(1, 2);

        peer.DeliverPacket([], 2);

        Assert.True(peer.TryGetPacket(out var packet));
        Assert.Equal(0, packet.Length);
    }

    [Fact]
    public void DeliverPacket_ManyRejections_RaisesAtMostTheCapButCountsAll()
    {
        var peer = CustomPeers.Connected(1, 2);
        var log = new PeerEventLog(peer);

        for (var i = 0; i < PeerInbox.MaxPendingRejections + 10; i++)
        {
            peer.DeliverPacket([1], 99);
        }

        peer.Poll();

        Assert.Equal(PeerInbox.MaxPendingRejections, log.Rejections.Count);
        Assert.Equal(PeerInbox.MaxPendingRejections + 10, peer.Statistics.GetRejections(PacketRejectReason.UnknownPeer));
    }

    [Fact]
    public void MaxQueuedPackets_BelowOne_ThrowsArgumentOutOfRange()
    {
        var peer = new NetworkedMultiplayerCustom();

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.MaxQueuedPackets = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => peer.MaxQueuedBytes = 0);
    }

    [Fact]
    public void RejectPacket_FromTransport_IsCountedAndRaisedWithNote()
    {
        var peer = CustomPeers.Connected(1, 2);
        var log = new PeerEventLog(peer);

        peer.RejectPacket(2, PacketRejectReason.SpoofedSource, 12, note: "claimed to be 3");
        peer.Poll();

        Assert.Equal("SpoofedSource from peer 2 (12 bytes): claimed to be 3", log.Rejections.Single().Detail);
        Assert.Equal(1, peer.Statistics.GetRejections(PacketRejectReason.SpoofedSource));
    }

    [Fact]
    public void GetPacketPeer_NoPacketQueued_ReturnsZero()
    {
        var peer = CustomPeers.Connected(1, 2);

        Assert.Equal(0, peer.GetPacketPeer());
    }

    [Fact]
    public void GetPacket_NoPacketQueued_ReturnsEmptyWithUnavailable()
    {
        var peer = CustomPeers.Connected(1, 2);

        Assert.Empty(peer.GetPacket());
        Assert.Equal(Error.Unavailable, peer.GetPacketError());
    }

    [Fact]
    public void DeliverPacketOwned_Accepted_LendsTheSameBufferWithoutCopying()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);
        var buffer = pool.Rent(16);
        buffer[0] = 77;

        peer.DeliverPacketOwned(buffer, 3, 2);
        peer.TryGetPacket(out var packet);

        Assert.True(Unsafe.AreSame(ref MemoryMarshal.GetReference(packet), ref buffer[0]));
        Assert.Equal(3, packet.Length);
    }

    [Fact]
    public void DeliverPacketOwned_Rejected_ReturnsTheBufferToThePoolAtOnce()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);

        peer.DeliverPacketOwned(pool.Rent(16), 3, 99);

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void DeliverPacketOwned_LengthBeyondBuffer_ThrowsArgumentOutOfRange()
    {
        var peer = CustomPeers.Connected(1, 2);

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.DeliverPacketOwned(new byte[4], 5, 2));
    }

    [Fact]
    public void TryGetPacket_NextRead_ReturnsThePreviousOwnedBufferToThePool()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);
        peer.DeliverPacketOwned(pool.Rent(8), 1, 2);
        peer.DeliverPacketOwned(pool.Rent(8), 1, 2);

        peer.TryGetPacket(out _);
        var afterFirst = pool.Outstanding;
        peer.TryGetPacket(out _);
        var afterSecond = pool.Outstanding;
        peer.TryGetPacket(out _);

        Assert.Equal((2L, 1L, 0L), (afterFirst, afterSecond, pool.Outstanding));
    }

    [Fact]
    public void DeliverPacket_ManySmallPacketsBetweenReads_RentsOneChunkPer64KiB()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);

        for (var i = 0; i < 1000; i++)
        {
            peer.DeliverPacket(new byte[100], 2);
        }

        Assert.Equal(2, pool.Rented);
    }

    [Fact]
    public void DeliverPacket_SteadyFlowOfBursts_RentsNothingAfterTheFirstBursts()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);
        var packet = new byte[1000];
        Burst();
        var afterWarmUp = pool.Rented;

        for (var round = 0; round < 50; round++)
        {
            Burst();
        }

        Assert.Equal(afterWarmUp, pool.Rented);

        void Burst()
        {
            for (var i = 0; i < 200; i++)
            {
                peer.DeliverPacket(packet, 2);
            }

            while (peer.TryGetPacket(out _))
            {
            }
        }
    }

    [Fact]
    public void DeliverPacket_SmallAndLargePacketsInterleaved_AreReadBackIntact()
    {
        var peer = CustomPeers.Connected(1, 2);
        var sizes = new[] { 0, 1, 4096, 4097, 70_000, 65_536, 3, 60_000, 10_000 };
        foreach (var size in sizes)
        {
            peer.DeliverPacket(Enumerable.Range(0, size).Select(i => (byte)(i * 7 + size)).ToArray(), 2);
        }

        foreach (var size in sizes)
        {
            Assert.Equal(Enumerable.Range(0, size).Select(i => (byte)(i * 7 + size)).ToArray(), peer.GetPacket());
        }
    }

    [Fact]
    public void Dispose_WithQueuedPackets_ReturnsEveryBuffer()
    {
        var pool = new CountingArrayPool();
        var peer = CustomPeers.Connected(pool, 1, 2);
        for (var i = 0; i < 1000; i++)
        {
            peer.DeliverPacket(new byte[i % 2 == 0 ? 100 : 5000], 2);
        }

        peer.TryGetPacket(out _);
        peer.Dispose();

        Assert.True(pool.Rented > 500);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(ConnectionStatus.Disconnected, peer.GetConnectionStatus());
    }

    [Fact]
    public void Statistics_Traffic_CountsPacketsAndBytesPerPeerBothWays()
    {
        var peer = CustomPeers.Connected(1, 2, 3);
        peer.PacketGenerated += (_, _, _) => { };
        peer.DeliverPacket(new byte[10], 2);
        peer.DeliverPacket(new byte[20], 2);
        peer.DeliverPacket(new byte[5], 3);
        peer.SetTargetPeer(3);
        peer.PutPacket(new byte[7]);
        peer.SetTargetPeer(0);
        peer.PutPacket(new byte[8]);

        var s = peer.Statistics.Snapshot();

        Assert.Equal(new PeerTraffic(2, 30, 0, 0), s.Peers[2]);
        Assert.Equal(new PeerTraffic(1, 5, 1, 7), s.Peers[3]);
        Assert.Equal(new PeerTraffic(0, 0, 1, 8), s.Peers[0]);
        Assert.Equal((3L, 35L, 2L, 15L), (s.PacketsIn, s.BytesIn, s.PacketsOut, s.BytesOut));
    }

    [Fact]
    public void Statistics_Rejections_AreCountedByReason()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.SetMaxPacketSize(4);
        peer.DeliverPacket(new byte[5], 2);
        peer.DeliverPacket([1], 9);
        peer.DeliverPacket([1], 9);

        var s = peer.Statistics.Snapshot();

        Assert.Equal(new Dictionary<PacketRejectReason, long> { [PacketRejectReason.TooLarge] = 1, [PacketRejectReason.UnknownPeer] = 2 }, s.Rejections);
        Assert.Equal(3, s.TotalRejections);
        Assert.Equal(0, s.PacketsIn);
    }

    [Fact]
    public void Statistics_ForgetAfterCounting_StartsThePeerAtZero()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.DeliverPacket([1], 2);

        peer.Statistics.Forget(2);
        peer.DeliverPacket([1, 2], 2);

        Assert.Equal(new PeerTraffic(1, 2, 0, 0), peer.Statistics.Snapshot().Peers[2]);
    }
}
