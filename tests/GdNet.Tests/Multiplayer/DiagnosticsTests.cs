using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// Calls that return an error say why, in words with what to do: <c>LastErrorMessage</c> on the API and on the peer, and
/// a rate-limited warning in the log; a name that is not an RPC member gets its near match.
/// </summary>
public sealed class DiagnosticsTests
{
    public sealed class Greeter : Node
    {
        [Remote]
        public void Welcome(string name)
        {
        }

        [Remote]
        public void SendMessage(string text)
        {
        }

        [Remote]
        public int Score { get; set; }
    }

    private static (MultiplayerAPI Api, Node Node, ListLogger Log) Tree(Node? node = null)
    {
        var log = new ListLogger();
        var api = new MultiplayerAPI((ILoggerFactory)log);
        node ??= new Greeter();
        node.Name = "Lobby";
        var main = new Node { Name = "Main" };
        api.RootNode.AddChild(main);
        main.AddChild(node);
        return (api, node, log);
    }

    // A connected server peer (id 1) under the API; packets it generates go to onPacket.
    private static NetworkedMultiplayerCustom ServerOn(MultiplayerAPI api, Action? onPacket = null)
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.PacketGenerated += (_, _, _) => onPacket?.Invoke();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        peer.Initialize(1);
        api.NetworkPeer = peer;
        return peer;
    }

    [Fact]
    public void Rpc_NoNetworkPeer_UnconfiguredWithReasonAndWarning()
    {
        var (api, node, log) = Tree();

        Assert.Equal(Error.Unconfigured, node.Rpc(nameof(Greeter.Welcome), "ann"));

        Assert.Contains("no network peer is set; assign NetworkPeer first", api.LastErrorMessage, StringComparison.Ordinal);
        var warning = Assert.Single(log.At(LogLevel.Warning));
        Assert.Contains("rpc 'Welcome' on Main/Lobby failed with Unconfigured", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_PeerStillConnecting_SaysItsStatus()
    {
        var (api, node, _) = Tree();
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        api.NetworkPeer = peer;

        Assert.Equal(Error.Unconfigured, node.Rpc(nameof(Greeter.Welcome), "ann"));

        Assert.Contains("the network peer is Connecting, not Connected", api.LastErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void SendBytes_Empty_InvalidDataWithReason()
    {
        var (api, _, _) = Tree();

        Assert.Equal(Error.InvalidData, api.SendBytes(ReadOnlySpan<byte>.Empty));

        Assert.Contains("a RAW packet needs at least one", api.LastErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_AfterAFailure_SuccessClearsTheMessage()
    {
        var (api, node, _) = Tree();
        Assert.Equal(Error.Unconfigured, node.Rpc(nameof(Greeter.Welcome), "ann"));
        var peer = ServerOn(api);

        Assert.Equal(Error.Ok, node.Rpc(nameof(Greeter.Welcome), "ann"));

        Assert.Null(api.LastErrorMessage);
    }

    [Fact]
    public void Rpc_FailingInALoop_WarningsAreRateLimitedAndSaySoLater()
    {
        var (api, node, log) = Tree();

        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(Error.Unconfigured, node.Rpc(nameof(Greeter.Welcome), "ann"));
        }

        // Ten lines a second: the loop may straddle one second boundary, never two of them.
        var warnings = log.At(LogLevel.Warning);
        Assert.InRange(warnings.Count, LogRateLimiter.DefaultLinesPerSecond, 2 * LogRateLimiter.DefaultLinesPerSecond);
        Assert.NotNull(api.LastErrorMessage);
    }

    [Fact]
    public void RpcId_ToAPeerThatIsNotConnected_SaysHowToTarget()
    {
        var (api, node, _) = Tree();
        var peer = ServerOn(api);

        Assert.Equal(Error.DoesNotExist, node.RpcId(42, nameof(Greeter.Welcome), "ann"));

        Assert.Contains("peer 42 is not connected; target a connected peer", api.LastErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("welcome", "Welcome")]
    [InlineData("send_message", "SendMessage")]
    [InlineData("SendMesage", "SendMessage")]
    public void Rpc_NameThatIsNotAnRpc_WarnsWithTheNearMatchAndStillSends(string called, string near)
    {
        var (api, node, log) = Tree();
        var sent = 0;
        var peer = ServerOn(api, () => sent++);
        peer.AddPeer(2);
        api.Poll();

        Assert.Equal(Error.Ok, node.Rpc(called, "ann"));

        Assert.True(sent > 0, "sent anyway: the remote side decides, as in Godot");
        var warning = Assert.Single(log.At(LogLevel.Warning));
        Assert.Contains($"'{called}' is not an RPC of Main/Lobby; did you mean '{near}'?", warning, StringComparison.Ordinal);
        Assert.Contains($"[Remote(Name = \"{called}\")]", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_NameFarFromEveryMember_WarnsWithoutAGuess()
    {
        var (api, node, log) = Tree();
        var peer = ServerOn(api);

        Assert.Equal(Error.Ok, node.Rpc("teleport"));

        var warning = Assert.Single(log.At(LogLevel.Warning));
        Assert.Contains("'teleport' is not an RPC of Main/Lobby; it is sent anyway", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("did you mean", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Receive_CallToANearName_RejectionSuggestsTheMember()
    {
        var (server, serverMachine) = Machine.StandaloneServer();
        var rejection = default(RpcRejection);
        serverMachine.Api.RpcRejected += r => rejection = r;
        server.AddPeer(7);
        serverMachine.Api.Poll();
        var lobby = new Greeter { Name = "Greeter" };
        serverMachine.Main.AddChild(lobby);

        // A GDScript peer calling rpc("welcome", "ann") on Main/Greeter: full path, name "welcome", one argument.
        server.DeliverPacket(RejectionTests.Call("welcome", [GdNet.Variants.Variant.From("ann")], "Main/Greeter"), 7);
        serverMachine.Api.Poll();

        Assert.NotNull(rejection);
        Assert.Equal((RpcRejectReason.NotExposed, "Welcome"), (rejection!.Reason, rejection.Suggestion));
        Assert.Contains("did you mean 'Welcome'?", rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Rset_NameThatIsNotAProperty_SuggestsTheProperty()
    {
        var (api, node, log) = Tree();
        var peer = ServerOn(api);

        Assert.Equal(Error.Ok, node.Rset("score", 3));

        Assert.Contains("'score' is not an rset property of Main/Lobby; did you mean 'Score'?", Assert.Single(log.At(LogLevel.Warning)), StringComparison.Ordinal);
    }

    [Fact]
    public void CustomPeer_PutPacketFailures_SayWhyOnThePeer()
    {
        var log = new ListLogger();
        var peer = new NetworkedMultiplayerCustom { Logger = log };

        Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));
        Assert.Contains("nothing handles PacketGenerated", peer.LastErrorMessage, StringComparison.Ordinal);

        peer.PacketGenerated += (_, _, _) => { };
        Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));
        Assert.Contains("the peer is Disconnected; call Initialize", peer.LastErrorMessage, StringComparison.Ordinal);

        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        peer.Initialize(1);
        peer.SetMaxPacketSize(4);
        Assert.Equal(Error.ParameterRangeError, peer.PutPacket(new byte[5]));
        Assert.Contains("5 bytes, over the maximum packet size of 4", peer.LastErrorMessage, StringComparison.Ordinal);

        Assert.Equal(Error.Ok, peer.PutPacket([1]));
        Assert.Null(peer.LastErrorMessage);
        Assert.Equal(3, log.At(LogLevel.Warning).Count);
    }

    [Fact]
    public void GdNetLogging_FactorySetOnce_NewApisAndPeersLogThroughIt()
    {
        var log = new ListLogger();
        var before = GdNetLogging.LoggerFactory;
        GdNetLogging.LoggerFactory = log;
        try
        {
            var api = new MultiplayerAPI();
            var peer = new NetworkedMultiplayerCustom();
            var node = new Node { Name = "Solo" };
            api.RootNode.AddChild(node);

            Assert.Equal(Error.Unconfigured, node.Rpc("x"));
            Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));

            // Other tests may create objects at the same time and log here too: look for these two lines.
            Assert.Contains(log.At(LogLevel.Warning), l => l.Contains("rpc 'x' on Solo failed", StringComparison.Ordinal));
            Assert.Contains(log.At(LogLevel.Warning), l => l.Contains("nothing handles PacketGenerated", StringComparison.Ordinal));
        }
        finally
        {
            GdNetLogging.LoggerFactory = before;
        }
    }
}
