using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>
/// Every sentence of Godot's NetworkedMultiplayerCustom documentation (3.5 class reference), one test each, named after
/// the sentence it proves. The quoted sentence stands above each test.
/// </summary>
public class NetworkedMultiplayerCustomDocTests
{
    // Class: "A NetworkedMultiplayerPeer implementation that can be used as a MultiplayerAPI.network_peer ..."
    [Fact]
    public void Class_UsedThroughNetworkedMultiplayerPeer_SendsAndReceivesLikeAnyNetworkPeer()
    {
        NetworkedMultiplayerPeer peer = CustomPeers.Connected(5, 1);
        var sent = new List<(int Target, byte[] Bytes, TransferModeEnum Mode)>();
        ((NetworkedMultiplayerCustom)peer).PacketGenerated += (to, bytes, mode) => sent.Add((to, bytes.ToArray(), mode));
        ((NetworkedMultiplayerCustom)peer).DeliverPacket([9, 8], 1);

        peer.SetTargetPeer(NetworkedMultiplayerPeer.TargetPeerServer);
        peer.TransferMode = TransferModeEnum.Unreliable;
        peer.PutPacket([1, 2, 3]);

        Assert.Equal((1, TransferModeEnum.Unreliable), (sent[0].Target, sent[0].Mode));
        Assert.Equal([1, 2, 3], sent[0].Bytes);
        Assert.Equal(ConnectionStatus.Connected, peer.GetConnectionStatus());
        Assert.Equal(1, peer.GetPacketPeer());
        Assert.Equal([9, 8], peer.GetPacket());
    }

    // Class: "... and controlled from a script. Its purpose is to allow adding a new backend for the high-level
    // multiplayer API without needing to use GDNative."
    [Fact]
    public void Class_TwoPeersWiredByUserCode_FormABackendWithoutNativeCode()
    {
        var server = CustomPeers.Connected(1, 7);
        var client = CustomPeers.Connected(7, 1);
        server.PacketGenerated += (to, bytes, _) => client.DeliverPacket(bytes, 1);
        client.PacketGenerated += (to, bytes, _) => server.DeliverPacket(bytes, 7);

        client.SetTargetPeer(1);
        client.PutPacket([42]);
        server.SetTargetPeer(7);
        server.PutPacket([43]);

        Assert.Equal(7, server.GetPacketPeer());
        Assert.Equal([42], server.GetPacket());
        Assert.Equal(1, client.GetPacketPeer());
        Assert.Equal([43], client.GetPacket());
    }

    // packet_generated: "Emitted when the local MultiplayerAPI generates a packet."
    [Fact]
    public void PacketGenerated_WhenPutPacketIsCalled_IsRaisedSynchronouslyWithThePacket()
    {
        var peer = CustomPeers.Connected(1, 3);
        byte[]? seen = null;
        peer.PacketGenerated += (_, bytes, _) => seen = bytes.ToArray();

        var error = peer.PutPacket([5, 6, 7]);

        Assert.Equal(Error.Ok, error);
        Assert.Equal([5, 6, 7], seen);
    }

    // packet_generated: "Your script should take this packet and send it to the requested peer over the network ..."
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(-3)]
    public void PacketGenerated_AfterSetTargetPeer_ReportsTheRequestedPeer(int target)
    {
        var peer = CustomPeers.Connected(1, 3, 4);
        var seen = int.MaxValue;
        peer.PacketGenerated += (to, _, _) => seen = to;

        peer.SetTargetPeer(target);
        peer.PutPacket([1]);

        Assert.Equal(target, seen);
    }

    // packet_generated: "... (which should call deliver_packet with the data when it's received)."
    [Fact]
    public void PacketGenerated_DataPassedToDeliverPacketOnTheReceiver_ArrivesUnchanged()
    {
        var sender = CustomPeers.Connected(9, 1);
        var receiver = CustomPeers.Connected(1, 9);
        sender.PacketGenerated += (_, bytes, _) => receiver.DeliverPacket(bytes, sender.GetUniqueId());
        var payload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();

        sender.PutPacket(payload);

        Assert.Equal(payload, receiver.GetPacket());
    }

    // deliver_packet: "Deliver a packet to the local MultiplayerAPI."
    [Fact]
    public void DeliverPacket_FromConnectedPeer_QueuesItForReading()
    {
        var peer = CustomPeers.Connected(1, 12);

        var result = peer.DeliverPacket([1, 2], 12);

        Assert.True(result.IsAccepted);
        Assert.Equal(1, peer.AvailablePacketCount);
        Assert.Equal(12, peer.GetPacketPeer());
        Assert.Equal([1, 2], peer.GetPacket());
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    // deliver_packet: "When your script receives a packet from other peers over the network (originating from the
    // packet_generated signal on the sending peer), passing it to this method will deliver it locally."
    [Fact]
    public void DeliverPacket_PacketsFromSeveralPeers_AreReadInArrivalOrderWithTheirSenders()
    {
        var peer = CustomPeers.Connected(1, 2, 3);
        peer.DeliverPacket([20], 2);
        peer.DeliverPacket([30], 3);
        peer.DeliverPacket([21], 2);

        var log = new PeerEventLog(peer).Drain();

        Assert.Equal(["packet 2 [20]", "packet 3 [30]", "packet 2 [21]"], log);
    }

    // initialize: "Initialize the peer with the given peer_id ..."
    [Fact]
    public void Initialize_WhileConnecting_SetsTheUniqueId()
    {
        var peer = CustomPeers.Connecting();

        peer.Initialize(123456);

        Assert.Equal(123456, peer.GetUniqueId());
        Assert.Equal(ConnectionStatus.Connecting, peer.GetConnectionStatus());
    }

    // initialize: "... (must be between 1 and 2147483647)."
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Initialize_IdOutside1To2147483647_ThrowsArgumentOutOfRange(int id)
    {
        var peer = CustomPeers.Connecting();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => peer.Initialize(id));

        Assert.Contains("between 1 and 2147483647", e.Message);
        Assert.Equal(0, peer.GetUniqueId());
    }

    // initialize: "... (must be between 1 and 2147483647)." — both ends are valid.
    [Theory]
    [InlineData(2)]
    [InlineData(int.MaxValue)]
    public void Initialize_IdAtEitherEndOfTheRange_IsAccepted(int id)
    {
        var peer = CustomPeers.Connecting();

        peer.Initialize(id);

        Assert.Equal(id, peer.GetUniqueId());
    }

    // initialize: "Can only be called if the connection status is CONNECTION_CONNECTING."
    [Fact]
    public void Initialize_WhileDisconnected_ThrowsInvalidOperationSayingToConnectFirst()
    {
        var peer = new NetworkedMultiplayerCustom();

        var e = Assert.Throws<InvalidOperationException>(() => peer.Initialize(5));

        Assert.Contains("SetConnectionStatus(ConnectionStatus.Connecting)", e.Message);
    }

    // initialize: "Can only be called if the connection status is CONNECTION_CONNECTING."
    [Fact]
    public void Initialize_WhileConnected_ThrowsInvalidOperation()
    {
        var peer = CustomPeers.Connected(5);

        var e = Assert.Throws<InvalidOperationException>(() => peer.Initialize(6));

        Assert.Contains("only be called while the connection status is Connecting", e.Message);
        Assert.Equal(5, peer.GetUniqueId());
    }

    // set_connection_status: "Set the state of the connection."
    [Fact]
    public void SetConnectionStatus_EachAllowedStep_IsReportedByGetConnectionStatus()
    {
        var peer = new NetworkedMultiplayerCustom();
        var seen = new List<ConnectionStatus> { peer.GetConnectionStatus() };

        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        seen.Add(peer.GetConnectionStatus());
        peer.Initialize(8);
        peer.SetConnectionStatus(ConnectionStatus.Connected);
        seen.Add(peer.GetConnectionStatus());
        peer.SetConnectionStatus(ConnectionStatus.Disconnected);
        seen.Add(peer.GetConnectionStatus());

        Assert.Equal([ConnectionStatus.Disconnected, ConnectionStatus.Connecting, ConnectionStatus.Connected, ConnectionStatus.Disconnected], seen);
    }

    // set_connection_status: "This will emit the connection_succeeded ... signals depending on the status ..."
    [Fact]
    public void SetConnectionStatus_ConnectingToConnected_RaisesConnectionSucceeded()
    {
        var peer = CustomPeers.Connecting();
        peer.Initialize(8);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Connected);

        Assert.Equal(["succeeded"], log.Entries);
    }

    // set_connection_status: "This will emit the ... connection_failed ... signals depending on the status and if the
    // peer has the unique network id of 1."
    [Fact]
    public void SetConnectionStatus_ClientConnectingToDisconnected_RaisesConnectionFailed()
    {
        var peer = CustomPeers.Connecting();
        peer.Initialize(8);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        Assert.Equal(["failed"], log.Entries);
    }

    // set_connection_status: "This will emit the ... server_disconnected signals depending on the status and if the
    // peer has the unique network id of 1."
    [Fact]
    public void SetConnectionStatus_ClientConnectedToDisconnected_RaisesServerDisconnected()
    {
        var peer = CustomPeers.Connected(8, 1);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        Assert.Equal(["server disconnected"], log.Entries);
    }

    // set_connection_status: "... and if the peer has the unique network id of 1." — the server raises nothing.
    [Fact]
    public void SetConnectionStatus_ServerConnectedToDisconnected_RaisesNothing()
    {
        var peer = CustomPeers.Connected(1, 8);
        var log = new PeerEventLog(peer);

        peer.SetConnectionStatus(ConnectionStatus.Disconnected);

        Assert.Empty(log.Entries);
        Assert.Equal(ConnectionStatus.Disconnected, peer.GetConnectionStatus());
    }

    // set_connection_status: "You can only change to CONNECTION_CONNECTING from CONNECTION_DISCONNECTED ..."
    [Fact]
    public void SetConnectionStatus_ConnectedToConnecting_ThrowsInvalidOperationListingAllowedTransitions()
    {
        var peer = CustomPeers.Connected(8);

        var e = Assert.Throws<InvalidOperationException>(() => peer.SetConnectionStatus(ConnectionStatus.Connecting));

        Assert.Contains("from Connected to Connecting", e.Message);
        Assert.Contains("Allowed: Disconnected → Connecting, Connecting → Connected", e.Message);
        Assert.Equal(ConnectionStatus.Connected, peer.GetConnectionStatus());
    }

    // set_connection_status: "... and to CONNECTION_CONNECTED from CONNECTION_CONNECTING."
    [Fact]
    public void SetConnectionStatus_DisconnectedToConnected_ThrowsInvalidOperationListingAllowedTransitions()
    {
        var peer = new NetworkedMultiplayerCustom();

        var e = Assert.Throws<InvalidOperationException>(() => peer.SetConnectionStatus(ConnectionStatus.Connected));

        Assert.Contains("from Disconnected to Connected", e.Message);
        Assert.Contains("Allowed:", e.Message);
        Assert.Equal(ConnectionStatus.Disconnected, peer.GetConnectionStatus());
    }

    // set_max_packet_size: "Set the max packet size that this peer can handle."
    [Fact]
    public void SetMaxPacketSize_Value_IsReportedByGetMaxPacketSize()
    {
        var peer = new NetworkedMultiplayerCustom();

        peer.SetMaxPacketSize(1200);

        Assert.Equal(1200, peer.GetMaxPacketSize());
    }

    // set_max_packet_size: "... that this peer can handle." — GdNet enforces it on incoming packets.
    [Fact]
    public void SetMaxPacketSize_IncomingPacketOneByteLarger_IsRejectedAsTooLarge()
    {
        var peer = CustomPeers.Connected(1, 2);
        peer.SetMaxPacketSize(4);

        var atLimit = peer.DeliverPacket(new byte[4], 2);
        var over = peer.DeliverPacket(new byte[5], 2);

        Assert.True(atLimit.IsAccepted);
        Assert.Equal(PacketRejectReason.TooLarge, over.RejectReason);
    }

    // set_max_packet_size: "... that this peer can handle." — and on outgoing ones.
    [Fact]
    public void SetMaxPacketSize_OutgoingPacketOneByteLarger_IsRefusedWithParameterRangeError()
    {
        var peer = CustomPeers.Connected(1, 2);
        var raised = 0;
        peer.PacketGenerated += (_, _, _) => raised++;
        peer.SetMaxPacketSize(4);

        var atLimit = peer.PutPacket(new byte[4]);
        var over = peer.PutPacket(new byte[5]);

        Assert.Equal((Error.Ok, Error.ParameterRangeError, 1), (atLimit, over, raised));
    }
}
