using GdNet.Peers;
using GdNet.Peers.Local;
using Xunit;

namespace GdNet.Tests.Peers;

/// <summary>LocalNetwork's topology with perfect links: joining, announcing, routing, relaying, leaving.</summary>
public class LocalNetworkTests
{
    [Fact]
    public void CreateServer_New_IsAConnectedServerWithId1()
    {
        using var net = new LocalNetwork(seed: 1);

        var server = net.CreateServer();

        Assert.Equal((ConnectionStatus.Connected, 1, true), (server.GetConnectionStatus(), server.GetUniqueId(), server.IsServer()));
    }

    [Fact]
    public void CreateServer_Twice_ThrowsInvalidOperation()
    {
        using var net = new LocalNetwork();
        net.CreateServer();

        Assert.Throws<InvalidOperationException>(() => net.CreateServer());
    }

    [Fact]
    public void CreateClient_WithoutServer_ThrowsInvalidOperationSayingToCreateTheServer()
    {
        using var net = new LocalNetwork();

        var e = Assert.Throws<InvalidOperationException>(() => net.CreateClient());

        Assert.Contains("CreateServer()", e.Message);
    }

    [Fact]
    public void CreateClient_BeforeStep_IsConnectingWithIdZero()
    {
        using var net = new LocalNetwork();
        net.CreateServer();

        var client = net.CreateClient();

        Assert.Equal((ConnectionStatus.Connecting, 0), (client.GetConnectionStatus(), client.GetUniqueId()));
    }

    [Fact]
    public void CreateClient_AfterStep_IsConnectedWithAnIdFrom2To2147483647()
    {
        using var net = new LocalNetwork(seed: 5);
        net.CreateServer();
        var client = net.CreateClient();

        net.Step();

        Assert.Equal(ConnectionStatus.Connected, client.GetConnectionStatus());
        Assert.InRange(client.GetUniqueId(), 2, int.MaxValue);
    }

    [Fact]
    public void CreateClient_SameSeed_GivesTheSameIds()
    {
        Assert.Equal(Ids(seed: 42), Ids(seed: 42));
        Assert.NotEqual(Ids(seed: 42), Ids(seed: 43));

        static int[] Ids(int seed)
        {
            using var net = new LocalNetwork(seed);
            net.CreateServer();
            var clients = new[] { net.CreateClient(), net.CreateClient(), net.CreateClient() };
            net.Step();
            return [.. clients.Select(c => c.GetUniqueId())];
        }
    }

    [Fact]
    public void CreateClient_Handshake_ClientRaisesPeerConnected1ThenConnectionSucceeded()
    {
        using var net = new LocalNetwork();
        net.CreateServer();
        var client = net.CreateClient();
        var log = new PeerEventLog(client);

        net.Step();
        client.Poll();

        Assert.Equal(["connected 1", "succeeded"], log.Entries);
    }

    [Fact]
    public void CreateClient_Handshake_ServerRaisesPeerConnectedWithTheClientsId()
    {
        using var net = new LocalNetwork();
        var server = net.CreateServer();
        var log = new PeerEventLog(server);
        var client = net.CreateClient();

        net.Step();
        server.Poll();

        Assert.Equal([$"connected {client.GetUniqueId()}"], log.Entries);
    }

    [Fact]
    public void CreateClient_SecondClient_LearnsTheServerAndTheFirstClientWhichLearnsIt()
    {
        using var net = new LocalNetwork(seed: 3);
        net.CreateServer();
        var first = net.CreateClient();
        net.Step();
        var firstLog = new PeerEventLog(first);

        var second = net.CreateClient();
        var secondLog = new PeerEventLog(second);
        net.Step();
        first.Poll();
        second.Poll();

        Assert.Equal([$"connected {second.GetUniqueId()}"], firstLog.Entries);
        Assert.Equal(["connected 1", "succeeded", $"connected {first.GetUniqueId()}"], secondLog.Entries);
        Assert.Equal([1, second.GetUniqueId()], first.GetPeers());
    }

    [Fact]
    public void Step_BeforeCalled_DeliversNothing()
    {
        var (net, server, a, _) = ServerAndTwoClients();
        using var _net = net;
        a.SetTargetPeer(1);

        a.PutPacket([1]);
        var before = server.AvailablePacketCount;
        net.Step();

        Assert.Equal((0, 1), (before, server.AvailablePacketCount));
    }

    [Fact]
    public void PutPacket_ClientToServer_ReachesOnlyTheServerWithTheClientsId()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(a, 1, 7);
        net.Step();

        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(server));
        Assert.Empty(Read(b));
    }

    [Fact]
    public void PutPacket_ClientBroadcast_ReachesTheServerAndOtherClientsButNotTheSender()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(a, 0, 7);
        net.Step();

        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(server));
        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(b));
        Assert.Empty(Read(a));
    }

    [Fact]
    public void PutPacket_ClientToOtherClient_IsRelayedWithTheOriginalSenderAndNotDeliveredToTheServer()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(a, b.GetUniqueId(), 7);
        net.Step();

        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(b));
        Assert.Empty(Read(server));
    }

    [Fact]
    public void PutPacket_ClientExcludingAnotherClient_ReachesTheServerAndEveryoneElse()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;
        var c = net.CreateClient();
        net.Step();
        Read(c);

        Put(a, -b.GetUniqueId(), 7);
        net.Step();

        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(server));
        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(c));
        Assert.Empty(Read(b));
    }

    [Fact]
    public void PutPacket_ClientExcludingTheServer_ReachesOtherClientsOnly()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(a, -1, 7);
        net.Step();

        Assert.Empty(Read(server));
        Assert.Equal([$"packet {a.GetUniqueId()} [7]"], Read(b));
    }

    [Fact]
    public void PutPacket_ClientToUnknownPeer_IsRejectedOnTheServerAsUnknownTarget()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;
        var log = new PeerEventLog(server);

        Put(a, 777, 7);
        net.Step();

        Assert.Equal([$"rejected {a.GetUniqueId()} UnknownTarget"], log.Drain());
        Assert.Empty(Read(b));
    }

    [Fact]
    public void PutPacket_ClientToItself_IsRejectedOnTheServerAsUnknownTarget()
    {
        var (net, server, a, _) = ServerAndTwoClients();
        using var _net = net;

        Put(a, a.GetUniqueId(), 7);
        net.Step();
        server.Poll();

        Assert.Equal(1, server.Statistics.GetRejections(PacketRejectReason.UnknownTarget));
        Assert.Empty(Read(a));
    }

    [Fact]
    public void PutPacket_ServerBroadcast_ReachesEveryClientFrom1()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(server, 0, 7);
        net.Step();

        Assert.Equal(["packet 1 [7]"], Read(a));
        Assert.Equal(["packet 1 [7]"], Read(b));
    }

    [Fact]
    public void PutPacket_ServerExcludingAClient_ReachesTheOthers()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(server, -a.GetUniqueId(), 7);
        net.Step();

        Assert.Empty(Read(a));
        Assert.Equal(["packet 1 [7]"], Read(b));
    }

    [Fact]
    public void PutPacket_ServerToOneClient_ReachesOnlyIt()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;

        Put(server, b.GetUniqueId(), 7);
        net.Step();

        Assert.Empty(Read(a));
        Assert.Equal(["packet 1 [7]"], Read(b));
    }

    [Fact]
    public void PutPacket_ServerToUnknownClient_CountsItUnroutable()
    {
        var (net, server, a, _) = ServerAndTwoClients();
        using var _net = net;

        Put(server, 777, 7);
        net.Step();

        Assert.Equal(1, net.UnroutablePackets);
        Assert.Empty(Read(a));
    }

    [Fact]
    public void PutPacket_ClientBeforeItsIdArrived_CountsItUnroutable()
    {
        using var net = new LocalNetwork();
        var server = net.CreateServer();
        var client = net.CreateClient();

        Put(client, 1, 7);
        net.Step();

        Assert.Equal(1, net.UnroutablePackets);
        Assert.Empty(Read(server));
    }

    [Fact]
    public void Disconnect_Client_ClosesItSilentlyAndTheServerAndOthersRaisePeerDisconnected()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;
        var (aLog, bLog, serverLog) = (new PeerEventLog(a), new PeerEventLog(b), new PeerEventLog(server));
        var id = a.GetUniqueId();

        net.Disconnect(a);
        var statusAtOnce = a.GetConnectionStatus();
        net.Step();

        Assert.Equal(ConnectionStatus.Disconnected, statusAtOnce);
        Assert.Empty(aLog.Drain());
        Assert.Equal([$"disconnected {id}"], serverLog.Drain());
        Assert.Equal([$"disconnected {id}"], bLog.Drain());
        Assert.Equal([b], net.Clients);
    }

    [Fact]
    public void DisconnectPeer_OnServer_KicksTheClientWhichRaisesServerDisconnected()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;
        var (aLog, bLog, serverLog) = (new PeerEventLog(a), new PeerEventLog(b), new PeerEventLog(server));
        var id = a.GetUniqueId();

        Assert.True(server.DisconnectPeer(id));
        net.Step();

        Assert.Equal(["server disconnected"], aLog.Drain());
        Assert.Equal([$"disconnected {id}"], serverLog.Drain());
        Assert.Equal([$"disconnected {id}"], bLog.Drain());
        Assert.Equal(ConnectionStatus.Disconnected, a.GetConnectionStatus());
    }

    [Fact]
    public void DisconnectPeer_OnClientForTheServer_LeavesTheNetwork()
    {
        var (net, server, a, _) = ServerAndTwoClients();
        using var _net = net;
        var serverLog = new PeerEventLog(server);

        a.DisconnectPeer(1);
        net.Step();

        Assert.Equal([$"disconnected {a.GetUniqueId()}"], serverLog.Drain());
        Assert.Equal(ConnectionStatus.Disconnected, a.GetConnectionStatus());
    }

    [Fact]
    public void Disconnect_Server_DisconnectsEveryClientWithServerDisconnected()
    {
        var (net, server, a, b) = ServerAndTwoClients();
        using var _net = net;
        var (aLog, bLog) = (new PeerEventLog(a), new PeerEventLog(b));

        net.Disconnect(server);
        net.Step();

        Assert.Equal(ConnectionStatus.Disconnected, server.GetConnectionStatus());
        Assert.Equal(["server disconnected"], aLog.Drain());
        Assert.Equal(["server disconnected"], bLog.Drain());
    }

    [Fact]
    public void CreateClient_ServerRefusesNewConnections_ClientRaisesConnectionFailed()
    {
        using var net = new LocalNetwork();
        var server = net.CreateServer();
        server.RefuseNewConnections = true;
        var client = net.CreateClient();
        var log = new PeerEventLog(client);

        net.Step();

        Assert.Equal(["failed"], log.Drain());
        Assert.Empty(server.GetPeers());
    }

    [Fact]
    public void Disconnect_ClientBeforeItsHelloArrived_ServerSeesItJoinAndLeave()
    {
        using var net = new LocalNetwork();
        var server = net.CreateServer();
        var serverLog = new PeerEventLog(server);
        var client = net.CreateClient();
        var clientLog = new PeerEventLog(client);

        net.Disconnect(client);
        net.Step();

        Assert.Equal(2, serverLog.Drain().Count);
        Assert.StartsWith("connected", serverLog.Entries[0]);
        Assert.StartsWith("disconnected", serverLog.Entries[1]);
        Assert.Empty(clientLog.Drain());
    }

    [Fact]
    public void Step_FromAHandlerTheNetworkRaises_ThrowsInvalidOperation()
    {
        using var net = new LocalNetwork();
        net.CreateServer();
        var client = net.CreateClient();
        Exception? caught = null;
        client.ConnectionSucceeded += () => caught = Record.Exception(net.Step);

        net.Step();

        Assert.IsType<InvalidOperationException>(caught);
    }

    [Fact]
    public void Advance_NegativeDuration_ThrowsArgumentOutOfRange()
    {
        using var net = new LocalNetwork();

        Assert.Throws<ArgumentOutOfRangeException>(() => net.Advance(TimeSpan.FromTicks(-1)));
    }

    [Fact]
    public void Dispose_WithPacketsInFlightAndQueued_ReturnsEveryBuffer()
    {
        var pool = new CountingArrayPool();
        var net = new LocalNetwork(seed: 2, bufferPool: pool);
        var server = net.CreateServer();
        var a = net.CreateClient(new LinkConditions { Latency = TimeSpan.FromMilliseconds(10) });
        net.RunUntilIdle(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++)
        {
            Put(a, 1, (byte)i);
            Put(server, 0, (byte)i);
        }

        net.Advance(TimeSpan.FromMilliseconds(10));
        Put(a, 1, 9);
        server.TryGetPacket(out _);

        net.Dispose();

        Assert.True(pool.Rented > 10);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void RunUntilIdle_WithLatency_MovesTheClockToTheLastDelivery()
    {
        using var net = new LocalNetwork();
        net.CreateServer();
        var client = net.CreateClient(new LinkConditions { Latency = TimeSpan.FromMilliseconds(30) });

        var idle = net.RunUntilIdle(TimeSpan.FromSeconds(1));

        Assert.True(idle);
        Assert.Equal(TimeSpan.FromMilliseconds(60), net.Now);
        Assert.Equal(ConnectionStatus.Connected, client.GetConnectionStatus());
    }

    [Fact]
    public void RunUntilIdle_LimitShorterThanTheTrip_StopsAtTheLimit()
    {
        using var net = new LocalNetwork();
        net.CreateServer();
        net.CreateClient(new LinkConditions { Latency = TimeSpan.FromMilliseconds(30) });

        var idle = net.RunUntilIdle(TimeSpan.FromMilliseconds(40));

        Assert.False(idle);
        Assert.Equal(TimeSpan.FromMilliseconds(40), net.Now);
    }

    [Fact]
    public void RunUntilIdle_TimeSpanMaxValue_RunsToIdleWithoutOverflow()
    {
        using var net = new LocalNetwork();
        net.CreateServer();
        var client = net.CreateClient(new LinkConditions { Latency = TimeSpan.FromMilliseconds(5) });
        net.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(net.RunUntilIdle(TimeSpan.MaxValue));
        Assert.Equal(TimeSpan.FromMilliseconds(10), net.Now);
        Assert.Equal(ConnectionStatus.Connected, client.GetConnectionStatus());
    }

    internal static (LocalNetwork Net, NetworkedMultiplayerCustom Server, NetworkedMultiplayerCustom A, NetworkedMultiplayerCustom B) ServerAndTwoClients(int seed = 7)
    {
        var net = new LocalNetwork(seed);
        var server = net.CreateServer();
        var a = net.CreateClient();
        var b = net.CreateClient();
        net.Step();
        foreach (var p in new[] { server, a, b })
        {
            Read(p);
        }

        return (net, server, a, b);
    }

    internal static void Put(NetworkedMultiplayerCustom peer, int target, byte value, TransferModeEnum mode = TransferModeEnum.Reliable)
    {
        peer.SetTargetPeer(target);
        peer.TransferMode = mode;
        Assert.Equal(Error.Ok, peer.PutPacket([value]));
    }

    /// <summary>Polls and reads every packet, as "packet FROM [bytes]".</summary>
    internal static List<string> Read(NetworkedMultiplayerCustom peer)
    {
        var packets = new List<string>();
        peer.Poll();
        while (peer.AvailablePacketCount > 0)
        {
            var from = peer.GetPacketPeer();
            peer.TryGetPacket(out var packet);
            packets.Add($"packet {from} [{string.Join(",", packet.ToArray())}]");
        }

        return packets;
    }
}
