using GdNet.Multiplayer;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class NodeTests
{
    private static (Node Root, Node Main, Node Lobby) Tree()
    {
        var root = new Node { Name = "root" };
        var main = new Node { Name = "Main" };
        var lobby = new Node { Name = "Lobby" };
        root.AddChild(main);
        main.AddChild(lobby);
        return (root, main, lobby);
    }

    [Fact]
    public void Name_Default_IsTypeName()
    {
        Assert.Equal("Node", new Node().Name);
    }

    [Fact]
    public void GetPath_Nested_IsAbsoluteFromTop()
    {
        var (_, _, lobby) = Tree();

        Assert.Equal("/root/Main/Lobby", lobby.GetPath().ToString());
    }

    [Fact]
    public void GetNode_RelativePath_FindsDescendant()
    {
        var (root, _, lobby) = Tree();

        Assert.Same(lobby, root.GetNode("Main/Lobby"));
    }

    [Fact]
    public void GetNode_AbsolutePath_FindsFromTop()
    {
        var (_, main, lobby) = Tree();

        Assert.Same(main, lobby.GetNode("/root/Main"));
    }

    [Fact]
    public void GetNode_DotDot_FindsParent()
    {
        var (_, main, lobby) = Tree();

        Assert.Same(main, lobby.GetNode(".."));
    }

    [Fact]
    public void GetNode_Subnames_Ignored()
    {
        var (root, _, lobby) = Tree();

        Assert.Same(lobby, root.GetNode("Main/Lobby:position:x"));
    }

    [Fact]
    public void GetNode_Missing_ThrowsWithPath()
    {
        var (root, _, _) = Tree();

        var ex = Assert.Throws<InvalidOperationException>(() => root.GetNode("Main/Nope"));

        Assert.Contains("Main/Nope", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetNodeOrNull_Missing_ReturnsNull()
    {
        var (root, _, _) = Tree();

        Assert.Null(root.GetNodeOrNull("Main/Nope"));
    }

    [Fact]
    public void GetNodeT_WrongType_ThrowsInvalidCast()
    {
        var (root, _, _) = Tree();

        Assert.Throws<InvalidCastException>(() => root.GetNode<TestLobby>("Main/Lobby"));
    }

    [Theory]
    [InlineData("Main/Lobby", "Lobby")]
    [InlineData("./Main/Lobby", "Lobby")]
    [InlineData("Main/../Main", "Main")]
    [InlineData("/root/Main", "Main")]
    [InlineData("/root", "root")]
    [InlineData("Main/Lobby:prop", "Lobby")]
    [InlineData("Main//Lobby", "Lobby")]
    public void ResolvePath_Received_FindsNode(string path, string expected)
    {
        var (root, _, _) = Tree();

        Assert.Equal(expected, root.ResolvePath(path)?.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Nope")]
    [InlineData("/other/Main")]
    [InlineData("Main/Lobby/Deeper")]
    public void ResolvePath_Unknown_ReturnsNull(string path)
    {
        var (root, _, _) = Tree();

        Assert.Null(root.ResolvePath(path));
    }

    [Fact]
    public void AddChild_TakenName_RenamesLegibly()
    {
        var (_, main, _) = Tree();
        var second = new Node { Name = "Lobby" };

        main.AddChild(second);

        Assert.Equal("Lobby2", second.Name);
    }

    [Fact]
    public void AddChild_TakenNumberedName_IncrementsNumber()
    {
        var (_, main, _) = Tree();
        main.AddChild(new Node { Name = "Lobby2" });
        var third = new Node { Name = "Lobby2" };

        main.AddChild(third);

        Assert.Equal("Lobby3", third.Name);
    }

    [Fact]
    public void AddChild_AlreadyParented_Throws()
    {
        var (root, _, lobby) = Tree();

        Assert.Throws<InvalidOperationException>(() => root.AddChild(lobby));
    }

    [Fact]
    public void AddChild_Ancestor_Throws()
    {
        var (root, _, lobby) = Tree();

        Assert.Throws<InvalidOperationException>(() => lobby.AddChild(root));
    }

    [Fact]
    public void RemoveChild_Child_Detaches()
    {
        var (root, main, _) = Tree();

        root.RemoveChild(main);

        Assert.Null(main.GetParent());
        Assert.Null(root.GetNodeOrNull("Main"));
    }

    [Fact]
    public void RemoveChild_NotAChild_Throws()
    {
        var (root, _, lobby) = Tree();

        Assert.Throws<InvalidOperationException>(() => root.RemoveChild(lobby));
    }

    [Fact]
    public void Name_Renamed_ChangesLookup()
    {
        var (root, _, lobby) = Tree();

        lobby.Name = "Hall";

        Assert.Same(lobby, root.GetNode("Main/Hall"));
        Assert.Null(root.GetNodeOrNull("Main/Lobby"));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a:b")]
    [InlineData("a.b")]
    [InlineData("..")]
    [InlineData("")]
    public void Name_Invalid_Throws(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => new Node { Name = name });
    }

    [Fact]
    public void GetPathTo_Sibling_UsesDotDot()
    {
        var (root, main, lobby) = Tree();
        var other = new Node { Name = "Other" };
        root.AddChild(other);

        Assert.Equal("../../Other", lobby.GetPathTo(other).ToString());
        Assert.Equal("Lobby", main.GetPathTo(lobby).ToString());
    }

    [Fact]
    public void GetChildren_Order_IsInsertionOrder()
    {
        var root = new Node();
        root.AddChild(new Node { Name = "B" });
        root.AddChild(new Node { Name = "A" });

        Assert.Equal(["B", "A"], root.GetChildren().Select(c => c.Name));
    }

    [Fact]
    public void NetworkMaster_Default_IsServer()
    {
        Assert.Equal(1, new Node().GetNetworkMaster());
    }

    [Fact]
    public void SetNetworkMaster_Recursive_SetsCurrentDescendants()
    {
        var (_, main, lobby) = Tree();

        main.SetNetworkMaster(7);

        Assert.Equal((7, 7), (main.GetNetworkMaster(), lobby.GetNetworkMaster()));
    }

    [Fact]
    public void SetNetworkMaster_ChildAddedLater_KeepsDefault()
    {
        var (_, main, _) = Tree();
        main.SetNetworkMaster(7);
        var later = new Node();

        main.AddChild(later);

        Assert.Equal(1, later.GetNetworkMaster());
    }

    [Fact]
    public void SetNetworkMaster_NotRecursive_LeavesChildren()
    {
        var (_, main, lobby) = Tree();

        main.SetNetworkMaster(7, recursive: false);

        Assert.Equal((7, 1), (main.GetNetworkMaster(), lobby.GetNetworkMaster()));
    }

    [Fact]
    public void Multiplayer_UnderApiRoot_FindsApi()
    {
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);

        Assert.Same(api, main.Multiplayer);
        Assert.True(main.IsInsideTree());
    }

    [Fact]
    public void Multiplayer_Detached_IsNull()
    {
        Assert.Null(new Node().Multiplayer);
    }

    [Fact]
    public void Rpc_NotInTree_ReturnsUnconfigured()
    {
        Assert.Equal(Error.Unconfigured, new TestLobby().Rpc(nameof(TestLobby.Ping)));
    }

    [Fact]
    public void Rpc_TooManyArguments_Throws()
    {
        var args = new Variant[256];

        Assert.Throws<ArgumentException>(() => new TestLobby().Rpc(nameof(TestLobby.Ping), args));
    }

    [Fact]
    public void IsNetworkMaster_NoApi_False()
    {
        Assert.False(new Node().IsNetworkMaster());
    }

    [Fact]
    public void RootNode_SharedBetweenApis_Throws()
    {
        var a = new MultiplayerAPI();
        var b = new MultiplayerAPI();

        Assert.Throws<InvalidOperationException>(() => b.RootNode = a.RootNode);
    }
}
