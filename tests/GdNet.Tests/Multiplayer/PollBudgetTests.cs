using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>
/// Issue 13 §4: <see cref="MultiplayerAPI.Poll"/> dispatches at most <see cref="MultiplayerAPI.MaxPacketsPerPoll"/>
/// packets; the rest stay queued, in order, with the peer events between them. Deterministic: packets are counted, no clock.
/// </summary>
public class PollBudgetTests
{
    private const int Peer7 = 7;

    /// <summary>A server machine with peer 7 connected; peer events and calls go to one log, in the order they ran.</summary>
    private static (NetworkedMultiplayerCustom Peer, Machine Machine, List<string> Log) Server()
    {
        var (peer, machine) = Machine.StandaloneServer();
        peer.AddPeer(Peer7);
        machine.Api.Poll();
        var log = machine.TestLobby.Calls;
        log.Clear();
        machine.Api.NetworkPeerConnected += id => log.Add($"connected {id}");
        machine.Api.NetworkPeerDisconnected += id => log.Add($"disconnected {id}");
        return (peer, machine, log);
    }

    /// <summary>A full-path REMOTE_CALL of Echo(n, "x") on Main/Lobby.</summary>
    private static byte[] Echo(int n)
    {
        var bytes = new List<byte> { 0, 0, 0, 0, 0 };
        bytes.AddRange("Echo\0"u8.ToArray());
        bytes.Add(2);
        bytes.AddRange(VariantCodec.Encode(n));
        bytes.AddRange(VariantCodec.Encode("x"));
        var offset = bytes.Count;
        bytes.AddRange("Main/Lobby\0"u8.ToArray());
        var packet = bytes.ToArray();
        RpcPacket.WriteTarget(packet, RpcPacket.FullPathFlag | (uint)offset);
        return packet;
    }

    private static string Ran(int n, int from = Peer7) => $"Echo({n},x) from {from}";

    [Fact]
    public void MaxPacketsPerPoll_Default_Is4096()
    {
        var api = new MultiplayerAPI();

        Assert.Equal((4096, 4096), (MultiplayerAPI.DefaultMaxPacketsPerPoll, api.MaxPacketsPerPoll));
        Assert.Equal(Timeout.InfiniteTimeSpan, api.MaxPollDuration);
    }

    [Fact]
    public void Poll_MorePacketsThanBudget_DispatchesBudgetThenRest()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 3;
        for (var i = 0; i < 7; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        machine.Api.Poll();
        var first = log.ToList();
        var leftAfterFirst = peer.AvailablePacketCount;
        machine.Api.Poll();
        var second = log.ToList();
        machine.Api.Poll();

        Assert.Equal([Ran(0), Ran(1), Ran(2)], first);
        Assert.Equal(4, leftAfterFirst);
        Assert.Equal([Ran(0), Ran(1), Ran(2), Ran(3), Ran(4), Ran(5)], second);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => Ran(i)), log);
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    [Fact]
    public void Poll_DefaultBudget_DispatchesExactly4096ThenRest()
    {
        var (peer, machine, log) = Server();
        var total = MultiplayerAPI.DefaultMaxPacketsPerPoll + 5;
        for (var i = 0; i < total; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        machine.Api.Poll();
        var afterFirst = log.Count;
        machine.Api.Poll();

        Assert.Equal(MultiplayerAPI.DefaultMaxPacketsPerPoll, afterFirst);
        Assert.Equal(Enumerable.Range(0, total).Select(i => Ran(i)), log);
    }

    [Fact]
    public void Poll_ExactlyBudgetQueued_AllInOnePoll()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 4;
        for (var i = 0; i < 4; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        machine.Api.Poll();

        Assert.Equal(Enumerable.Range(0, 4).Select(i => Ran(i)), log);
        Assert.Equal(0, peer.AvailablePacketCount);
    }

    [Fact]
    public void Poll_BudgetOfOne_OnePacketPerPoll()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 1;
        for (var i = 0; i < 4; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        var counts = new List<int>();
        for (var p = 0; p < 5; p++)
        {
            machine.Api.Poll();
            counts.Add(log.Count);
        }

        Assert.Equal([1, 2, 3, 4, 4], counts);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => Ran(i)), log);
    }

    [Fact]
    public void Poll_EventsBetweenPackets_KeepTheirOrderAcrossPolls()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 1;
        peer.AddPeer(8);
        peer.DeliverPacket(Echo(0), 8);
        peer.DeliverPacket(Echo(1), Peer7);
        peer.RemovePeer(8);
        peer.DeliverPacket(Echo(2), Peer7);
        peer.AddPeer(9);
        peer.DeliverPacket(Echo(3), 9);
        peer.RemovePeer(9);

        var perPoll = new List<string[]>();
        for (var p = 0; p < 6; p++)
        {
            var before = log.Count;
            machine.Api.Poll();
            perPoll.Add([.. log.Skip(before)]);
        }

        Assert.Equal(
            [
                ["connected 8", Ran(0, 8)],
                [Ran(1)],
                ["disconnected 8", Ran(2)],
                ["connected 9", Ran(3, 9)],
                ["disconnected 9"],
                [],
            ],
            perPoll);
        Assert.Equal([Peer7], machine.Api.GetNetworkConnectedPeers());
        Assert.Empty(machine.Rejections);
    }

    [Fact]
    public void Poll_PeerDisconnectsWithPacketsLeft_LeftPacketsStillRunBeforeSessionEnds()
    {
        // Before the budget, one Poll read everything even when the peer went Disconnected meanwhile; the packets a cut
        // Poll leaves behind must not be lost to the budget.
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 2;
        for (var i = 0; i < 5; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        machine.Api.Poll();
        peer.Close(); // Disconnected, no events; the queue stays readable
        machine.Api.Poll();
        var peersWhileDraining = machine.Api.GetNetworkConnectedPeers();
        machine.Api.Poll();
        machine.Api.Poll();

        Assert.Equal(Enumerable.Range(0, 5).Select(i => Ran(i)), log);
        Assert.Equal([Peer7], peersWhileDraining);
        Assert.Empty(machine.Api.GetNetworkConnectedPeers());
        Assert.Empty(machine.Rejections);
    }

    [Fact]
    public void Poll_PeerReplacedWithPacketsLeft_NewPeerStartsClean()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPacketsPerPoll = 1;
        peer.DeliverPacket(Echo(0), Peer7);
        peer.DeliverPacket(Echo(1), Peer7);
        machine.Api.Poll();
        var other = new NetworkedMultiplayerCustom();
        other.SetConnectionStatus(ConnectionStatus.Connecting);
        machine.Api.NetworkPeer = other;
        other.Close();

        machine.Api.Poll();

        Assert.Equal([Ran(0)], log);
        Assert.Equal(1, peer.AvailablePacketCount);
    }

    [Fact]
    public void Poll_ZeroDuration_OnePacketPerPoll()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPollDuration = TimeSpan.Zero;
        for (var i = 0; i < 3; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        var counts = new List<int>();
        for (var p = 0; p < 3; p++)
        {
            machine.Api.Poll();
            counts.Add(log.Count);
        }

        Assert.Equal([1, 2, 3], counts);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => Ran(i)), log);
    }

    [Fact]
    public void Poll_LongDuration_PacketBudgetStillApplies()
    {
        var (peer, machine, log) = Server();
        machine.Api.MaxPollDuration = TimeSpan.FromHours(1);
        machine.Api.MaxPacketsPerPoll = 2;
        for (var i = 0; i < 3; i++)
        {
            peer.DeliverPacket(Echo(i), Peer7);
        }

        machine.Api.Poll();

        Assert.Equal([Ran(0), Ran(1)], log);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void MaxPacketsPerPoll_BelowOne_Throws(int value)
    {
        var api = new MultiplayerAPI();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => api.MaxPacketsPerPoll = value);

        Assert.Contains("at least 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("int.MaxValue", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MultiplayerAPI.DefaultMaxPacketsPerPoll, api.MaxPacketsPerPoll);
    }

    [Fact]
    public void MaxPacketsPerPoll_MaxValue_Accepted()
    {
        var api = new MultiplayerAPI { MaxPacketsPerPoll = int.MaxValue };

        Assert.Equal(int.MaxValue, api.MaxPacketsPerPoll);
    }

    [Fact]
    public void MaxPollDuration_Negative_Throws()
    {
        var api = new MultiplayerAPI();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => api.MaxPollDuration = TimeSpan.FromMilliseconds(-5));

        Assert.Contains("InfiniteTimeSpan", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Timeout.InfiniteTimeSpan, api.MaxPollDuration);
    }

    [Fact]
    public void MaxPollDuration_InfiniteAfterZero_Accepted()
    {
        var api = new MultiplayerAPI { MaxPollDuration = TimeSpan.Zero };

        api.MaxPollDuration = Timeout.InfiniteTimeSpan;

        Assert.Equal(Timeout.InfiniteTimeSpan, api.MaxPollDuration);
    }
}
