using GdNet.Peers;
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

    private static (NetworkedMultiplayerCustom Peer, Machine Machine) Server() => Machine.StandaloneServer();

    // SIMPLIFY_PATH Main/Lobby as cache id 1, then Ping through it: two packets from the peer.
    private static void PingFrom(NetworkedMultiplayerCustom peer, int from)
    {
        peer.DeliverPacket(Convert.FromHexString("02010000004d61696e2f4c6f62627900"), from);
        peer.DeliverPacket([0, .. BitConverter.GetBytes(1u), .. "Ping\0\0"u8], from);
    }

    [Fact]
    public void DepartedPeer_AfterRetention_PerPeerCountersForgottenTotalsKept()
    {
        var (peer, machine) = Server();
        machine.Api.DepartedPeerStatsRetention = TimeSpan.Zero;
        peer.AddPeer(7);
        peer.AddPeer(8);
        machine.Api.Poll();
        PingFrom(peer, 7);
        PingFrom(peer, 8);
        machine.Api.Poll();
        Assert.Equal(2L, machine.Api.GetStats().Peers[7].PacketsIn);

        peer.RemovePeer(7);
        machine.Api.Poll(); // the departure is noted, and with zero retention forgotten at once

        var stats = machine.Api.GetStats();
        Assert.False(stats.Peers.ContainsKey(7));
        Assert.Equal(2L, stats.Peers[8].PacketsIn); // still connected: kept
        Assert.Equal(4L, stats.Total.PacketsIn);     // the departed peer's packets stay in the total
        Assert.Equal(2L, stats.Total.RpcIn);
    }

    [Fact]
    public void DepartedPeer_WithinRetention_Kept_AndAReturnCancelsTheForgetting()
    {
        var (peer, machine) = Server();
        peer.AddPeer(7);
        machine.Api.Poll();
        PingFrom(peer, 7);
        peer.RemovePeer(7);
        machine.Api.Poll();
        Assert.Equal(2L, machine.Api.GetStats().Peers[7].PacketsIn); // default retention: a minute

        peer.AddPeer(7);
        machine.Api.Poll();
        machine.Api.DepartedPeerStatsRetention = TimeSpan.Zero;
        machine.Api.Poll(); // the old departure is due, but 7 came back: its counters stay

        Assert.Equal(2L, machine.Api.GetStats().Peers[7].PacketsIn);
    }

    [Fact]
    public async Task LatestStats_SnapshotTakenByPoll_ReadableFromAnotherThread()
    {
        var (peer, machine) = Server();
        Assert.Null(machine.Api.LatestStats);
        machine.Api.StatsSnapshotInterval = TimeSpan.Zero;
        peer.AddPeer(7);
        machine.Api.Poll();
        PingFrom(peer, 7);
        machine.Api.Poll();

        var seen = await Task.Run(() => machine.Api.LatestStats);

        Assert.NotNull(seen);
        var now = machine.Api.GetStats().Total;
        Assert.Equal((now.RpcIn, now.PacketsIn, now.BytesIn, now.PacketsOut, now.BytesOut), (seen.Total.RpcIn, seen.Total.PacketsIn, seen.Total.BytesIn, seen.Total.PacketsOut, seen.Total.BytesOut));
        Assert.Equal(1L, seen.Total.RpcIn);
        Assert.Equal(2L, seen.Peers[7].PacketsIn);
    }

    [Fact]
    public void LatestStats_RefreshedAtMostEveryInterval()
    {
        var (peer, machine) = Server();
        machine.Api.StatsSnapshotInterval = TimeSpan.FromHours(1);
        peer.AddPeer(7);
        machine.Api.Poll();
        var first = machine.Api.LatestStats;
        PingFrom(peer, 7);
        machine.Api.Poll();

        Assert.Same(first, machine.Api.LatestStats); // not due yet
        Assert.Equal(2L, machine.Api.GetStats().Total.PacketsIn);
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Api.StatsSnapshotInterval = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Api.DepartedPeerStatsRetention = TimeSpan.FromSeconds(-1));
    }
}
