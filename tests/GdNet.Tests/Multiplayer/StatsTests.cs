using GdNet.Multiplayer;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class StatsTests
{
    [Fact]
    public void FirstCall_Sender_CountsHandshakeAndCallBytesPerPeerNodeAndTotal()
    {
        using var s = new Session();
        s.ClearLogs();
        s.Client.Api.ResetStats();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Echo), 7, "hi");

        var bytes = s.Client.Sent.Sum(p => p.Bytes.Length); // SIMPLIFY_PATH + full-path call
        var stats = s.Client.Api.GetStats();
        Assert.Equal(2, s.Client.Sent.Count);
        Assert.Equal((1L, 2L, (long)bytes), (stats.Peers[1].RpcOut, stats.Peers[1].PacketsOut, stats.Peers[1].BytesOut));
        Assert.Equal((1L, 2L, (long)bytes), (stats.Nodes["Main/Lobby"].RpcOut, stats.Nodes["Main/Lobby"].PacketsOut, stats.Nodes["Main/Lobby"].BytesOut));
        Assert.Equal((1L, 2L, (long)bytes), (stats.Total.RpcOut, stats.Total.PacketsOut, stats.Total.BytesOut));
    }

    [Fact]
    public void FirstCall_Receiver_CountsEveryPacketAndTheReply()
    {
        using var s = new Session();
        s.ClearLogs();
        s.Server.Api.ResetStats();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Echo), 7, "hi");
        s.Pump();

        var inBytes = s.Client.Sent.Sum(p => p.Bytes.Length);
        var stats = s.Server.Api.GetStats();
        var fromClient = stats.Peers[s.Client.Id];
        Assert.Equal((1L, 2L, (long)inBytes), (fromClient.RpcIn, fromClient.PacketsIn, fromClient.BytesIn));
        Assert.Equal((1L, (long)s.Server.Sent.Single().Bytes.Length), (fromClient.PacketsOut, fromClient.BytesOut)); // CONFIRM_PATH
        Assert.Equal(1L, stats.Nodes["Main/Lobby"].RpcIn);
    }

    [Fact]
    public void Broadcast_AllConfirmed_OnePacketCountedForEachPeer()
    {
        using var s = new Session(clients: 2);
        s.Server.Lobby.Rpc(nameof(TestLobby.Ping));
        s.Pump();
        s.ClearLogs();
        s.Server.Api.ResetStats();

        s.Server.Lobby.Rpc(nameof(TestLobby.Ping));

        var stats = s.Server.Api.GetStats();
        var size = (long)s.Server.Sent.Single().Bytes.Length;
        Assert.Equal((1L, size), (stats.Total.PacketsOut, stats.Total.BytesOut));
        Assert.All(s.Clients, c => Assert.Equal((1L, 1L, size), (stats.Peers[c.Id].RpcOut, stats.Peers[c.Id].PacketsOut, stats.Peers[c.Id].BytesOut)));
    }

    [Fact]
    public void Rset_CountedAsRset()
    {
        using var s = new Session();
        s.Client.Api.ResetStats();
        s.Server.Api.ResetStats();

        s.Client.Lobby.RsetId(1, nameof(TestLobby.Score), 3);
        s.Pump();

        Assert.Equal((1L, 0L), (s.Client.Api.GetStats().Total.RsetOut, s.Client.Api.GetStats().Total.RpcOut));
        Assert.Equal(1L, s.Server.Api.GetStats().Nodes["Main/Lobby"].RsetIn);
    }

    [Fact]
    public void Raw_CountedAsPacketsNotCalls()
    {
        using var s = new Session();
        s.Client.Api.ResetStats();

        s.Client.Api.SendBytes([1, 2, 3], 1);

        var total = s.Client.Api.GetStats().Total;
        Assert.Equal((1L, 4L, 0L), (total.PacketsOut, total.BytesOut, total.RpcOut));
    }

    [Fact]
    public void ResetStats_Counters_Zero()
    {
        using var s = new Session();
        s.Client.Lobby.RpcId(1, nameof(TestLobby.Ping));

        s.Client.Api.ResetStats();

        var stats = s.Client.Api.GetStats();
        Assert.Equal((0L, 0L), (stats.Total.PacketsOut, stats.Total.RpcOut));
        Assert.Empty(stats.Peers);
        Assert.Empty(stats.Nodes);
    }

    [Fact]
    public void NodeStats_AfterReset_CountAgain()
    {
        using var s = new Session();
        s.Client.Lobby.RpcId(1, nameof(TestLobby.Ping));
        s.Client.Api.ResetStats();

        s.Client.Lobby.RpcId(1, nameof(TestLobby.Ping));

        Assert.Equal(1L, s.Client.Api.GetStats().Nodes["Main/Lobby"].RpcOut);
    }
}
