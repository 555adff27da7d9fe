using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using GdNet.Enet.Interop;
using GdNet.Peers;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

public sealed class RobustnessTests
{
    private static readonly byte[] Marker = [0xEE];

    private static RawEnetHost RawConnected(Recorder server, uint id)
    {
        var raw = RawEnetHost.Client(server.Peer.GetLocalPort(), id);
        Assert.True(raw.ServiceUntil(() => raw.Connected && server.Has($"connected {id}"), Deadline, server), string.Join(", ", server.Log));
        return raw;
    }

    [Fact]
    public void Receive_SpoofedSource_RejectedAndNotDelivered()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        raw.SendGodot(4999, 1, [1]);
        raw.SendGodot(5000, 1, Marker);
        Assert.True(raw.ServiceUntil(() => server.Packets.Count == 1, Deadline, server));
        Assert.Equal(Marker, server.Packets[0].Data);
        var r = Assert.Single(server.Rejections);
        Assert.Equal((PacketRejectReason.SpoofedSource, 5000, 4999L), (r.Reason, r.PeerId, r.Size));
    }

    [Fact]
    public void Receive_ClientOnConfigChannel_RejectedAsUnsupported()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        raw.SendRaw(0, [0, 0, 0, 0, 1, 0, 0, 0]);
        Assert.True(raw.ServiceUntil(() => server.Rejections.Count == 1, Deadline, server));
        Assert.Equal(PacketRejectReason.UnsupportedFrame, server.Rejections[0].Reason);
        Assert.Empty(server.Packets);
    }

    [Fact]
    public void Receive_ShorterThanGodotHeader_RejectedAsTooSmall()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        raw.SendRaw(1, [1, 2, 3]);
        Assert.True(raw.ServiceUntil(() => server.Rejections.Count == 1, Deadline, server));
        Assert.Equal(PacketRejectReason.TooSmall, server.Rejections[0].Reason);
        Assert.Empty(server.Packets);
    }

    [Fact]
    public void Receive_TargetIsSender_RejectedAsUnknownTarget()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        raw.SendGodot(5000, 5000, [1]);
        Assert.True(raw.ServiceUntil(() => server.Rejections.Count == 1, Deadline, server));
        Assert.Equal(PacketRejectReason.UnknownTarget, server.Rejections[0].Reason);
        Assert.Empty(raw.Received);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(0x80000005u)]
    public void Connect_ReservedClientId_RefusedWithoutAnswer(uint id)
    {
        using var server = StartServer();
        using var raw = RawEnetHost.Client(server.Peer.GetLocalPort(), id);
        Assert.True(raw.ServiceUntil(() => server.Rejections.Count == 1, Deadline, server));
        Assert.Equal(PacketRejectReason.Refused, server.Rejections[0].Reason);
        Assert.False(raw.Connected);
        Assert.DoesNotContain(server.Log, l => l.StartsWith("connected", StringComparison.Ordinal));
    }

    [Fact]
    public void Connect_DuplicateClientId_SecondClientFailsAndIsCountedOnce()
    {
        using var server = StartServer();
        using var first = Connected(server, p => p.ForcedClientId = 777);
        using var second = Client(server.Peer.GetLocalPort(), p =>
        {
            p.ForcedClientId = 777;
            p.ConnectTimeout = TimeSpan.FromMilliseconds(1500);
        });
        PumpUntil(() => second.Has("failed"), server, first, second);
        Assert.Equal(1, server.Peer.Statistics.GetRejections(PacketRejectReason.Refused));
        Assert.Equal(["connected 777"], server.Log);
    }

    [Fact]
    public void RefuseNewConnections_Set_NewClientFailsExistingClientKeepsWorking()
    {
        using var server = StartServer();
        using var existing = Connected(server);
        server.Peer.RefuseNewConnections = true;
        using var late = Client(server.Peer.GetLocalPort(), p => p.ConnectTimeout = TimeSpan.FromMilliseconds(500));
        PumpUntil(() => late.Has("failed"), server, existing, late);
        Assert.Equal(Error.Ok, Send(existing, 1, Marker));
        PumpUntil(() => server.Packets.Count == 1, server, existing);
        Assert.True(server.Peer.Statistics.GetRejections(PacketRejectReason.Refused) >= 1);
    }

    [Fact]
    public void RefuseNewConnections_Cleared_NewClientConnects()
    {
        using var server = StartServer();
        server.Peer.RefuseNewConnections = true;
        server.Peer.RefuseNewConnections = false;
        using var client = Connected(server);

        Assert.False(server.Peer.RefuseNewConnections);
        Assert.Equal(ConnectionStatus.Connected, client.Peer.GetConnectionStatus());
    }

    [Fact]
    public void CreateServer_MaxClientsReached_NextClientFailsAndIsCounted()
    {
        using var server = StartServer(maxClients: 2);
        using var a = Connected(server);
        using var b = Connected(server);
        using var c = Client(server.Peer.GetLocalPort(), p => p.ConnectTimeout = TimeSpan.FromMilliseconds(500));
        PumpUntil(() => c.Has("failed"), server, a, b, c);
        Assert.Contains(server.Rejections, r => r.Reason == PacketRejectReason.Refused && r.Note == "server full");
    }

    [Fact]
    public void Receive_OversizedReliablePacket_RejectedTooLargeAndSenderDropped()
    {
        using var server = StartServer(configure: p => p.MaxPacketSize = 1000);
        using var raw = RawConnected(server, 5000);
        raw.SendGodot(5000, 1, new byte[5000]);
        Assert.True(raw.ServiceUntil(() => server.Has("disconnected 5000") && raw.Disconnected, Deadline, server));
        var r = Assert.Single(server.Rejections);
        Assert.Equal((PacketRejectReason.TooLarge, 5000, 5000L, 1000L), (r.Reason, r.PeerId, r.Size, r.Limit));
        Assert.Equal([(5000, EnetDisconnectReason.LimitExceeded)], server.Left);
        Assert.Empty(server.Packets);
    }

    [Fact]
    public void Receive_OversizedUnreliablePacket_RejectedTooLargePeerStays()
    {
        using var server = StartServer(configure: p => p.MaxPacketSize = 1000);
        using var raw = RawConnected(server, 5000);
        raw.SendGodot(5000, 1, new byte[5000], channel: 2, flags: EnetNative.PacketFlagUnreliableFragment);
        raw.SendGodot(5000, 1, Marker);
        Assert.True(raw.ServiceUntil(() => server.Packets.Count == 1 && server.Rejections.Count == 1, Deadline, server));
        Assert.Equal(PacketRejectReason.TooLarge, server.Rejections[0].Reason);
        Assert.Equal(Marker, server.Packets[0].Data);
        Assert.DoesNotContain("disconnected 5000", server.Log);
    }

    [Fact]
    public void Receive_PacketAtMaxPacketSize_Delivered()
    {
        using var server = StartServer(configure: p => p.MaxPacketSize = 1000);
        using var client = Connected(server, p => p.MaxPacketSize = 1000);
        Assert.Equal(Error.Ok, Send(client, 1, new byte[1000]));
        PumpUntil(() => server.Packets.Count == 1, server, client);
        Assert.Empty(server.Rejections);
    }

    [Fact]
    public void Garbage_DatagramsToServerPort_ServerKeepsServingAndCountsMalformed()
    {
        using var server = StartServer();
        using var existing = Connected(server);
        var port = server.Peer.GetLocalPort();
        using (var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            var random = new Random(1234);
            var target = new IPEndPoint(IPAddress.Loopback, port);
            udp.Send([], 0, target);
            udp.Send([0x42], 1, target);
            udp.Send([0x8F, 0xFF, 0, 0, 0xFF, 0xFF, 0, 0], 8, target); // CONNECT header, truncated
            udp.Send([0x4F, 0xFF, 1, 2, 3, 4], 6, target); // "compressed"
            for (var i = 0; i < 300; i++)
            {
                var junk = new byte[random.Next(2, 1400)];
                random.NextBytes(junk);
                udp.Send(junk, junk.Length, target);
            }
        }

        PumpUntil(() => server.Peer.Statistics.GetRejections(PacketRejectReason.Malformed) >= 100, server, existing);
        using var late = Connected(server);
        Assert.Equal(Error.Ok, Send(late, 1, Marker));
        Assert.Equal(Error.Ok, Send(existing, 1, Marker));
        PumpUntil(() => server.Packets.Count == 2, server, existing, late);
    }

    [Fact]
    public void Vanish_ClientHostDestroyed_ServerTimesOutAndReportsTimedOut()
    {
        using var server = StartServer(configure: p =>
        {
            p.PeerTimeoutMinimum = TimeSpan.FromMilliseconds(500);
            p.PeerTimeoutMaximum = TimeSpan.FromMilliseconds(1000);
        });
        var raw = RawConnected(server, 5000);
        raw.Vanish();
        PumpUntil(() => server.Has("disconnected 5000"), server);
        Assert.Equal([(5000, EnetDisconnectReason.TimedOut)], server.Left);
    }

    [Fact]
    public void Vanish_ServerHostDestroyed_ClientRaisesServerDisconnectedTimedOut()
    {
        using var raw = RawEnetHost.Server();
        using var client = Client(raw.Port, p =>
        {
            p.PeerTimeoutMinimum = TimeSpan.FromMilliseconds(500);
            p.PeerTimeoutMaximum = TimeSpan.FromMilliseconds(1000);
        });
        Assert.True(raw.ServiceUntil(() => raw.Connected && client.Has("succeeded"), Deadline, client));
        Assert.Equal((uint)client.Peer.GetUniqueId(), raw.ConnectData);
        raw.Vanish();
        PumpUntil(() => client.Has("server_disconnected"), client);
        Assert.Equal([(1, EnetDisconnectReason.TimedOut)], client.Left);
    }

    [Fact]
    public void DisconnectPeer_Now_ServerReportsKickedAndOthersSeeRemove()
    {
        using var server = StartServer();
        using var a = Connected(server);
        using var b = Connected(server);
        var aid = a.Peer.GetUniqueId();
        PumpUntil(() => b.Has($"connected {aid}"), server, a, b);
        server.Peer.DisconnectPeer(aid, now: true);
        Assert.Equal(Error.InvalidParameter, Send(server, aid, [1]));
        PumpUntil(() => server.Has($"disconnected {aid}") && b.Has($"disconnected {aid}") && a.Has("server_disconnected"), server, a, b);
        Assert.Equal([(aid, EnetDisconnectReason.Kicked)], server.Left);
        Assert.Equal([(1, EnetDisconnectReason.Kicked)], a.Left);
    }

    [Fact]
    public void DisconnectPeer_Later_ServerReportsKicked()
    {
        using var server = StartServer();
        using var a = Connected(server);
        var aid = a.Peer.GetUniqueId();
        server.Peer.DisconnectPeer(aid);
        PumpUntil(() => server.Has($"disconnected {aid}") && a.Has("server_disconnected"), server, a);
        Assert.Equal([(aid, EnetDisconnectReason.Kicked)], server.Left);
    }

    [Fact]
    public void DisconnectPeer_OnClient_Throws()
    {
        using var server = StartServer();
        using var a = Connected(server);
        Assert.Throws<InvalidOperationException>(() => a.Peer.DisconnectPeer(1));
    }

    [Fact]
    public void DisconnectPeer_UnknownId_Throws()
    {
        using var server = StartServer();
        Assert.Throws<ArgumentOutOfRangeException>(() => server.Peer.DisconnectPeer(4242));
    }

    [Fact]
    public void SystemMessages_ClientJoinsAndLeaves_WireIsTypeThenIdLittleEndianOnChannelZero()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        using var client = Connected(server);
        var id = (uint)client.Peer.GetUniqueId();
        Assert.True(raw.ServiceUntil(() => raw.Received.Count == 1, Deadline, server, client));
        client.Peer.CloseConnection();
        Assert.True(raw.ServiceUntil(() => raw.Received.Count == 2, Deadline, server));
        Assert.Equal([0, 0], raw.Received.Select(r => r.Channel));
        Assert.Equal(Le(0, id), raw.Received[0].Data);
        Assert.Equal(Le(1, id), raw.Received[1].Data);
    }

    [Fact]
    public void Relay_ClientToRawClient_KeepsOriginalHeader()
    {
        using var server = StartServer();
        using var raw = RawConnected(server, 5000);
        using var client = Connected(server);
        PumpUntil(() => client.Has("connected 5000"), server, client);
        Assert.Equal(Error.Ok, Send(client, 5000, [9, 8]));
        Assert.True(raw.ServiceUntil(() => raw.Received.Any(r => r.Channel == 1), Deadline, server, client));
        var data = raw.Received.Single(r => r.Channel == 1).Data;
        Assert.Equal([.. BitConverter.GetBytes(client.Peer.GetUniqueId()), .. BitConverter.GetBytes(5000), 9, 8], data);
    }

    [Theory]
    [InlineData(TransferModeEnum.Reliable, false, 1, EnetNative.PacketFlagReliable)]
    [InlineData(TransferModeEnum.Unreliable, false, 2, EnetNative.PacketFlagUnsequenced)]
    [InlineData(TransferModeEnum.Unreliable, true, 2, 0u)]
    [InlineData(TransferModeEnum.UnreliableOrdered, false, 2, 0u)]
    public void PutPacket_Mode_UsesGodotChannelAndEnetFlags(TransferModeEnum mode, bool alwaysOrdered, int channel, uint flags)
    {
        using var raw = RawEnetHost.Server();
        using var client = Client(raw.Port, p => p.AlwaysOrdered = alwaysOrdered);
        Assert.True(raw.ServiceUntil(() => raw.Connected && client.Has("succeeded"), Deadline, client));
        Assert.True(raw.ServiceUntil(() =>
        {
            Send(client, 1, [3], mode);
            return raw.ReceivedFlags.Count > 0;
        }, Deadline, client));
        Assert.Equal((channel, flags), raw.ReceivedFlags[0]);
    }

    [Fact]
    public void ClientReceive_MalformedSystemMessage_RejectedAsMalformed()
    {
        using var raw = RawEnetHost.Server();
        using var client = Client(raw.Port);
        Assert.True(raw.ServiceUntil(() => raw.Connected && client.Has("succeeded"), Deadline, client));
        raw.SendRaw(0, [0, 0, 0]);
        raw.SendRaw(0, Le(7, 1234));
        raw.SendRaw(0, Le(0, 1));
        raw.SendRaw(0, Le(0, 1234));
        Assert.True(raw.ServiceUntil(() => client.Has("connected 1234"), Deadline, client));
        Assert.Equal(3, client.Peer.Statistics.GetRejections(PacketRejectReason.Malformed));
    }

    [Fact]
    public void ClientReceive_SourceFromHeader_IsTheSender()
    {
        using var raw = RawEnetHost.Server();
        using var client = Client(raw.Port);
        Assert.True(raw.ServiceUntil(() => raw.Connected && client.Has("succeeded"), Deadline, client));
        raw.SendGodot(77, client.Peer.GetUniqueId(), [4]);
        Assert.True(raw.ServiceUntil(() => client.Packets.Count == 1, Deadline, client));
        Assert.Equal(77, client.Packets[0].From);
    }

    [Fact]
    public void Receive_ReliableIntoFullInbox_HeldThenAllDeliveredInOrder()
    {
        using var server = StartServer(configure: p => p.MaxQueuedPackets = 10);
        using var raw = RawConnected(server, 5000);
        for (var i = 0; i < 30; i++)
        {
            raw.SendGodot(5000, 1, [(byte)i]);
        }

        // The server's game thread reads nothing: the inbox fills up to its bound (never past it), the rest is held.
        Assert.True(raw.ServiceUntil(() => server.Peer.AvailablePacketCount >= 10, Deadline), "the inbox never filled");
        Assert.Equal(10, server.Peer.AvailablePacketCount);
        Assert.True(raw.ServiceUntil(() => server.Packets.Count == 30, Deadline, server));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (byte)i), server.Packets.Select(p => p.Data[0]));
        Assert.Empty(server.Left);
        Assert.Equal(0, server.Peer.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void ClientReceive_ReliableIntoFullInbox_HeldThenAllDeliveredInOrder()
    {
        using var server = StartServer();
        using var client = Connected(server, p => p.MaxQueuedPackets = 10);
        var id = client.Peer.GetUniqueId();
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(Error.Ok, Send(server, id, [(byte)i]));
        }

        // Only the server is pumped: the client's inbox fills up to its bound (never past it), the rest is held.
        PumpUntil(() => client.Peer.AvailablePacketCount >= 10, server);
        Assert.Equal(10, client.Peer.AvailablePacketCount);
        PumpUntil(() => client.Packets.Count == 30, server, client);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (byte)i), client.Packets.Select(p => p.Data[0]));
        Assert.DoesNotContain("server_disconnected", client.Log);
    }

    [Fact]
    public void Receive_HeldBeyondMaxWaitingData_SenderDroppedOtherPeerServed()
    {
        using var server = StartServer(configure: p =>
        {
            p.MaxPacketSize = 1024;
            p.MaxWaitingData = 4096;
            p.MaxQueuedPackets = 10;
        });
        using var flooder = RawConnected(server, 5000);
        using var other = RawConnected(server, 6000);
        for (var i = 0; i < 100; i++)
        {
            flooder.SendGodot(5000, 1, new byte[100]);
        }

        // Nothing is read until the flooder has been dropped: 10 packets in the inbox, about 40 held, then too many.
        Assert.True(flooder.ServiceUntil(() => flooder.Disconnected, Deadline));
        PumpUntil(() => server.Has("disconnected 5000"), server);
        other.SendGodot(6000, 1, Marker);
        Assert.True(other.ServiceUntil(() => server.Packets.Any(p => p.From == 6000), Deadline, server));
        Assert.Equal([(5000, EnetDisconnectReason.LimitExceeded)], server.Left);
        Assert.Equal(1, server.Peer.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void Receive_ReliableLargerThanMaxQueuedBytes_QueueFullAndSenderDropped()
    {
        using var server = StartServer(configure: p => p.MaxQueuedBytes = 100);
        using var raw = RawConnected(server, 5000);

        raw.SendGodot(5000, 1, new byte[200]);

        Assert.True(raw.ServiceUntil(() => server.Has("disconnected 5000"), Deadline, server));
        Assert.Equal([(5000, EnetDisconnectReason.LimitExceeded)], server.Left);
        Assert.Equal(1, server.Peer.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public void Receive_UnreliableIntoFullInbox_DroppedSenderStays()
    {
        using var server = StartServer(configure: p => p.MaxQueuedPackets = 10);
        using var raw = RawConnected(server, 5000);
        // ENet's throttle may drop some unreliable packets itself: keep sending until the inbox overflows.
        Assert.True(raw.ServiceUntil(() =>
        {
            raw.SendGodot(5000, 1, [1], channel: 2, flags: EnetNative.PacketFlagUnsequenced);
            return server.Peer.Statistics.GetRejections(PacketRejectReason.QueueFull) >= 1;
        }, Deadline));
        PumpUntil(() => server.Packets.Count >= 10, server); // packets still in flight may land after the first ten
        raw.SendGodot(5000, 1, Marker);
        Assert.True(raw.ServiceUntil(() => server.Packets.Any(p => p.Data.SequenceEqual(Marker)), Deadline, server));
        Assert.DoesNotContain("disconnected 5000", server.Log);
    }

    [Fact]
    public void CreateServer_MaxWaitingDataBelowMaxPacketSize_Throws()
    {
        using var peer = new NetworkedMultiplayerENet { MaxPacketSize = 1 << 20, MaxWaitingData = 1 << 16 };
        Assert.Throws<InvalidOperationException>(() => peer.CreateServer(0));
    }

    private static byte[] Le(uint a, uint b)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, a);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), b);
        return bytes;
    }
}
