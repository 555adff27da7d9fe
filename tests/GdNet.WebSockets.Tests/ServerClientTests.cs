using GdNet.Peers;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>GdNet server and GdNet clients over real sockets on 127.0.0.1: handshake, ids, relay rules, events.</summary>
public class ServerClientTests
{
    [Fact]
    public async Task ConnectToUrl_ServerListening_ClientGetsIdAndConnectionSucceeded()
    {
        await using var server = StartServer();
        var sp = new Probe(server);

        var (client, cp) = await ConnectAsync(server, sp);
        await using var _ = client;

        Assert.True(client.GetUniqueId() >= 2);
        Assert.Equal(ConnectionStatus.Connected, client.GetConnectionStatus());
        Assert.Equal(["connected 1", "succeeded"], cp.Events);
        Assert.Equal([client.GetUniqueId()], server.GetPeers());
    }

    [Fact]
    public async Task ConnectToUrl_BeforeSysId_StatusConnectingAndIdZero()
    {
        await using var server = StartServer();
        await using var client = new WebSocketClient();

        client.ConnectToUrl(server.Url!);

        Assert.Equal(ConnectionStatus.Connecting, client.GetConnectionStatus());
        Assert.Equal(0, client.GetUniqueId());
    }

    [Fact]
    public async Task PutPacket_ClientToServer_ArrivesWithClientId()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (client, cp) = await ConnectAsync(server, sp);
        await using var _ = client;

        Send(client, 1, 1, 2, 3);

        await PumpUntilAsync(() => sp.Packets.Count == 1, sp, cp);
        Assert.Equal(client.GetUniqueId(), sp.Packets[0].From);
        Assert.Equal([1, 2, 3], sp.Packets[0].Data);
    }

    [Fact]
    public async Task PutPacket_ServerToOneClient_OnlyThatClientReceives()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = a;
        await using var __ = b;

        Send(server, b.GetUniqueId(), 9);
        Send(server, a.GetUniqueId(), 8);

        await PumpUntilAsync(() => ap.Packets.Count == 1 && bp.Packets.Count == 1, sp, ap, bp);
        Assert.Equal((1, "08"), (ap.Packets[0].From, Convert.ToHexString(ap.Packets[0].Data)));
        Assert.Equal((1, "09"), (bp.Packets[0].From, Convert.ToHexString(bp.Packets[0].Data)));
    }

    [Fact]
    public async Task PutPacket_ServerExcludingOneClient_OthersReceive()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        var (c, cp) = await ConnectAsync(server, sp, ap, bp);
        await using var _ = a;
        await using var __ = b;
        await using var ___ = c;

        Send(server, -b.GetUniqueId(), 5);
        Send(server, 0, 6);

        await PumpUntilAsync(() => ap.Packets.Count == 2 && cp.Packets.Count == 2 && bp.Packets.Count == 1, sp, ap, bp, cp);
        Assert.Equal([6], bp.Packets[0].Data);
    }

    [Fact]
    public async Task PutPacket_ServerToUnknownClient_ReturnsInvalidParameter()
    {
        await using var server = StartServer();
        server.SetTargetPeer(12345);

        Assert.Equal(Error.InvalidParameter, server.PutPacket([1]));
    }

    [Fact]
    public async Task PutPacket_ClientToClient_RelayedWithOriginalSender()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = a;
        await using var __ = b;

        Send(a, b.GetUniqueId(), 42);

        await PumpUntilAsync(() => bp.Packets.Count == 1, sp, ap, bp);
        Assert.Equal((a.GetUniqueId(), "2A"), (bp.Packets[0].From, Convert.ToHexString(bp.Packets[0].Data)));
        Assert.Equal(1, server.GetTransportStats().Relayed);
        await FlushAsync(a, [sp], sp, ap, bp);
        await FlushAsync(b, [ap], sp, ap, bp);
        Assert.Empty(sp.Packets);
        Assert.Empty(ap.Packets);
    }

    [Fact]
    public async Task PutPacket_ClientBroadcast_ServerAndOtherClientsReceiveSenderDoesNot()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        var (c, cp) = await ConnectAsync(server, sp, ap, bp);
        await using var _ = a;
        await using var __ = b;
        await using var ___ = c;

        Send(a, 0, 7);

        await PumpUntilAsync(() => sp.Packets.Count == 1 && bp.Packets.Count == 1 && cp.Packets.Count == 1, sp, ap, bp, cp);
        Assert.All([sp.Packets[0], bp.Packets[0], cp.Packets[0]], p => Assert.Equal(a.GetUniqueId(), p.From));
        await FlushAsync(b, [ap], sp, ap, bp, cp);
        Assert.Empty(ap.Packets);
    }

    [Fact]
    public async Task PutPacket_ClientExcludingAnotherClient_ServerAndRestReceive()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        var (c, cp) = await ConnectAsync(server, sp, ap, bp);
        await using var _ = a;
        await using var __ = b;
        await using var ___ = c;

        Send(a, -b.GetUniqueId(), 7);

        await PumpUntilAsync(() => sp.Packets.Count == 1 && cp.Packets.Count == 1, sp, ap, bp, cp);
        await FlushAsync(a, [bp], sp, ap, bp, cp);
        await FlushAsync(c, [ap], sp, ap, bp, cp);
        Assert.Empty(bp.Packets);
        Assert.Empty(ap.Packets);
    }

    [Fact]
    public async Task PutPacket_ClientExcludingServer_ClientsReceiveServerDoesNot()
    {
        // Deliberate fix of Godot 3.2.3's WebSocket quirk (spec §5.3): to = -1 is not delivered to the server.
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = a;
        await using var __ = b;

        Send(a, -1, 3);
        Send(a, 1, 4);

        await PumpUntilAsync(() => bp.Packets.Count == 1 && sp.Packets.Count == 1, sp, ap, bp);
        Assert.Equal([4], sp.Packets[0].Data);
    }

    [Fact]
    public async Task Connect_ThirdClient_EveryoneLearnsAboutEveryone()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = a;
        await using var __ = b;

        var (c, cp) = await ConnectAsync(server, sp, ap, bp);
        await using var ___ = c;

        await PumpUntilAsync(() => ap.Has($"connected {c.GetUniqueId()}") && bp.Has($"connected {c.GetUniqueId()}")
            && cp.Has($"connected {a.GetUniqueId()}") && cp.Has($"connected {b.GetUniqueId()}"), sp, ap, bp, cp);
        Assert.True(ap.Has($"connected {b.GetUniqueId()}"));
    }

    [Fact]
    public async Task DisconnectFromHost_Client_ServerAndOthersSeePeerDisconnected()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = b;
        var aId = a.GetUniqueId();

        a.DisconnectFromHost();

        await PumpUntilAsync(() => sp.Has($"disconnected {aId}") && bp.Has($"disconnected {aId}"), sp, ap, bp);
        Assert.Equal(ConnectionStatus.Disconnected, a.GetConnectionStatus());
        Assert.DoesNotContain("server_disconnected", ap.Events);
        Assert.False(server.HasPeer(aId));
        await a.DisposeAsync();
    }

    [Fact]
    public async Task DisconnectPeer_WithCodeAndReason_ClientGetsServerDisconnectedAndReason()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;
        var aId = a.GetUniqueId();
        Send(server, aId, 1);

        Assert.True(server.DisconnectPeer(aId, 4000, "kicked for testing"));

        await PumpUntilAsync(() => ap.Has("server_disconnected") && sp.Has($"disconnected {aId}"), sp, ap);
        Assert.DoesNotContain("failed", ap.Events);
        Assert.Equal(4000, a.CloseCode);
        Assert.Equal("kicked for testing", a.CloseReason);
        Assert.Single(ap.Packets);
    }

    [Fact]
    public async Task GetConnectionStatus_ServerClosedAfterPacket_ConnectedUntilPacketReadAndEventRaised()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, _) = await ConnectAsync(server, sp);
        await using var __ = a;
        Send(server, a.GetUniqueId(), 7);
        server.DisconnectPeer(a.GetUniqueId());
        var disconnected = false;
        a.ServerDisconnected += () => disconnected = true;

        // Without polling the client, wait until its socket task saw the close.
        await PumpUntilAsync(() => a.CloseCode is not null, sp);
        Assert.Equal(ConnectionStatus.Connected, a.GetConnectionStatus());

        Assert.True(a.TryGetPacket(out var packet));
        Assert.Equal(7, packet[0]);
        Assert.False(disconnected);
        a.Poll();
        Assert.True(disconnected);
        Assert.Equal(ConnectionStatus.Disconnected, a.GetConnectionStatus());
    }

    [Fact]
    public async Task Abort_Client_ServerAndOthersSeePeerDisconnectedWithoutCloseHandshake()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        var (b, bp) = await ConnectAsync(server, sp, ap);
        await using var _ = a;
        await using var __ = b;
        var aId = a.GetUniqueId();

        a.Abort();

        await PumpUntilAsync(() => sp.Has($"disconnected {aId}") && bp.Has($"disconnected {aId}"), sp, ap, bp);
        Assert.Equal(ConnectionStatus.Disconnected, a.GetConnectionStatus());
        Assert.DoesNotContain("server_disconnected", ap.Events);
    }

    [Fact]
    public async Task GetPeerAddress_LoopbackClient_ReturnsItsAddressAndPort()
    {
        await using var server = StartServer();
        var (a, _) = await ConnectAsync(server, new Probe(server));
        await using var __ = a;

        Assert.Equal("127.0.0.1", server.GetPeerAddress(a.GetUniqueId()));
        Assert.InRange(server.GetPeerPort(a.GetUniqueId()), 1, 65535);
        Assert.Equal(string.Empty, server.GetPeerAddress(12345));
    }

    [Fact]
    public async Task DisconnectPeer_UnknownId_ReturnsFalse()
    {
        await using var server = StartServer();

        Assert.False(server.DisconnectPeer(99));
    }

    [Fact]
    public async Task DisconnectPeer_ReservedCode_Throws()
    {
        await using var server = StartServer();

        Assert.Throws<ArgumentOutOfRangeException>(() => server.DisconnectPeer(99, 1006));
    }

    [Fact]
    public async Task Stop_ClientsConnected_ClientsGetServerDisconnected()
    {
        var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;

        await server.StopAsync();

        await PumpUntilAsync(() => ap.Has("server_disconnected"), ap);
        Assert.Equal(1001, a.CloseCode);
        Assert.False(server.IsListening());
        await server.DisposeAsync();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Listen_AfterStop_AcceptsClientsAgain()
    {
        await using var server = StartServer();
        await server.StopAsync();

        Assert.Equal(Error.Ok, server.Listen(0));

        var sp = new Probe(server);
        var (a, _) = await ConnectAsync(server, sp);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task Listen_PortInUse_ReturnsAlreadyInUse()
    {
        await using var first = StartServer();
        await using var second = new WebSocketServer { BindIp = "127.0.0.1" };

        Assert.Equal(Error.AlreadyInUse, second.Listen(first.LocalPort));
        Assert.False(second.IsListening());
    }

    [Fact]
    public async Task Listen_Twice_Throws()
    {
        await using var server = StartServer();

        Assert.Throws<InvalidOperationException>(() => server.Listen(0));
    }

    [Fact]
    public async Task Listen_RawMode_Throws()
    {
        await using var server = new WebSocketServer { BindIp = "127.0.0.1" };

        Assert.Throws<ArgumentOutOfRangeException>(() => server.Listen(0, null, gdMpApi: false));
    }

    [Fact]
    public async Task MaxPacketSize_WhileListening_Throws()
    {
        await using var server = StartServer();

        Assert.Throws<InvalidOperationException>(() => server.MaxPacketSize = 100);
    }

    [Fact]
    public async Task ConnectToUrl_NothingListening_ConnectionFailed()
    {
        await using var client = new WebSocketClient();
        var cp = new Probe(client);

        Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{GdNet.TestSupport.GodotPeerProcess.FreePort()}"));

        await PumpUntilAsync(() => cp.Has("failed"), cp);
        Assert.Equal(ConnectionStatus.Disconnected, client.GetConnectionStatus());
    }

    [Fact]
    public async Task ConnectToUrl_HttpScheme_ReturnsInvalidParameter()
    {
        await using var client = new WebSocketClient();

        Assert.Equal(Error.InvalidParameter, client.ConnectToUrl("http://127.0.0.1:1"));
    }

    [Fact]
    public async Task ConnectToUrl_WhileConnected_Throws()
    {
        await using var server = StartServer();
        var (a, _) = await ConnectAsync(server, new Probe(server));
        await using var __ = a;

        Assert.Throws<InvalidOperationException>(() => a.ConnectToUrl(server.Url!));
    }

    [Fact]
    public async Task ConnectToUrl_AfterDisconnect_ConnectsAgainWithNewId()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;
        var first = a.GetUniqueId();
        a.DisconnectFromHost();
        await PumpUntilAsync(() => sp.Has($"disconnected {first}"), sp, ap);

        a.ConnectToUrl(server.Url!);

        await PumpUntilAsync(() => ap.Events.Count(e => e == "succeeded") == 2, sp, ap);
        Assert.NotEqual(first, a.GetUniqueId());
    }

    [Fact]
    public async Task PutPacket_ClientNotConnected_ReturnsUnconfigured()
    {
        await using var client = new WebSocketClient();

        Assert.Equal(Error.Unconfigured, client.PutPacket([1]));
    }

    [Fact]
    public async Task PutPacket_OverMaxPacketSize_ReturnsInvalidParameterAndCountsTooLarge()
    {
        await using var server = StartServer();
        var (a, ap) = await ConnectAsync(server, new Probe(server));
        await using var _ = a;
        a.SetTargetPeer(1);

        Assert.Equal(Error.InvalidParameter, a.PutPacket(new byte[a.GetMaxPacketSize() + 1]));
        Assert.Equal(1, a.Statistics.GetRejections(PacketRejectReason.TooLarge));
    }

    [Fact]
    public async Task PutPacket_ManyPackets_ArriveInOrder()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;
        a.SetTargetPeer(1);

        for (var i = 0; i < 20000; i++)
        {
            Assert.Equal(Error.Ok, a.PutPacket(BitConverter.GetBytes(i)));
        }

        await PumpUntilAsync(() => sp.Packets.Count == 20000, sp, ap);
        for (var i = 0; i < 20000; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32(sp.Packets[i].Data));
        }
    }

    [Fact]
    public async Task Receive_InboxFull_ReadsLaterWithoutLoss()
    {
        await using var server = StartServer(s => s.InboxMaxPackets = 4);
        var sp = new Probe(server);
        var (a, ap) = await ConnectAsync(server, sp);
        await using var _ = a;
        a.SetTargetPeer(1);

        for (var i = 0; i < 200; i++)
        {
            a.PutPacket(BitConverter.GetBytes(i));
        }

        await PumpUntilAsync(() => sp.Packets.Count == 200, sp, ap);
        Assert.Equal(Enumerable.Range(0, 200), sp.Packets.Select(p => BitConverter.ToInt32(p.Data)));
        Assert.Equal(0, server.Statistics.GetRejections(PacketRejectReason.QueueFull));
    }

    [Fact]
    public async Task Receive_InboxFullWithManySenders_NothingDroppedNorRefused()
    {
        await using var server = StartServer(s => s.InboxMaxPackets = 64);
        var sp = new Probe(server);
        var clients = new List<WebSocketClient>();
        for (var i = 0; i < 4; i++)
        {
            var (c, _) = await ConnectAsync(server, sp);
            clients.Add(c);
        }

        foreach (var c in clients)
        {
            c.SetTargetPeer(1);
            for (var i = 0; i < 5000; i++)
            {
                c.PutPacket(BitConverter.GetBytes(i));
            }
        }

        await PumpUntilAsync(() => sp.Packets.Count == 20000, sp);
        Assert.All(clients, c => Assert.Equal(Enumerable.Range(0, 5000), sp.From(c.GetUniqueId()).Select(p => BitConverter.ToInt32(p))));
        Assert.Equal(0, server.Statistics.GetRejections(PacketRejectReason.QueueFull));
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Events_PacketsThenDisconnect_RaisedInOrder()
    {
        await using var server = StartServer();
        var sp = new Probe(server);
        var (a, _) = await ConnectAsync(server, sp);
        var log = new List<string>();
        server.PeerDisconnected += id => log.Add("disconnected");
        Send(a, 1, 1);
        Send(a, 1, 2);

        await a.DisposeAsync();

        var deadline = DateTime.UtcNow + Net.Timeout;
        while (!log.Contains("disconnected") && DateTime.UtcNow < deadline)
        {
            server.Poll();
            while (server.TryGetPacket(out var p))
            {
                log.Add("packet " + p[0]);
            }

            await Task.Delay(1);
        }

        Assert.Equal(["packet 1", "packet 2", "disconnected"], log);
    }
}
