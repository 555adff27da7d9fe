using GdNet.Multiplayer;
using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>Connect/disconnect ordering, and the two Godot 3.2.3 bugs not to copy (#41412, #33069).</summary>
public class LifecycleTests
{
    private const int Peer7 = 7;

    private static (NetworkedMultiplayerCustom Peer, Machine Machine) Server() => Machine.StandaloneServer();

    private static byte[] PingVia(uint target) => [0, .. BitConverter.GetBytes(target), .. "Ping\0\0"u8];

    [Fact]
    public void Connect_PacketQueuedWithConnect_EventRunsBeforeHandler()
    {
        // godotengine/godot#41412: an RPC must never run before its sender's connect event.
        var (peer, machine) = Server();
        var order = new List<string>();
        machine.Api.NetworkPeerConnected += id => order.Add($"connected {id}");
        machine.Api.RpcRejected += r => order.Add($"rejected {r.Reason}");
        peer.AddPeer(Peer7);
        peer.DeliverPacket([.. Convert.FromHexString("02010000004d61696e2f4c6f62627900")], Peer7);
        peer.DeliverPacket(PingVia(1), Peer7);
        ((TestLobby)machine.Lobby).Calls.Clear();

        machine.Api.Poll();

        Assert.Equal(["connected 7"], order);
        Assert.Equal(["Ping from 7"], machine.TestLobby.Calls);
    }

    [Fact]
    public void Connect_PacketBeforeConnect_NeverRuns()
    {
        var (peer, machine) = Server();
        var refused = new List<PacketRejection>();
        machine.Api.PacketRejected += refused.Add;

        peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), Peer7);
        machine.Api.Poll();

        Assert.Equal(PacketRejectReason.UnknownPeer, Assert.Single(refused).Reason);
        Assert.Empty(machine.TestLobby.Calls);
    }

    [Fact]
    public void Disconnect_PacketsBeforeIt_RunFirst()
    {
        var (peer, machine) = Server();
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        var order = new List<string>();
        machine.Api.NetworkPeerDisconnected += id => order.Add($"disconnected {id}");
        peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), Peer7);
        peer.DeliverPacket(PingVia(1), Peer7);
        peer.RemovePeer(Peer7);

        machine.Api.Poll();
        machine.Api.Poll();

        Assert.Equal(["Ping from 7"], machine.TestLobby.Calls);
        Assert.Equal(["disconnected 7"], order);
        Assert.Empty(machine.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void PeerReadded_SendCache_OffersPathAgain()
    {
        // godotengine/godot#33069: a peer that comes back must not be sent cached ids it no longer knows.
        var (peer, machine) = Server();
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        machine.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        peer.DeliverPacket(Convert.FromHexString("034d61696e2f4c6f62627900"), Peer7); // CONFIRM_PATH
        machine.Api.Poll();
        peer.RemovePeer(Peer7);
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        machine.Sent.Clear();

        machine.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));

        Assert.Equal(["02010000004d61696e2f4c6f62627900", "000b00008050696e6700004d61696e2f4c6f62627900"], machine.Sent.Select(p => p.Hex));
    }

    [Fact]
    public void PeerReadded_ReceiveCache_Forgotten()
    {
        var (peer, machine) = Server();
        peer.AddPeer(Peer7);
        peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), Peer7);
        machine.Api.Poll();
        peer.RemovePeer(Peer7);
        peer.AddPeer(Peer7);
        peer.DeliverPacket(PingVia(1), Peer7);

        machine.Api.Poll();

        Assert.Equal(RpcRejectReason.UnknownCachedPath, Assert.Single(machine.Rejections).Reason);
    }

    [Fact]
    public void Reconnect_SamePeerObject_StartsWithFreshCaches()
    {
        // A client whose connection dropped reconnects with the same peer object and API: ids restart at 1 and every
        // path is offered again (Godot kept the old caches: #33069).
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var client = new Machine(peer);

        void Connect()
        {
            peer.SetConnectionStatus(ConnectionStatus.Connecting);
            peer.Initialize(55);
            peer.AddPeer(1);
            peer.SetConnectionStatus(ConnectionStatus.Connected);
            client.Api.Poll();
        }

        Connect();
        client.Main.GetNode("Lobby").AddChild(new TestLobby { Name = "Extra" });
        client.Main.GetNode("Lobby/Extra").RpcId(1, nameof(TestLobby.Ping)); // takes id 1
        client.Lobby.RpcId(1, nameof(TestLobby.Ping)); // takes id 2
        peer.DeliverPacket(Convert.FromHexString("034d61696e2f4c6f62627900"), 1);
        client.Api.Poll();
        peer.SetConnectionStatus(ConnectionStatus.Disconnected);
        Assert.Contains("server_disconnected", client.Events);
        Connect();
        client.Sent.Clear();

        client.Lobby.RpcId(1, nameof(TestLobby.Ping));

        Assert.Equal("02010000004d61696e2f4c6f62627900", client.Sent[0].Hex);
        Assert.Equal([1], client.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void ServerDisconnected_ConnectedPeers_Forgotten()
    {
        using var s = new Session();

        s.Network.Disconnect(s.Server.Peer);
        s.Pump();

        Assert.Contains("server_disconnected", s.Client.Events);
        Assert.Empty(s.Client.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void ClientLeaves_ServerAndOtherClient_SeeDisconnect()
    {
        using var s = new Session(clients: 2);
        var (a, b) = (s.Clients[0], s.Clients[1]);

        s.Network.Disconnect(a.Peer);
        s.Pump();

        Assert.Contains($"disconnected {a.Id}", s.Server.Events);
        Assert.Contains($"disconnected {a.Id}", b.Events);
        Assert.Equal([b.Id], s.Server.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void Poll_DisconnectedPeer_DoesNothing()
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var machine = new Machine(peer);
        peer.Close();

        machine.Api.Poll();

        Assert.Empty(machine.Rejections);
    }

    [Fact]
    public void Rpc_AfterServerDisconnected_Unconfigured()
    {
        using var s = new Session();
        s.Network.Disconnect(s.Server.Peer);
        s.Pump();

        Assert.Equal(Error.Unconfigured, s.Client.Lobby.Rpc(nameof(TestLobby.Ping)));
    }

    [Fact]
    public void PeerDisconnectedEvent_UnknownPeer_NotRaised()
    {
        // A disconnect for a peer the API never saw connect is not passed on (Godot would emit it).
        var (peer, machine) = Server();
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        machine.Api.Clear();
        machine.Events.Clear();
        peer.RemovePeer(Peer7);

        machine.Api.Poll();

        Assert.DoesNotContain(machine.Events, e => e.StartsWith("disconnected", StringComparison.Ordinal));
    }
}
