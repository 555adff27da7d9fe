using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>Defaults and the connection state machine (spec §4.1–4.2), with GdNet's stricter checks.</summary>
public class NetworkedMultiplayerCustomStateTests
{
    [Fact]
    public void Constructor_Defaults_MatchGodot()
    {
        var peer = new NetworkedMultiplayerCustom();

        Assert.Equal(16 * 1024 * 1024, peer.GetMaxPacketSize());
        Assert.Equal(TransferModeEnum.Reliable, peer.TransferMode);
        Assert.Equal(ConnectionStatus.Disconnected, peer.GetConnectionStatus());
        Assert.Equal(0, peer.GetUniqueId());
        Assert.Equal(0, peer.TargetPeer);
        Assert.False(peer.RefuseNewConnections);
        Assert.False(peer.IsServer());
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    [Fact]
    public void Constants_TargetsAndEnums_HaveGodotValues()
    {
        Assert.Equal((0, 1), (NetworkedMultiplayerPeer.TargetPeerBroadcast, NetworkedMultiplayerPeer.TargetPeerServer));
        Assert.Equal((0, 1, 2), ((int)TransferModeEnum.Unreliable, (int)TransferModeEnum.UnreliableOrdered, (int)TransferModeEnum.Reliable));
        Assert.Equal((0, 1, 2), ((int)ConnectionStatus.Disconnected, (int)ConnectionStatus.Connecting, (int)ConnectionStatus.Connected));
    }

    [Fact]
    public void Initialize_WithId1_MakesTheServerAndConnectsAtOnceRaisingConnectionSucceeded()
    {
        var peer = CustomPeers.Connecting();
        var log = new PeerEventLog(peer);

        peer.Initialize(1);

        Assert.True(peer.IsServer());
        Assert.Equal(ConnectionStatus.Connected, peer.GetConnectionStatus());
        Assert.Equal(["succeeded"], log.Entries);
    }

    [Fact]
    public void Initialize_WithOtherId_StaysConnectingWithoutEvents()
    {
        var peer = CustomPeers.Connecting();
        var log = new PeerEventLog(peer);

        peer.Initialize(2);

        Assert.False(peer.IsServer());
        Assert.Equal(ConnectionStatus.Connecting, peer.GetConnectionStatus());
        Assert.Empty(log.Entries);
    }

    [Fact]
    public void Initialize_CalledTwiceWhileConnecting_KeepsTheLastId()
    {
        var peer = CustomPeers.Connecting();

        peer.Initialize(2);
        peer.Initialize(3);

        Assert.Equal(3, peer.GetUniqueId());
    }

    [Fact]
    public void Initialize_IdOfAnAddedPeer_ThrowsInvalidOperation()
    {
        var peer = CustomPeers.Connecting();
        peer.AddPeer(1);

        var e = Assert.Throws<InvalidOperationException>(() => peer.Initialize(1));

        Assert.Contains("RemovePeer(1)", e.Message);
    }

    [Theory]
    [InlineData(ConnectionStatus.Disconnected)]
    [InlineData(ConnectionStatus.Connecting)]
    [InlineData(ConnectionStatus.Connected)]
    public void SetConnectionStatus_SameStatus_DoesNothing(ConnectionStatus status)
    {
        var peer = status switch
        {
            ConnectionStatus.Disconnected => new NetworkedMultiplayerCustom(),
            ConnectionStatus.Connecting => CustomPeers.Connecting(),
            _ => CustomPeers.Connected(4, 1),
        };
        peer.DeliverPacket([1], 1);
        var log = new PeerEventLog(peer);
        var (id, count) = (peer.GetUniqueId(), peer.AvailablePacketCount);

        peer.SetConnectionStatus(status);

        Assert.Empty(log.Entries);
        Assert.Equal((status, id, count), (peer.GetConnectionStatus(), peer.GetUniqueId(), peer.AvailablePacketCount));
    }

    // The full 3×3 matrix for a client (id 4): what is allowed, what it raises.
    [Theory]
    [InlineData(ConnectionStatus.Disconnected, ConnectionStatus.Connecting, "ok")]
    [InlineData(ConnectionStatus.Disconnected, ConnectionStatus.Connected, "throws")]
    [InlineData(ConnectionStatus.Connecting, ConnectionStatus.Connected, "succeeded")]
    [InlineData(ConnectionStatus.Connecting, ConnectionStatus.Disconnected, "failed")]
    [InlineData(ConnectionStatus.Connected, ConnectionStatus.Connecting, "throws")]
    [InlineData(ConnectionStatus.Connected, ConnectionStatus.Disconnected, "server disconnected")]
    public void SetConnectionStatus_ClientTransition_IsAllowedOrThrowsAsDocumented(ConnectionStatus from, ConnectionStatus to, string expected)
    {
        var peer = ClientIn(from);
        var log = new PeerEventLog(peer);

        if (expected == "throws")
        {
            Assert.Throws<InvalidOperationException>(() => peer.SetConnectionStatus(to));
            Assert.Equal(from, peer.GetConnectionStatus());
            Assert.Empty(log.Entries);
            return;
        }

        peer.SetConnectionStatus(to);
        Assert.Equal(to, peer.GetConnectionStatus());
        Assert.Equal(expected == "ok" ? [] : new[] { expected }, log.Entries);
    }

    [Fact]
    public void SetConnectionStatus_ServerDisconnectedThenConnectingAgain_RaisesNothing()
    {
        var peer = CustomPeers.Connected(1);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);
        peer.SetConnectionStatus(ConnectionStatus.Connecting);

        Assert.Empty(log.Entries);
    }

    [Fact]
    public void SetConnectionStatus_ConnectedBeforeInitialize_ThrowsInvalidOperationSayingToInitialize()
    {
        var peer = CustomPeers.Connecting();

        var e = Assert.Throws<InvalidOperationException>(() => peer.SetConnectionStatus(ConnectionStatus.Connected));

        Assert.Contains("Initialize", e.Message);
        Assert.Equal(ConnectionStatus.Connecting, peer.GetConnectionStatus());
    }

    [Fact]
    public void SetConnectionStatus_UndefinedValue_ThrowsArgumentOutOfRange()
    {
        var peer = new NetworkedMultiplayerCustom();

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.SetConnectionStatus((ConnectionStatus)3));
    }

    [Fact]
    public void SetConnectionStatus_ConnectingAgainAfterDisconnect_StartsANewSessionWithoutIdPeersOrPackets()
    {
        var peer = CustomPeers.Connected(4, 1);
        peer.DeliverPacket([1], 1);
        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        peer.SetConnectionStatus(ConnectionStatus.Connecting);

        Assert.Equal((0, 0), (peer.GetUniqueId(), peer.AvailablePacketCount));
        Assert.Empty(peer.GetPeers());
    }

    [Fact]
    public void SetConnectionStatus_Disconnected_KeepsQueuedPacketsReadable()
    {
        var peer = CustomPeers.Connected(4, 1);
        peer.DeliverPacket([7], 1);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        Assert.Equal(1, peer.GetPacketPeer());
        Assert.Equal([7], peer.GetPacket());
    }

    [Fact]
    public void SetConnectionStatus_Disconnected_ForgetsPeersWithoutPeerDisconnected()
    {
        var peer = CustomPeers.Connected(4, 1, 9);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);
        peer.Poll();

        Assert.Empty(peer.GetPeers());
        Assert.Equal(["server disconnected"], log.Entries);
    }

    [Fact]
    public void SetConnectionStatus_ConnectedAfterAddPeer_RaisesPeerConnectedBeforeConnectionSucceeded()
    {
        var peer = CustomPeers.Connecting();
        peer.Initialize(4);
        var log = new PeerEventLog(peer);
        peer.AddPeer(1);

        peer.SetConnectionStatus(ConnectionStatus.Connected);

        Assert.Equal(["connected 1", "succeeded"], log.Entries);
    }

    [Fact]
    public void Close_WhenConnected_DisconnectsWithoutEvents()
    {
        var peer = CustomPeers.Connected(4, 1);
        var log = new PeerEventLog(peer);

        peer.Close();
        peer.Poll();

        Assert.Equal(ConnectionStatus.Disconnected, peer.GetConnectionStatus());
        Assert.Empty(peer.GetPeers());
        Assert.Empty(log.Entries);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2147483647, false)]
    public void IsServer_Id_IsTrueOnlyForId1(int id, bool expected)
    {
        var peer = CustomPeers.Connected(id);

        Assert.Equal(expected, peer.IsServer());
    }

    [Fact]
    public void TransferMode_UndefinedValue_ThrowsArgumentOutOfRange()
    {
        var peer = new NetworkedMultiplayerCustom();

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.TransferMode = (TransferModeEnum)3);
        Assert.Equal(TransferModeEnum.Reliable, peer.TransferMode);
    }

    [Fact]
    public void SetTargetPeer_IntMinValue_ThrowsArgumentOutOfRange()
    {
        var peer = new NetworkedMultiplayerCustom();

        Assert.Throws<ArgumentOutOfRangeException>(() => peer.SetTargetPeer(int.MinValue));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void SetMaxPacketSize_BelowOne_ThrowsArgumentOutOfRange(int size)
    {
        var peer = new NetworkedMultiplayerCustom();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => peer.SetMaxPacketSize(size));

        Assert.Contains("at least 1", e.Message);
        Assert.Equal(NetworkedMultiplayerCustom.DefaultMaxPacketSize, peer.GetMaxPacketSize());
    }

    [Fact]
    public void RefuseNewConnections_Set_IsStored()
    {
        var peer = new NetworkedMultiplayerCustom { RefuseNewConnections = true };

        Assert.True(peer.RefuseNewConnections);
    }

    private static NetworkedMultiplayerCustom ClientIn(ConnectionStatus status)
    {
        var peer = new NetworkedMultiplayerCustom();
        if (status == ConnectionStatus.Disconnected)
        {
            return peer;
        }

        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        peer.Initialize(4);
        if (status == ConnectionStatus.Connected)
        {
            peer.SetConnectionStatus(ConnectionStatus.Connected);
        }

        return peer;
    }
}
