using GdNet.Multiplayer;
using GdNet.Peers;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// Issue 13 §4: the tree version is per tree, not per process. An edit invalidates the path caches (send slots and
/// cached received paths) of the tree it touches — both trees when a subtree moves — and of no other.
/// </summary>
public class TreeVersionTests
{
    private const int Peer7 = 7;

    private static byte[] PingVia(uint target) => [0, .. BitConverter.GetBytes(target), .. "Ping\0\0"u8];

    /// <summary>A server machine with peer 7 connected.</summary>
    private static (NetworkedMultiplayerCustom Peer, Machine Machine) ServerWithPeer7()
    {
        var (peer, machine) = Machine.StandaloneServer();
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        return (peer, machine);
    }

    /// <summary>Peer 7 announces Main/Lobby as cache id 1, then calls Ping through that id once.</summary>
    private static void WarmReceiveCache(NetworkedMultiplayerCustom peer, Machine machine)
    {
        peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), Peer7); // SIMPLIFY_PATH 1 Main/Lobby
        peer.DeliverPacket(PingVia(1), Peer7);
        machine.Api.Poll();
    }

    [Fact]
    public void TreeVersion_NodesOfOneTree_Share()
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        var lobby = new Node { Name = "Lobby" };
        api.RootNode.AddChild(main);
        main.AddChild(lobby);

        Assert.Equal(api.RootNode.TreeVersion, main.TreeVersion);
        Assert.Equal(api.RootNode.TreeVersion, lobby.TreeVersion);
    }

    [Fact]
    public void TreeVersion_EditInSameTree_Changes()
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        var versions = new List<long> { api.RootNode.TreeVersion };

        api.RootNode.AddChild(main);
        versions.Add(api.RootNode.TreeVersion);
        main.Name = "Game";
        versions.Add(api.RootNode.TreeVersion);
        var lobby = new Node { Name = "Lobby" };
        main.AddChild(lobby);
        versions.Add(api.RootNode.TreeVersion);
        main.RemoveChild(lobby);
        versions.Add(api.RootNode.TreeVersion);

        Assert.Equal(versions.Count, versions.Distinct().Count());
    }

    [Fact]
    public void TreeVersion_EditInAnotherTree_Unchanged()
    {
        var a = new MultiplayerAPI();
        var b = new MultiplayerAPI();
        var aMain = new Node { Name = "Main" };
        a.RootNode.AddChild(aMain);
        var before = (a.RootNode.TreeVersion, aMain.TreeVersion);

        var bMain = new Node { Name = "Main" };
        b.RootNode.AddChild(bMain);
        bMain.Name = "Game";
        var lobby = new Node { Name = "Lobby" };
        bMain.AddChild(lobby);
        bMain.RemoveChild(lobby);
        lobby.Name = "Elsewhere";
        b.RootNode = lobby;

        Assert.Equal(before, (a.RootNode.TreeVersion, aMain.TreeVersion));
    }

    [Fact]
    public void TreeVersion_SubtreeMovedBetweenTrees_BothChange()
    {
        var a = new MultiplayerAPI();
        var b = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        var lobby = new Node { Name = "Lobby" };
        a.RootNode.AddChild(main);
        main.AddChild(lobby);
        var aBefore = a.RootNode.TreeVersion;
        var bBefore = b.RootNode.TreeVersion;

        a.RootNode.RemoveChild(main);
        var detached = main.TreeVersion;
        b.RootNode.AddChild(main);

        Assert.NotEqual(aBefore, a.RootNode.TreeVersion);
        Assert.NotEqual(bBefore, b.RootNode.TreeVersion);
        Assert.NotEqual(aBefore, detached);
        Assert.NotEqual(detached, main.TreeVersion);
        Assert.Equal(b.RootNode.TreeVersion, main.TreeVersion);
        Assert.Equal(b.RootNode.TreeVersion, lobby.TreeVersion);
    }

    [Fact]
    public void TreeVersion_DetachedSubtree_IsItsOwnTree()
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        var lobby = new Node { Name = "Lobby" };
        api.RootNode.AddChild(main);
        main.AddChild(lobby);
        api.RootNode.RemoveChild(main);
        var rootVersion = api.RootNode.TreeVersion;
        var subtreeVersion = main.TreeVersion;

        lobby.Name = "Hall";

        Assert.Equal(rootVersion, api.RootNode.TreeVersion);
        Assert.NotEqual(subtreeVersion, main.TreeVersion);
        Assert.Equal(main.TreeVersion, lobby.TreeVersion);
    }

    [Fact]
    public void TreeVersion_RootNodeSet_ChangesOldAndNewTree()
    {
        var api = new MultiplayerAPI();
        var oldRoot = api.RootNode;
        var other = new Node { Name = "Other" };
        other.AddChild(new Node { Name = "Main" });
        var before = (oldRoot.TreeVersion, other.TreeVersion);

        api.RootNode = other;

        Assert.NotEqual(before.Item1, oldRoot.TreeVersion);
        Assert.NotEqual(before.Item2, other.TreeVersion);
    }

    [Fact]
    public void SendSlot_EditInAnotherApisTree_StillHits()
    {
        var (_, a) = ServerWithPeer7();
        var (_, b) = ServerWithPeer7();
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        Assert.Equal(1, a.Api.SendPathLookups);

        b.Main.AddChild(new Node { Name = "Extra" });
        b.Lobby.Name = "Hall";
        b.Main.RemoveChild(b.Main.GetNode("Extra"));
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));

        Assert.Equal(1, a.Api.SendPathLookups);
    }

    [Fact]
    public void SendSlot_EditInSameTree_Misses()
    {
        var (_, a) = ServerWithPeer7();
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        Assert.Equal(1, a.Api.SendPathLookups);

        a.Main.AddChild(new Node { Name = "Extra" });
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));

        Assert.Equal(2, a.Api.SendPathLookups);
    }

    [Fact]
    public void SendSlot_NodeRenamed_SendsNewPath()
    {
        var (_, a) = ServerWithPeer7();
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        a.Sent.Clear();

        a.Lobby.Name = "Hall";
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));

        // A new path: offered (SIMPLIFY_PATH "Main/Hall") before the call.
        Assert.Equal((byte)2, a.Sent[0].Bytes[0]);
        Assert.Contains("Main/Hall", System.Text.Encoding.UTF8.GetString(a.Sent[0].Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void ReceiveCache_EditInAnotherApisTree_StillHits()
    {
        var (peerA, a) = ServerWithPeer7();
        var (_, b) = ServerWithPeer7();
        WarmReceiveCache(peerA, a);
        Assert.Equal(1, a.Api.ReceivePathLookups);

        b.Main.AddChild(new Node { Name = "Extra" });
        b.Lobby.Name = "Hall";
        peerA.DeliverPacket(PingVia(1), Peer7);
        a.Api.Poll();

        Assert.Equal(1, a.Api.ReceivePathLookups);
        Assert.Equal(["Ping from 7", "Ping from 7"], a.TestLobby.Calls);
    }

    [Fact]
    public void ReceiveCache_EditInSameTree_ResolvesAgain()
    {
        var (peerA, a) = ServerWithPeer7();
        WarmReceiveCache(peerA, a);

        a.Main.AddChild(new Node { Name = "Extra" });
        peerA.DeliverPacket(PingVia(1), Peer7);
        a.Api.Poll();

        Assert.Equal(2, a.Api.ReceivePathLookups);
        Assert.Equal(["Ping from 7", "Ping from 7"], a.TestLobby.Calls);
    }

    [Fact]
    public void Caches_SubtreeMovedBetweenTrees_BothInvalidated()
    {
        var (peerA, a) = ServerWithPeer7();
        var (peerB, b) = ServerWithPeer7();
        WarmReceiveCache(peerA, a);
        WarmReceiveCache(peerB, b);
        a.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        b.Lobby.RpcId(Peer7, nameof(TestLobby.Ping));
        var lobbyA = a.TestLobby;
        lobbyA.Calls.Clear();

        // a's Lobby moves under b's Main, where "Lobby" is taken: it becomes Main/Lobby2 of b's tree.
        a.Main.RemoveChild(lobbyA);
        b.Main.AddChild(lobbyA);
        peerA.DeliverPacket(PingVia(1), Peer7);
        a.Api.Poll();
        peerB.DeliverPacket(PingVia(1), Peer7);
        b.Api.Poll();
        b.Sent.Clear();
        lobbyA.RpcId(Peer7, nameof(TestLobby.Ping));

        // a: its cached Main/Lobby is gone; b: resolved again, still its own Lobby; the moved node sends b's new path.
        Assert.Equal((2, 2), (a.Api.ReceivePathLookups, b.Api.ReceivePathLookups));
        Assert.Equal(RpcRejectReason.NodeNotFound, Assert.Single(a.Rejections).Reason);
        Assert.Empty(lobbyA.Calls);
        Assert.Equal(2, ((TestLobby)b.Lobby).Calls.Count(c => c == "Ping from 7"));
        Assert.Same(b.Api, lobbyA.Multiplayer);
        Assert.Equal(2, b.Api.SendPathLookups);
        Assert.Contains("Main/Lobby2", System.Text.Encoding.UTF8.GetString(b.Sent[0].Bytes), StringComparison.Ordinal);
    }
}
