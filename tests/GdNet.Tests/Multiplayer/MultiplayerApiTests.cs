using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class MultiplayerApiTests
{
    [Fact]
    public void Connect_ClientAndServer_SeeEachOther()
    {
        using var s = new Session();

        Assert.Equal([s.Client.Id], s.Server.Api.GetNetworkConnectedPeers());
        Assert.Equal([1], s.Client.Api.GetNetworkConnectedPeers());
        Assert.Equal(["connected 1", "connected_to_server"], s.Client.Events);
        Assert.Equal([$"connected {s.Client.Id}"], s.Server.Events);
    }

    [Fact]
    public void ConnectedToServer_OnServer_NotRaised()
    {
        using var network = new LocalNetwork();
        var peer = new NetworkedMultiplayerCustom();
        var api = new MultiplayerAPI();
        var raised = false;
        api.ConnectedToServer += () => raised = true;
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        api.NetworkPeer = peer;

        peer.Initialize(1);

        Assert.False(raised);
    }

    [Fact]
    public void IsNetworkServer_EachSide_TrueOnlyOnServer()
    {
        using var s = new Session();

        Assert.Equal((true, false), (s.Server.Api.IsNetworkServer(), s.Client.Api.IsNetworkServer()));
    }

    [Fact]
    public void NetworkPeer_Disconnected_Throws()
    {
        var api = new MultiplayerAPI();

        var ex = Assert.Throws<InvalidOperationException>(() => api.NetworkPeer = new NetworkedMultiplayerCustom());

        Assert.Contains("connecting or connected", ex.Message, StringComparison.Ordinal);
        Assert.Null(api.NetworkPeer);
    }

    [Fact]
    public void NetworkPeer_Replaced_ClearsConnectedPeers()
    {
        using var s = new Session();
        var other = new NetworkedMultiplayerCustom();
        other.SetConnectionStatus(ConnectionStatus.Connecting);

        s.Server.Api.NetworkPeer = other;

        Assert.Empty(s.Server.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void NoPeer_Defaults_AreGodots()
    {
        var api = new MultiplayerAPI();

        Assert.Equal((0, false, false, 0), (api.GetNetworkUniqueId(), api.IsNetworkServer(), api.HasNetworkPeer(), api.GetRpcSenderId()));
        Assert.Equal("root", api.RootNode.Name);
    }

    [Fact]
    public void RefuseNewNetworkConnections_NoPeer_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => new MultiplayerAPI().RefuseNewNetworkConnections = true);
    }

    [Fact]
    public void RefuseNewNetworkConnections_Set_ForwardsToPeer()
    {
        using var s = new Session(clients: 0);

        s.Server.Api.RefuseNewNetworkConnections = true;

        Assert.True(s.Server.Peer.RefuseNewConnections);
    }

    [Fact]
    public void Rpc_ClientToServer_RunsHandlerWithSender()
    {
        using var s = new Session();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Echo), 7, "hi");
        s.Pump();

        Assert.Equal([$"Echo(7,hi) from {s.Client.Id}"], s.Server.TestLobby.Calls);
    }

    [Fact]
    public void GetRpcSenderId_OutsideHandler_IsZero()
    {
        using var s = new Session();
        s.Client.Lobby.RpcId(1, nameof(TestLobby.Ping));
        s.Pump();

        Assert.Equal(0, s.Server.Api.GetRpcSenderId());
    }

    [Fact]
    public void Rpc_WireName_CallsAttributedMethod()
    {
        using var s = new Session();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Welcome), 5, "godot");
        s.Pump();

        Assert.Equal([$"welcome(5,godot) from {s.Client.Id}"], s.Server.TestLobby.Calls);
        Assert.Contains(s.Client.Sent, p => p.Hex.Contains(Convert.ToHexStringLower("welcome\0"u8), StringComparison.Ordinal));
    }

    [Fact]
    public void Rpc_Broadcast_FromClient_ReachesOtherClientThroughServer()
    {
        using var s = new Session(clients: 2);

        s.Clients[0].Lobby.Rpc(nameof(TestLobby.Echo), 1, "all");
        s.Pump();

        Assert.Equal([$"Echo(1,all) from {s.Clients[0].Id}"], s.Server.TestLobby.Calls);
        Assert.Equal([$"Echo(1,all) from {s.Clients[0].Id}"], s.Clients[1].TestLobby.Calls);
        Assert.Empty(s.Clients[0].TestLobby.Calls);
    }

    [Fact]
    public void Rpc_OptionalParameter_Omitted_UsesDefault()
    {
        using var s = new Session();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Optional), 3);
        s.Pump();

        Assert.Equal([$"Optional(3,5) from {s.Client.Id}"], s.Server.TestLobby.Calls);
    }

    [Fact]
    public void Rpc_VariantParameter_ReceivesAnyType()
    {
        using var s = new Session();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Any), new Vector2(1, 2));
        s.Pump();

        Assert.Equal([$"Any(Vector2) from {s.Client.Id}"], s.Server.TestLobby.Calls);
    }

    [Fact]
    public void Rset_ClientToServer_SetsProperty()
    {
        using var s = new Session();

        s.Client.Lobby.RsetId(1, nameof(TestLobby.Score), 42);
        s.Pump();

        Assert.Equal(42, s.Server.TestLobby.Score);
    }

    [Fact]
    public void Rset_WireName_SetsProperty()
    {
        using var s = new Session();

        s.Server.Lobby.Rset("motd", "hello");
        s.Pump();

        Assert.Equal("hello", s.Client.TestLobby.Motd);
    }

    [Fact]
    public void Rset_Field_SetsField()
    {
        using var s = new Session();

        s.Client.Lobby.RsetId(1, nameof(TestLobby.Position), new Vector2(3, 4));
        s.Pump();

        Assert.Equal(new Vector2(3, 4), s.Server.TestLobby.Position);
    }

    [Fact]
    public void Rset_RemoteSync_SetsLocallyToo()
    {
        using var s = new Session();

        s.Client.Lobby.Rset(nameof(TestLobby.Position), new Vector2(5, 6));

        Assert.Equal(new Vector2(5, 6), s.Client.TestLobby.Position);
    }

    [Fact]
    public void SendBytes_ToServer_RaisesPacketEventWithoutCommandByte()
    {
        using var s = new Session();

        s.Client.Api.SendBytes([1, 2, 3, 250], 1);
        s.Pump();

        var (from, bytes) = Assert.Single(s.Server.Raw);
        Assert.Equal((s.Client.Id, "010203fa"), (from, Convert.ToHexStringLower(bytes)));
    }

    [Fact]
    public void SendBytes_Mode_PassedToPeer()
    {
        using var s = new Session();

        s.Client.Api.SendBytes([9], 1, TransferModeEnum.UnreliableOrdered);

        var sent = s.Client.Sent[^1];
        Assert.Equal((1, "0409", TransferModeEnum.UnreliableOrdered), (sent.Target, sent.Hex, sent.Mode));
    }

    [Fact]
    public void SendBytes_Empty_InvalidData()
    {
        using var s = new Session();

        Assert.Equal(Error.InvalidData, s.Client.Api.SendBytes([], 1));
    }

    [Fact]
    public void SendBytes_NoPeer_Unconfigured()
    {
        Assert.Equal(Error.Unconfigured, new MultiplayerAPI().SendBytes([1]));
    }

    [Fact]
    public void Rpc_NotConnectedYet_Unconfigured()
    {
        using var network = new LocalNetwork();
        network.CreateServer();
        var machine = new Machine(network.CreateClient());

        Assert.Equal(Error.Unconfigured, machine.Lobby.Rpc(nameof(TestLobby.Ping)));
        Assert.Empty(machine.Sent);
    }

    [Fact]
    public void Rpc_RootNode_Throws()
    {
        using var s = new Session();
        var root = new TestLobby();
        s.Client.Api.RootNode = root;

        Assert.Throws<InvalidOperationException>(() => root.Rpc(nameof(TestLobby.Ping)));
    }

    [Fact]
    public void RootNode_Replaced_PathsRelativeToNewRoot()
    {
        using var s = new Session();
        s.Client.Api.RootNode = s.Client.Main; // the client's "Lobby" is now at "Lobby"
        s.Server.Api.RootNode = s.Server.Main;

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Ping));
        s.Pump();

        Assert.Equal("02010000004c6f62627900", s.Client.Sent[0].Hex);
        Assert.Single(s.Server.TestLobby.Calls);
    }

    [Fact]
    public void Poll_FromHandler_ReportedNotReentrant()
    {
        using var s = new Session(lobbyFactory: () => new ReentrantLobby());
        s.Client.Lobby.RpcId(1, nameof(ReentrantLobby.Again));

        s.Pump();

        var rejection = Assert.Single(s.Server.Rejections);
        Assert.Equal(RpcRejectReason.HandlerThrew, rejection.Reason);
        Assert.IsType<InvalidOperationException>(rejection.Exception);
    }

    public sealed class ReentrantLobby : Node
    {
        [Remote]
        public void Again() => Multiplayer!.Poll();
    }

    [Fact]
    public void EventHandler_Throws_ReportedAndLoopContinues()
    {
        using var network = new LocalNetwork();
        var server = new Machine(network.CreateServer());
        server.Api.NetworkPeerConnected += _ => throw new InvalidOperationException("user bug");
        var client = new Machine(network.CreateClient());
        network.RunUntilIdle(TimeSpan.FromSeconds(1));
        client.Api.Poll();
        client.Lobby.RpcId(1, nameof(TestLobby.Ping));
        network.RunUntilIdle(TimeSpan.FromSeconds(1));

        server.Api.Poll();

        Assert.Equal(RpcRejectReason.HandlerThrew, Assert.Single(server.Rejections).Reason);
        Assert.Single(server.TestLobby.Calls);
    }

    [Fact]
    public void NetworkPeerPacket_HandlerThrows_Reported()
    {
        using var s = new Session();
        s.Server.Api.NetworkPeerPacket += (_, _) => throw new InvalidOperationException("user bug");

        s.Client.Api.SendBytes([1], 1);
        s.Pump();

        Assert.Equal(RpcRejectReason.HandlerThrew, Assert.Single(s.Server.Rejections).Reason);
    }
}
