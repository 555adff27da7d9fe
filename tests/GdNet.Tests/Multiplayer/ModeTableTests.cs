using GdNet.Multiplayer;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// Spec §3.6 end to end over LocalNetwork (server 1, clients A and B): a test per cell of the receiving table and of the
/// sending table, and the rpc_id rules.
/// </summary>
public class ModeTableTests
{
    public enum Master
    {
        /// <summary>The receiving (or calling) machine is the node's master.</summary>
        Here,

        /// <summary>The sender is the node's master.</summary>
        Sender,

        /// <summary>Another peer (client B) is the node's master.</summary>
        Third,
    }

    private static string MethodFor(RpcMode mode) => mode switch
    {
        RpcMode.Disabled => nameof(TestLobby.DoDisabled),
        RpcMode.Remote => nameof(TestLobby.DoRemote),
        RpcMode.RemoteSync => nameof(TestLobby.DoRemoteSync),
        RpcMode.Master => nameof(TestLobby.DoMaster),
        RpcMode.MasterSync => nameof(TestLobby.DoMasterSync),
        RpcMode.Puppet => nameof(TestLobby.DoPuppet),
        RpcMode.PuppetSync => nameof(TestLobby.DoPuppetSync),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    private static void SetMaster(Session s, int id)
    {
        foreach (var m in s.All)
        {
            m.Lobby.SetNetworkMaster(id);
        }
    }

    // ---- receiving side: client A calls the server (1) --------------------------------------------------------------

    [Theory]
    [InlineData(RpcMode.Disabled, Master.Here, false)]
    [InlineData(RpcMode.Disabled, Master.Sender, false)]
    [InlineData(RpcMode.Disabled, Master.Third, false)]
    [InlineData(RpcMode.Remote, Master.Here, true)]
    [InlineData(RpcMode.Remote, Master.Sender, true)]
    [InlineData(RpcMode.Remote, Master.Third, true)]
    [InlineData(RpcMode.RemoteSync, Master.Here, true)]
    [InlineData(RpcMode.RemoteSync, Master.Sender, true)]
    [InlineData(RpcMode.RemoteSync, Master.Third, true)]
    [InlineData(RpcMode.Master, Master.Here, true)]
    [InlineData(RpcMode.Master, Master.Sender, false)]
    [InlineData(RpcMode.Master, Master.Third, false)]
    [InlineData(RpcMode.MasterSync, Master.Here, true)]
    [InlineData(RpcMode.MasterSync, Master.Sender, false)]
    [InlineData(RpcMode.MasterSync, Master.Third, false)]
    [InlineData(RpcMode.Puppet, Master.Here, false)]
    [InlineData(RpcMode.Puppet, Master.Sender, true)]
    [InlineData(RpcMode.Puppet, Master.Third, false)]
    [InlineData(RpcMode.PuppetSync, Master.Here, false)]
    [InlineData(RpcMode.PuppetSync, Master.Sender, true)]
    [InlineData(RpcMode.PuppetSync, Master.Third, false)]
    public void Receive_Cell_AcceptedAsSpecTable(RpcMode mode, Master master, bool accepted)
    {
        using var s = new Session(clients: 2);
        var a = s.Clients[0];
        SetMaster(s, master switch { Master.Here => 1, Master.Sender => a.Id, _ => s.Clients[1].Id });
        var method = MethodFor(mode);

        a.Lobby.RpcId(1, method);
        s.Pump();

        if (accepted)
        {
            Assert.Equal([$"{method} from {a.Id}"], s.Server.TestLobby.Calls);
            Assert.Empty(s.Server.Rejections);
        }
        else
        {
            Assert.Empty(s.Server.TestLobby.Calls);
            var rejection = Assert.Single(s.Server.Rejections);
            Assert.Equal(mode == RpcMode.Disabled ? RpcRejectReason.NotExposed : RpcRejectReason.ForbiddenByMode, rejection.Reason);
            Assert.Equal(a.Id, rejection.PeerId);
        }
    }

    [Theory]
    [InlineData(RpcMode.Remote, Master.Third, true)]
    [InlineData(RpcMode.Master, Master.Sender, false)]
    [InlineData(RpcMode.Master, Master.Here, true)]
    [InlineData(RpcMode.Puppet, Master.Sender, true)]
    [InlineData(RpcMode.Puppet, Master.Third, false)]
    public void ReceiveRset_Cell_AcceptedAsSpecTable(RpcMode mode, Master master, bool accepted)
    {
        using var s = new Session(clients: 2);
        var a = s.Clients[0];
        SetMaster(s, master switch { Master.Here => 1, Master.Sender => a.Id, _ => s.Clients[1].Id });
        s.Server.Lobby.RsetConfig(nameof(TestLobby.Hidden), mode);

        a.Lobby.RsetId(1, nameof(TestLobby.Hidden), "set");
        s.Pump();

        Assert.Equal(accepted ? "set" : string.Empty, s.Server.TestLobby.Hidden);
        Assert.Equal(accepted ? 0 : 1, s.Server.Rejections.Count(r => r.Reason == RpcRejectReason.ForbiddenByMode));
    }

    // ---- sending side: client A calls Rpc (target 0) -----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(RpcModeRulesTests.SendTable), MemberType = typeof(RpcModeRulesTests))]
    public void Send_Cell_LocalAndNetworkAsSpecTable(RpcMode mode, bool callerIsMaster, bool local, bool network)
    {
        using var s = new Session(clients: 2);
        var a = s.Clients[0];
        SetMaster(s, callerIsMaster ? a.Id : 1);
        s.ClearLogs();
        var method = MethodFor(mode);

        var result = a.Lobby.Rpc(method);

        Assert.Equal(Error.Ok, result);
        Assert.Equal(local ? [$"{method} from {a.Id}"] : [], a.TestLobby.Calls);
        Assert.Equal(network, a.Sent.Any(p => p.Bytes[0] == 0));
    }

    [Fact]
    public void Send_OverrideGivesNoLocalCall_AttributeStillConsulted()
    {
        // Spec §3.6 "override edge case": rpc_config says remote (no local call), the declared remotesync gives one.
        using var s = new Session();
        s.Client.Lobby.RpcConfig(nameof(TestLobby.DoRemoteSync), RpcMode.Remote);

        s.Client.Lobby.Rpc(nameof(TestLobby.DoRemoteSync));

        Assert.Equal([$"DoRemoteSync from {s.Client.Id}"], s.Client.TestLobby.Calls);
    }

    [Fact]
    public void Receive_OverrideWinsOutright()
    {
        using var s = new Session();
        s.Server.Lobby.RpcConfig(nameof(TestLobby.DoRemote), RpcMode.Puppet);

        s.Client.Lobby.RpcId(1, nameof(TestLobby.DoRemote));
        s.Pump();

        Assert.Equal(RpcRejectReason.ForbiddenByMode, Assert.Single(s.Server.Rejections).Reason);
    }

    [Fact]
    public void Receive_RpcConfigOnUnattributedMethod_Accepted()
    {
        using var s = new Session();
        s.Server.Lobby.RpcConfig(nameof(TestLobby.NotAnRpc), RpcMode.Remote);

        s.Client.Lobby.RpcId(1, nameof(TestLobby.NotAnRpc));
        s.Pump();

        Assert.Equal([$"NotAnRpc from {s.Client.Id}"], s.Server.TestLobby.Calls);
    }

    // ---- rpc_id rules -------------------------------------------------------------------------------------------------

    [Fact]
    public void RpcId_OwnIdWithLocalMode_RunsLocallyWithoutSending()
    {
        using var s = new Session();
        s.ClearLogs();

        var result = s.Client.Lobby.RpcId(s.Client.Id, nameof(TestLobby.DoRemoteSync));

        Assert.Equal(Error.Ok, result);
        Assert.Equal([$"DoRemoteSync from {s.Client.Id}"], s.Client.TestLobby.Calls);
        Assert.Empty(s.Client.Sent);
    }

    [Fact]
    public void RpcId_OwnIdWithoutLocalMode_InvalidParameterAndNothingHappens()
    {
        using var s = new Session();
        s.ClearLogs();

        var result = s.Client.Lobby.RpcId(s.Client.Id, nameof(TestLobby.DoRemote));

        Assert.Equal(Error.InvalidParameter, result);
        Assert.Empty(s.Client.TestLobby.Calls);
        Assert.Empty(s.Client.Sent);
    }

    [Fact]
    public void RpcId_NegativeOwnId_DoesNotExistAndNoLocalCall()
    {
        using var s = new Session();
        s.ClearLogs();

        var result = s.Client.Lobby.RpcId(-s.Client.Id, nameof(TestLobby.DoRemoteSync));

        Assert.Equal(Error.DoesNotExist, result);
        Assert.Empty(s.Client.TestLobby.Calls);
        Assert.Empty(s.Client.Sent);
    }

    [Fact]
    public void RpcId_OtherPeer_NoLocalCall()
    {
        using var s = new Session();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.DoRemoteSync));
        s.Pump();

        Assert.Empty(s.Client.TestLobby.Calls);
        Assert.Single(s.Server.TestLobby.Calls);
    }

    [Fact]
    public void RpcId_NonexistentPeer_DoesNotExistButLocalCallRuns()
    {
        using var s = new Session();
        s.ClearLogs();

        var result = s.Client.Lobby.RpcId(-12345, nameof(TestLobby.DoRemoteSync));

        Assert.Equal(Error.DoesNotExist, result);
        Assert.Equal([$"DoRemoteSync from {s.Client.Id}"], s.Client.TestLobby.Calls);
        Assert.Empty(s.Client.Sent);
    }

    [Fact]
    public void RpcId_NegativeOtherId_ExcludesThatPeerAndRunsLocally()
    {
        using var s = new Session(clients: 2);
        var (a, b) = (s.Clients[0], s.Clients[1]);

        s.Server.Lobby.RpcId(-a.Id, nameof(TestLobby.DoRemoteSync));
        s.Pump();

        Assert.Equal(["DoRemoteSync from 1"], s.Server.TestLobby.Calls);
        Assert.Empty(a.TestLobby.Calls);
        Assert.Equal(["DoRemoteSync from 1"], b.TestLobby.Calls);
    }

    [Fact]
    public void LocalCall_SenderId_IsOwnIdThenZero()
    {
        using var s = new Session();

        s.Client.Lobby.Rpc(nameof(TestLobby.DoRemoteSync));

        Assert.Equal([$"DoRemoteSync from {s.Client.Id}"], s.Client.TestLobby.Calls);
        Assert.Equal(0, s.Client.Api.GetRpcSenderId());
    }

    [Fact]
    public void RsetId_OwnIdWithLocalMode_SetsLocally()
    {
        using var s = new Session();

        var result = s.Client.Lobby.RsetId(s.Client.Id, nameof(TestLobby.Position), new GdNet.Variants.Vector2(1, 1));

        Assert.Equal(Error.Ok, result);
        Assert.Equal(new GdNet.Variants.Vector2(1, 1), s.Client.TestLobby.Position);
    }

    [Fact]
    public void Rpc_LocalCallWithWrongArgumentType_InvalidParameterAndRejection()
    {
        using var s = new Session();
        s.Client.Lobby.RpcConfig(nameof(TestLobby.Echo), RpcMode.RemoteSync);

        var result = s.Client.Lobby.Rpc(nameof(TestLobby.Echo), "not an int", "s");

        Assert.Equal(Error.InvalidParameter, result);
        var rejection = Assert.Single(s.Client.Rejections);
        Assert.Equal((RpcRejectReason.BadArguments, s.Client.Id, 0), (rejection.Reason, rejection.PeerId, rejection.ArgumentIndex));
    }

    [Fact]
    public void Rpc_UndeclaredName_SentAnyway()
    {
        // Godot sends calls for methods the local script does not have (mode disabled: no local call, network send).
        using var s = new Session();
        s.ClearLogs();

        var result = s.Client.Lobby.RpcId(1, "only_on_server");
        s.Pump();

        Assert.Equal(Error.Ok, result);
        Assert.Equal(RpcRejectReason.NotExposed, Assert.Single(s.Server.Rejections).Reason);
    }
}
