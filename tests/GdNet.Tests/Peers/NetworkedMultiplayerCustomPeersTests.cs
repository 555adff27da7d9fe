using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>AddPeer/RemovePeer/HasPeer/GetPeers/DisconnectPeer and the ordering of peer events with packets.</summary>
public class NetworkedMultiplayerCustomPeersTests
{
    [Fact]
    public void AddPeer_WhenConnected_RaisesPeerConnectedAtPoll()
    {
        var peer = CustomPeers.Connected(1);
        var log = new PeerEventLog(peer);

        peer.AddPeer(5);
        var beforePoll = log.Entries.Count;
        peer.Poll();

        Assert.Equal(0, beforePoll);
        Assert.Equal(["connected 5"], log.Entries);
        Assert.True(peer.HasPeer(5));
    }

    [Fact]
    public void RemovePeer_KnownPeer_RaisesPeerDisconnectedAtPoll()
    {
        var peer = CustomPeers.Connected(1, 5);
        var log = new PeerEventLog(peer);

        peer.RemovePeer(5);
        peer.Poll();

        Assert.Equal(["disconnected 5"], log.Entries);
        Assert.False(peer.HasPeer(5));
    }

    [Fact]
    public void AddPeer_SameIdTwice_ThrowsInvalidOperation()
    {
        var peer = CustomPeers.Connected(1, 5);

        var e = Assert.Throws<InvalidOperationException>(() => peer.AddPeer(5));

        Assert.Contains("already connected", e.Message);
    }

    [Fact]
    public void AddPeer_OwnId_ThrowsInvalidOperation()
    {
        var peer = CustomPeers.Connected(7);

        var e = Assert.Throws<InvalidOperationException>(() => peer.AddPeer(7));

        Assert.Contains("own id", e.Message);
    }

    [Fact]
    public void AddPeer_WhileDisconnected_ThrowsInvalidOperation()
    {
        var peer = new NetworkedMultiplayerCustom();

        var e = Assert.Throws<InvalidOperationException>(() => peer.AddPeer(1));

        Assert.Contains("while Disconnected", e.Message);
    }

    [Fact]
    public void AddPeer_WhileConnecting_IsAllowed()
    {
        var peer = CustomPeers.Connecting();

        peer.AddPeer(1);

        Assert.True(peer.HasPeer(1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void AddPeer_IdBelowOne_ThrowsArgumentOutOfRange(int id)
    {
        var peer = CustomPeers.Connected(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.AddPeer(id));
    }

    [Fact]
    public void RemovePeer_UnknownPeer_ThrowsInvalidOperation()
    {
        var peer = CustomPeers.Connected(1);

        var e = Assert.Throws<InvalidOperationException>(() => peer.RemovePeer(5));

        Assert.Contains("not connected", e.Message);
    }

    [Fact]
    public void TryAddPeer_Duplicate_ReturnsFalseWithoutSecondEvent()
    {
        var peer = CustomPeers.Connected(1, 5);
        var log = new PeerEventLog(peer);

        var added = peer.TryAddPeer(5);
        peer.Poll();

        Assert.False(added);
        Assert.Empty(log.Entries);
    }

    [Fact]
    public void TryRemovePeer_UnknownPeer_ReturnsFalse()
    {
        var peer = CustomPeers.Connected(1);

        Assert.False(peer.TryRemovePeer(5));
        Assert.False(peer.TryRemovePeer(-5));
    }

    [Fact]
    public void GetPeers_AfterAddsAndRemoves_ListsConnectedPeersAscending()
    {
        var peer = CustomPeers.Connected(1, 30, 10, 20);

        peer.RemovePeer(20);

        Assert.Equal([10, 30], peer.GetPeers());
    }

    [Fact]
    public void AddPeer_PacketsAndRemovePeer_AreRaisedInTheOrderTheyHappened()
    {
        var peer = CustomPeers.Connected(1);
        var log = new PeerEventLog(peer);

        peer.AddPeer(5);
        peer.DeliverPacket([1], 5);
        peer.AddPeer(6);
        peer.DeliverPacket([2], 6);
        peer.DeliverPacket([3], 5);
        peer.RemovePeer(5);

        Assert.Equal(["connected 5", "packet 5 [1]", "connected 6", "packet 6 [2]", "packet 5 [3]", "disconnected 5"], log.Drain());
    }

    [Fact]
    public void GetPacketPeer_WithEventsBeforeThePacket_RaisesThemFirst()
    {
        var peer = CustomPeers.Connected(1);
        var log = new PeerEventLog(peer);
        peer.AddPeer(5);
        peer.DeliverPacket([1], 5);

        var from = peer.GetPacketPeer();

        Assert.Equal(5, from);
        Assert.Equal(["connected 5"], log.Entries);
    }

    [Fact]
    public void DeliverPacket_AfterRemovePeer_IsRejectedAsUnknownPeer()
    {
        var peer = CustomPeers.Connected(1, 5);
        peer.RemovePeer(5);

        var result = peer.DeliverPacket([1], 5);

        Assert.Equal(PacketRejectReason.UnknownPeer, result.RejectReason);
    }

    [Fact]
    public void DeliverPacket_WhileConnectingFromAddedPeer_IsAccepted()
    {
        var peer = CustomPeers.Connecting();
        peer.AddPeer(1);

        var result = peer.DeliverPacket([1], 1);

        Assert.True(result.IsAccepted);
    }

    // Godot attributes packets that arrive while connecting to peer 1 (with an error); GdNet accepts them only from
    // peers announced with AddPeer.
    [Fact]
    public void DeliverPacket_WhileConnectingFromUnannouncedPeer_IsRejectedAsUnknownPeer()
    {
        var peer = CustomPeers.Connecting();

        var result = peer.DeliverPacket([1], 1);

        Assert.Equal(PacketRejectReason.UnknownPeer, result.RejectReason);
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    [Fact]
    public void DisconnectPeer_KnownPeer_RaisesPeerDisconnectRequestedAndKeepsThePeer()
    {
        var peer = CustomPeers.Connected(1, 5);
        var requested = new List<int>();
        peer.PeerDisconnectRequested += requested.Add;

        var raised = peer.DisconnectPeer(5);

        Assert.True(raised);
        Assert.Equal([5], requested);
        Assert.True(peer.HasPeer(5));
    }

    [Fact]
    public void DisconnectPeer_UnknownPeer_ReturnsFalseWithoutEvent()
    {
        var peer = CustomPeers.Connected(1, 5);
        var requested = new List<int>();
        peer.PeerDisconnectRequested += requested.Add;

        Assert.False(peer.DisconnectPeer(6));
        Assert.Empty(requested);
    }

    [Fact]
    public void DisconnectPeer_NoTransportListening_ReturnsFalse()
    {
        var peer = CustomPeers.Connected(1, 5);

        Assert.False(peer.DisconnectPeer(5));
    }

    [Fact]
    public void Poll_WithPollingHandler_RaisesPollingBeforeQueuedEvents()
    {
        var peer = CustomPeers.Connected(1);
        var log = new PeerEventLog(peer);
        peer.Polling += () =>
        {
            log.Entries.Add("polling");
            if (!peer.HasPeer(5))
            {
                peer.AddPeer(5);
            }
        };

        peer.Poll();

        Assert.Equal(["polling", "connected 5"], log.Entries);
    }
}
