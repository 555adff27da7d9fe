using GdNet.Multiplayer;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class RpcTypeInfoTests
{
    public class Base : Node
    {
        public List<string> Log { get; } = [];

        [Remote]
        public virtual void Hit(int n) => Log.Add($"Base.Hit({n})");

        [Puppet]
        private void Secret() => Log.Add("Secret");
    }

    public class Derived : Base
    {
        public override void Hit(int n) => Log.Add($"Derived.Hit({n})");
    }

    public class BadParameter : Node
    {
        [Remote]
        public void Take(Stream s) => s.Dispose();
    }

    public class ByRef : Node
    {
        [Remote]
        public void Take(ref int n) => n++;
    }

    public class DuplicateWireName : Node
    {
        [Remote(Name = "x")]
        public void A()
        {
        }

        [Remote(Name = "x")]
        public void B()
        {
        }
    }

    public class ReadonlyField : Node
    {
        [Remote]
        public readonly int Value;
    }

    public class Overloads : Node
    {
        public void Go()
        {
        }

        public void Go(int n) => _ = n;
    }

    private static RpcMember Method<T>(string name) => RpcTypeInfo.For(typeof(T)).FindMethod(name)!;

    [Fact]
    public void FindMethod_AttributeMode_IsDeclaredMode()
    {
        Assert.Equal(RpcMode.PuppetSync, Method<TestLobby>(nameof(TestLobby.DoPuppetSync)).Mode);
    }

    [Fact]
    public void FindMethod_WireName_FromAttribute()
    {
        var info = RpcTypeInfo.For(typeof(TestLobby));

        Assert.Same(info.FindMethod("welcome"), info.FindMethod(nameof(TestLobby.Welcome)));
        Assert.Null(info.FindMethodByWireName(nameof(TestLobby.Welcome)));
        Assert.NotNull(info.FindMethodByWireName("welcome"));
    }

    public sealed class Plain : Node
    {
        public void NotAnRpc()
        {
        }
    }

    [Fact]
    public void FindMethod_NoAttribute_NotFound()
    {
        // (TestLobby's table may have gained NotAnRpc from another test's RpcConfig: tables are per type.)
        Assert.Null(RpcTypeInfo.For(typeof(Plain)).FindMethod(nameof(Plain.NotAnRpc)));
    }

    [Fact]
    public void FindProperty_FieldAndProperty_Found()
    {
        var info = RpcTypeInfo.For(typeof(TestLobby));

        Assert.Equal(RpcMode.RemoteSync, info.FindProperty(nameof(TestLobby.Position))!.Mode);
        Assert.Equal(RpcMode.Puppet, info.FindPropertyByWireName("motd")!.Mode);
    }

    [Fact]
    public void Invoke_TypedArguments_CallsHandler()
    {
        var lobby = new TestLobby();
        Variant[] args = [7, "hi"];

        var bad = Method<TestLobby>(nameof(TestLobby.Echo)).Invoke!(lobby, args, 2);

        Assert.Equal(-1, bad);
        Assert.Equal(["Echo(7,hi) from "], lobby.Calls);
    }

    [Fact]
    public void Invoke_WrongType_ReturnsIndexWithoutCalling()
    {
        var lobby = new TestLobby();
        Variant[] args = [7, 8];

        var bad = Method<TestLobby>(nameof(TestLobby.Echo)).Invoke!(lobby, args, 2);

        Assert.Equal(1, bad);
        Assert.Empty(lobby.Calls);
    }

    [Fact]
    public void Invoke_OptionalOmitted_UsesDefault()
    {
        var lobby = new TestLobby();
        var member = Method<TestLobby>(nameof(TestLobby.Optional));

        member.Invoke!(lobby, [3], 1);

        Assert.Equal((1, 2), (member.RequiredCount, member.ParameterCount));
        Assert.Equal(["Optional(3,5) from "], lobby.Calls);
    }

    [Fact]
    public void Set_Property_ConvertsAndAssigns()
    {
        var lobby = new TestLobby();

        var ok = RpcTypeInfo.For(typeof(TestLobby)).FindProperty(nameof(TestLobby.Score))!.Set!(lobby, 2.0);

        Assert.True(ok);
        Assert.Equal(2, lobby.Score);
    }

    [Fact]
    public void Set_WrongType_ReturnsFalse()
    {
        var lobby = new TestLobby();

        Assert.False(RpcTypeInfo.For(typeof(TestLobby)).FindProperty("motd")!.Set!(lobby, 5));
    }

    [Fact]
    public void Override_InheritsAttribute_CallsOverride()
    {
        var node = new Derived();

        Method<Derived>(nameof(Base.Hit)).Invoke!(node, [4], 1);

        Assert.Equal(["Derived.Hit(4)"], node.Log);
    }

    [Fact]
    public void PrivateBaseMember_Attributed_Found()
    {
        Assert.Equal(RpcMode.Puppet, Method<Derived>("Secret").Mode);
    }

    [Fact]
    public void For_UnsupportedParameter_ThrowsNamingIt()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new BadParameter());

        Assert.Contains("Stream", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void For_ByRefParameter_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => RpcTypeInfo.For(typeof(ByRef)));
    }

    [Fact]
    public void For_DuplicateWireName_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => RpcTypeInfo.For(typeof(DuplicateWireName)));
    }

    [Fact]
    public void For_ReadonlyField_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => RpcTypeInfo.For(typeof(ReadonlyField)));
    }

    [Fact]
    public void RpcConfig_UnattributedMethod_BecomesCallable()
    {
        var lobby = new TestLobby();

        lobby.RpcConfig(nameof(TestLobby.NotAnRpc), RpcMode.Remote);

        Assert.Equal(RpcMode.Remote, lobby.GetRpcMode(nameof(TestLobby.NotAnRpc)));
        Assert.NotNull(lobby.TypeInfo.FindMethodByWireName(nameof(TestLobby.NotAnRpc)));
    }

    [Fact]
    public void RpcConfig_Disabled_RemovesOverride()
    {
        var lobby = new TestLobby();
        lobby.RpcConfig(nameof(TestLobby.DoRemote), RpcMode.Master);

        lobby.RpcConfig(nameof(TestLobby.DoRemote), RpcMode.Disabled);

        Assert.Equal(RpcMode.Remote, lobby.GetRpcMode(nameof(TestLobby.DoRemote)));
    }

    [Fact]
    public void RpcConfig_OtherInstance_Unaffected()
    {
        var a = new TestLobby();
        var b = new TestLobby();

        a.RpcConfig(nameof(TestLobby.DoRemote), RpcMode.Puppet);

        Assert.Equal(RpcMode.Remote, b.GetRpcMode(nameof(TestLobby.DoRemote)));
    }

    [Fact]
    public void RpcConfig_UnknownMethod_Throws()
    {
        Assert.Throws<ArgumentException>(() => new TestLobby().RpcConfig("nope", RpcMode.Remote));
    }

    [Fact]
    public void RpcConfig_Overloads_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Overloads().RpcConfig(nameof(Overloads.Go), RpcMode.Remote));
    }

    [Fact]
    public void RpcConfig_UndefinedMode_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TestLobby().RpcConfig(nameof(TestLobby.Ping), (RpcMode)9));
    }

    [Fact]
    public void RsetConfig_UnattributedProperty_BecomesSettable()
    {
        var lobby = new TestLobby();

        lobby.RsetConfig(nameof(TestLobby.Hidden), RpcMode.Remote);

        Assert.Equal(RpcMode.Remote, lobby.GetRsetMode(nameof(TestLobby.Hidden)));
    }
}
