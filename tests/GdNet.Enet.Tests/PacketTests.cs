using GdNet.Peers;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

public sealed class PacketTests
{
    private static readonly byte[] Marker = [0xEE];

    [Theory]
    [InlineData(TransferModeEnum.Reliable, 1)]
    [InlineData(TransferModeEnum.Unreliable, 2)]
    [InlineData(TransferModeEnum.UnreliableOrdered, 2)]
    public void PutPacket_ClientToServerInMode_ArrivesOnGodotChannelWithSender(TransferModeEnum mode, int channel)
    {
        using var server = StartServer();
        using var client = Connected(server);
        var id = client.Peer.GetUniqueId();
        // Unreliable packets may be dropped; keep sending until one arrives.
        PumpUntil(() =>
        {
            Assert.Equal(Error.Ok, Send(client, 1, [1, 2, 3], mode));
            return server.Packets.Count > 0;
        }, server, client);
        var p = server.Packets[0];
        Assert.Equal(id, p.From);
        Assert.Equal(channel, p.Channel);
        Assert.Equal([1, 2, 3], p.Data);
    }

    [Fact]
    public void PutPacket_TransferChannelSet_ArrivesOnThatChannel()
    {
        using var server = StartServer(configure: p => p.ChannelCount = 5);
        using var client = Connected(server, p => p.ChannelCount = 5);
        client.Peer.TransferChannel = 4;
        Assert.Equal(Error.Ok, Send(client, 1, [9]));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Equal(4, server.Packets[0].Channel);
    }

    [Fact]
    public void GetPacketChannel_PacketQueued_IsChannelOfNextPacket()
    {
        using var server = StartServer();
        using var client = Connected(server);
        Assert.Equal(Error.Ok, Send(client, 1, [9]));
        PumpUntil(() => { server.Peer.Poll(); return server.Peer.AvailablePacketCount == 1; }, client);
        Assert.Equal(1, server.Peer.GetPacketChannel());
        Assert.Equal(client.Peer.GetUniqueId(), server.Peer.GetPacketPeer());
        Assert.Equal(-1, server.Peer.GetLastPacketChannel());
    }

    [Fact]
    public void PutPacket_ThousandReliable_ArriveInOrder()
    {
        using var server = StartServer();
        using var client = Connected(server);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(Error.Ok, Send(server, client.Peer.GetUniqueId(), BitConverter.GetBytes(i)));
        }

        PumpUntil(() => client.Packets.Count == 1000, server, client);
        Assert.Equal(Enumerable.Range(0, 1000), client.Packets.Select(p => BitConverter.ToInt32(p.Data)));
    }

    [Fact]
    public void PutPacket_LargerThanMtu_ArrivesWhole()
    {
        using var server = StartServer();
        using var client = Connected(server);
        var big = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        Assert.Equal(Error.Ok, Send(client, 1, big));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Equal(big, server.Packets[0].Data);
    }

    [Fact]
    public void PutPacket_EmptyPayload_ArrivesEmpty()
    {
        using var server = StartServer();
        using var client = Connected(server);
        Assert.Equal(Error.Ok, Send(client, 1, []));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Empty(server.Packets[0].Data);
    }

    [Fact]
    public void PutPacket_LargerThanMaxPacketSize_Throws()
    {
        using var server = StartServer();
        using var client = Connected(server, p => p.MaxPacketSize = 100);
        Assert.Throws<ArgumentOutOfRangeException>(() => Send(client, 1, new byte[101]));
    }

    [Fact]
    public void PutPacket_NotConnected_ReturnsUnconfigured()
    {
        using var peer = new NetworkedMultiplayerENet();
        Assert.Equal(Error.Unconfigured, peer.PutPacket([1]));
    }

    [Fact]
    public void PutPacket_UnknownTarget_ReturnsInvalidParameter()
    {
        using var server = StartServer();
        using var client = Connected(server);
        Assert.Equal(Error.InvalidParameter, Send(server, 12345, [1]));
        Assert.Equal(Error.InvalidParameter, Send(client, 12345, [1]));
    }

    [Fact]
    public void PutPacket_ServerBroadcast_ReachesEveryClient()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(server, 0, [7]));
        PumpUntil(() => a.Packets.Count == 1 && b.Packets.Count == 1, server, a, b);
        Assert.Equal(1, a.Packets[0].From);
        Assert.Equal(1, b.Packets[0].From);
    }

    [Fact]
    public void PutPacket_ServerExcludesClient_ReachesOnlyTheOthers()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(server, -a.Peer.GetUniqueId(), [7]));
        Assert.Equal(Error.Ok, Send(server, 0, Marker));
        PumpUntil(() => a.Packets.Count >= 1 && b.Packets.Count == 2, server, a, b);
        Assert.Equal([Marker], a.Packets.Select(p => p.Data));
        Assert.Equal([7], b.Packets[0].Data);
    }

    [Fact]
    public void PutPacket_ClientToOtherClient_RelayedWithOriginalSenderNotDeliveredToServer()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        PumpUntil(() => a.Has($"connected {b.Peer.GetUniqueId()}"), server, a, b);
        Assert.Equal(Error.Ok, Send(a, b.Peer.GetUniqueId(), [5]));
        Assert.Equal(Error.Ok, Send(a, 1, Marker));
        PumpUntil(() => b.Packets.Count == 1 && server.Packets.Count == 1, server, a, b);
        Assert.Equal(a.Peer.GetUniqueId(), b.Packets[0].From);
        Assert.Equal([5], b.Packets[0].Data);
        Assert.Equal(Marker, server.Packets[0].Data);
    }

    [Fact]
    public void RelayedPackets_DirectAndBroadcast_CountsOnePerReceivingClient()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        using var c = Connected(server);
        PumpUntil(() => a.Has($"connected {b.Peer.GetUniqueId()}") && a.Has($"connected {c.Peer.GetUniqueId()}"), server, a, b, c);
        Assert.Equal(Error.Ok, Send(a, b.Peer.GetUniqueId(), [5]));
        Assert.Equal(Error.Ok, Send(a, 0, [6]));
        Assert.Equal(Error.Ok, Send(a, 1, [7]));
        PumpUntil(() => b.Packets.Count == 2 && c.Packets.Count == 1 && server.Packets.Count == 2, server, a, b, c);

        Assert.Equal(3, server.Peer.RelayedPackets);
    }

    [Fact]
    public void PutPacket_ClientBroadcast_ServerAndOtherClientsReceiveSenderDoesNot()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(a, 0, [5]));
        PumpUntil(() => b.Packets.Count == 1 && server.Packets.Count == 1, server, a, b);
        Assert.Equal(Error.Ok, Send(server, a.Peer.GetUniqueId(), Marker));
        PumpUntil(() => a.Packets.Count >= 1, server, a, b);
        Assert.Equal(a.Peer.GetUniqueId(), server.Packets[0].From);
        Assert.Equal(a.Peer.GetUniqueId(), b.Packets[0].From);
        Assert.Equal(Marker, a.Packets[0].Data);
    }

    [Fact]
    public void PutPacket_ClientExcludesOtherClient_ServerAndRestReceive()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        using var c = Connected(server);
        PumpUntil(() => a.Has($"connected {b.Peer.GetUniqueId()}") && a.Has($"connected {c.Peer.GetUniqueId()}"), server, a, b, c);
        Assert.Equal(Error.Ok, Send(a, -b.Peer.GetUniqueId(), [5]));
        Assert.Equal(Error.Ok, Send(a, 0, Marker));
        PumpUntil(() => b.Packets.Count >= 1 && c.Packets.Count == 2 && server.Packets.Count == 2, server, a, b, c);
        Assert.Equal([Marker], b.Packets.Select(p => p.Data));
        Assert.Equal([5], c.Packets[0].Data);
        Assert.Equal([5], server.Packets[0].Data);
    }

    [Fact]
    public void PutPacket_ClientExcludesServer_OnlyOtherClientsReceive()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(a, -1, [5]));
        Assert.Equal(Error.Ok, Send(a, 1, Marker));
        PumpUntil(() => b.Packets.Count == 1 && server.Packets.Count == 1, server, a, b);
        Assert.Equal([5], b.Packets[0].Data);
        Assert.Equal(Marker, server.Packets[0].Data);
    }

    [Fact]
    public void CreateServer_ServerRelayOff_ClientBroadcastDroppedAndCounted()
    {
        using var server = StartServer(configure: p => p.ServerRelay = false);
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(a, 0, [5]));
        Assert.Equal(Error.Ok, Send(a, 1, Marker));
        PumpUntil(() => server.Packets.Count == 1, server, a, b);
        Assert.Equal(Marker, server.Packets[0].Data);
        Assert.Contains(server.Rejections, r => r.Reason == PacketRejectReason.UnknownTarget);
        Assert.Equal(1, server.Peer.Statistics.GetRejections(PacketRejectReason.UnknownTarget));
    }

    [Fact]
    public void CreateServer_ServerRelayOff_ClientsAreNotAnnounced()
    {
        using var server = StartServer(configure: p => p.ServerRelay = false);
        using var a = Connected(server);
        using var b = Connected(server);
        Assert.Equal(Error.Ok, Send(server, a.Peer.GetUniqueId(), Marker));
        PumpUntil(() => a.Packets.Count == 1, server, a, b);
        Assert.Equal(["connected 1", "succeeded", "packet"], a.Log);
    }

    [Fact]
    public void CreateClient_SecondClientJoins_BothLearnEachOther()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        PumpUntil(() => a.Has($"connected {b.Peer.GetUniqueId()}") && b.Has($"connected {a.Peer.GetUniqueId()}"), server, a, b);
    }

    [Fact]
    public void CloseConnection_OneClientLeaves_OtherClientSeesPeerDisconnected()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        var bid = b.Peer.GetUniqueId();
        PumpUntil(() => a.Has($"connected {bid}"), server, a, b);
        b.Peer.CloseConnection();
        PumpUntil(() => a.Has($"disconnected {bid}"), server, a);
        Assert.Equal([(bid, EnetDisconnectReason.LeftServer)], a.Left);
    }

    [Fact]
    public void Poll_PacketAfterConnect_EventBeforePacketOnServer()
    {
        using var server = StartServer();
        using var client = Client(server.Peer.GetLocalPort());
        PumpUntil(() => client.Has("succeeded"), client);
        Assert.Equal(Error.Ok, Send(client, 1, [1]));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Equal([$"connected {client.Peer.GetUniqueId()}", "packet"], server.Log);
    }

    [Fact]
    public void Poll_PacketsThenKick_ClientGetsPacketsBeforeServerDisconnected()
    {
        using var server = StartServer();
        using var client = Connected(server);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Error.Ok, Send(server, client.Peer.GetUniqueId(), [(byte)i]));
        }

        server.Peer.DisconnectPeer(client.Peer.GetUniqueId());
        PumpUntil(() => client.Has("server_disconnected"), server, client);
        Assert.Equal(20, client.Packets.Count);
        Assert.Equal("server_disconnected", client.Log[^1]);
    }

    [Fact]
    public void Statistics_PacketsExchanged_CountedPerPeer()
    {
        using var server = StartServer();
        using var client = Connected(server);
        var id = client.Peer.GetUniqueId();
        Assert.Equal(Error.Ok, Send(client, 1, new byte[10]));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        var stats = server.Peer.Statistics.Snapshot();
        Assert.Equal(1, stats.Peers[id].PacketsIn);
        Assert.Equal(10, stats.Peers[id].BytesIn);
        Assert.Equal(10, client.Peer.Statistics.Snapshot().Peers[1].BytesOut);
    }

    [Fact]
    public void CompressionMode_RangeCoderBothSides_PacketsArrive()
    {
        using var server = StartServer(configure: p => p.CompressionMode = CompressionModeEnum.RangeCoder);
        using var client = Connected(server, p => p.CompressionMode = CompressionModeEnum.RangeCoder);
        var data = new byte[3000];
        Assert.Equal(Error.Ok, Send(client, 1, data));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Equal(data, server.Packets[0].Data);
    }
}
