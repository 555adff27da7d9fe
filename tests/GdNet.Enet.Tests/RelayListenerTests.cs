using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GdNet.Peers;
using GdNet.Server;
using GdNet.TestSupport;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

/// <summary>A room's hosted logic for tests: refuses packets (Full) while closed, records what it gets in order.</summary>
internal sealed class GateHost : IRoomHost
{
    private volatile bool _open = true;

    public ConcurrentQueue<string> Log { get; } = new();

    public ConcurrentQueue<(int From, byte[] Data, TransferModeEnum Mode)> Packets { get; } = new();

    public bool Open
    {
        get => _open;
        set => _open = value;
    }

    public void PeerJoined(int peerId) => Log.Enqueue($"joined {peerId}");

    public void PeerLeft(int peerId) => Log.Enqueue($"left {peerId}");

    public HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
    {
        if (!_open)
        {
            return HostDelivery.Full;
        }

        Packets.Enqueue((from, payload.ToArray(), mode));
        Log.Enqueue("packet");
        return HostDelivery.Accepted;
    }

    public Task WhenRoomAsync(int length) => _open ? Task.CompletedTask : Task.Delay(5);

    public void Dispose()
    {
    }
}

public sealed class RelayListenerTests
{
    private static readonly byte[] Marker = [0xEE];

    private static EnetRelayListener Listen(RelayRouter router, Action<EnetRelayListener>? configure = null)
    {
        var listener = new EnetRelayListener(router) { BindIp = "127.0.0.1" };
        configure?.Invoke(listener);
        Assert.Equal(Error.Ok, listener.Listen(0));
        Assert.NotEqual(0, listener.LocalPort);
        return listener;
    }

    private static Recorder Join(EnetRelayListener listener, Action<NetworkedMultiplayerENet>? configure = null)
    {
        var client = Client(listener.LocalPort, configure);
        var id = client.Peer.GetUniqueId();
        PumpUntil(() => client.Has("succeeded") && listener.Router.FindPeer(id) is not null, client);
        return client;
    }

    [Fact]
    public void Listen_TwoClients_JoinTheConfiguredRoomAndLearnEachOther()
    {
        var router = new RelayRouter();
        using var listener = Listen(router, l => l.Room = "arena");
        Assert.Equal($"enet://127.0.0.1:{listener.LocalPort}", listener.Url);
        using var a = Join(listener);
        using var b = Join(listener);
        var (aid, bid) = (a.Peer.GetUniqueId(), b.Peer.GetUniqueId());
        PumpUntil(() => a.Has($"connected {bid}") && b.Has($"connected {aid}"), a, b);

        var room = router.FindRoom("arena");
        Assert.NotNull(room);
        Assert.Equal(new[] { aid, bid }.Order(), room.Members.Select(m => m.PeerId).Order());
        Assert.All(room.Members, m => Assert.Equal(EnetRelayListener.TransportName, m.Transport));
        Assert.Null(router.FindRoom(Room.DefaultName));
        Assert.Equal(2, listener.PeerCount);
    }

    [Fact]
    public void Relay_ClientToClient_ArrivesWithSenderAndIsCounted()
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var a = Join(listener);
        using var b = Join(listener);
        var bid = b.Peer.GetUniqueId();
        PumpUntil(() => a.Has($"connected {bid}"), a, b);
        Assert.Equal(Error.Ok, Send(a, bid, [5, 6]));
        PumpUntil(() => b.Packets.Count == 1, a, b);
        Assert.Equal((a.Peer.GetUniqueId(), 1), (b.Packets[0].From, b.Packets[0].Channel));
        Assert.Equal([5, 6], b.Packets[0].Data);
        Assert.Equal(1, router.GetStatistics().Relayed);
        var stats = listener.GetStatistics();
        Assert.Equal(2, stats.Peers);
        Assert.True(stats.PacketsIn >= 1 && stats.BytesIn >= 10, stats.ToString());
        Assert.True(stats.PacketsOut >= 3, stats.ToString()); // two ADD_PEER and the relayed packet
    }

    [Fact]
    public void Admission_SameIdOnTwoListenersOfOneRouter_SecondRefusedIdTakenOnce()
    {
        var router = new RelayRouter();
        using var first = Listen(router, l => l.Room = "one");
        using var second = Listen(router, l => l.Room = "two");
        using var a = Join(first, p => p.ForcedClientId = 777);
        using var other = Join(second);
        using var clash = Client(second.LocalPort, p =>
        {
            p.ForcedClientId = 777;
            p.ConnectTimeout = TimeSpan.FromMilliseconds(1500);
        });
        PumpUntil(() => clash.Has("failed"), a, other, clash);

        Assert.Equal(["failed"], clash.Log);
        Assert.Equal(1, router.GetStatistics().Refusals.GetValueOrDefault(nameof(AdmissionRefusal.IdTaken)));
        Assert.Equal("one", router.FindPeer(777)?.Room?.Name);

        // Rooms keep their clients apart: the clients of "two" never heard of 777.
        Assert.Equal(Error.Ok, Send(other, 1, Marker));
        Assert.Equal(Error.Ok, Send(a, 1, Marker));
        PumpUntil(() => listenerPacketsIn(first) >= 1 && listenerPacketsIn(second) >= 1, a, other);
        Assert.DoesNotContain("connected 777", other.Log);

        static long listenerPacketsIn(EnetRelayListener l) => l.GetStatistics().PacketsIn;
    }

    [Fact]
    public void Admission_AsyncHookRefuses_ClientFailsNeverSeesPeerAndIsCountedOnce()
    {
        var router = new RelayRouter();
        var checks = 0;
        router.AddAdmissionHook(async (request, ct) =>
        {
            if (request.RequestedPeerId != 888)
            {
                return AdmissionDecision.Accept();
            }

            Interlocked.Increment(ref checks);
            await Task.Delay(50, ct);
            return AdmissionDecision.Refuse(AdmissionRefusal.Forbidden, "not this one");
        });
        using var listener = Listen(router);
        using var existing = Join(listener);
        using var refused = Client(listener.LocalPort, p =>
        {
            p.ForcedClientId = 888;
            p.ConnectTimeout = TimeSpan.FromMilliseconds(2500);
        });
        PumpUntil(() => refused.Has("failed"), existing, refused);

        Assert.Equal(["failed"], refused.Log);
        Assert.Equal(1, Volatile.Read(ref checks)); // the retransmissions of its CONNECT were answered from the first check
        Assert.Equal(1, router.GetStatistics().Refusals.GetValueOrDefault(nameof(AdmissionRefusal.Forbidden)));
        Assert.Null(router.FindPeer(888));
        Assert.Equal(Error.Ok, Send(existing, 1, Marker));
        PumpUntil(() => listener.GetStatistics().PacketsIn >= 1, existing);
        Assert.DoesNotContain("connected 888", existing.Log);
    }

    [Fact]
    public void Admission_AsyncHookAcceptsLater_ClientConnectsOnARetransmittedConnect()
    {
        var router = new RelayRouter();
        var checks = 0;
        router.AddAdmissionHook(async (request, ct) =>
        {
            Interlocked.Increment(ref checks);
            await Task.Delay(200, ct);
            return AdmissionDecision.Accept("late");
        });
        using var listener = Listen(router);
        using var client = Join(listener);

        var id = client.Peer.GetUniqueId();
        Assert.Equal(["connected 1", "succeeded"], client.Log);
        Assert.Equal(1, Volatile.Read(ref checks));
        Assert.Equal("late", router.FindPeer(id)!.Name);
        Assert.Equal(1, router.PeerCount);
    }

    [Fact]
    public void Admission_AsyncHookAcceptsLater_RangeCoderClientConnects()
    {
        var router = new RelayRouter();
        router.AddAdmissionHook(async (request, ct) =>
        {
            await Task.Delay(100, ct);
            return AdmissionDecision.Accept();
        });
        using var listener = Listen(router, l => l.CompressionMode = CompressionModeEnum.RangeCoder);
        using var client = Join(listener, p => p.CompressionMode = CompressionModeEnum.RangeCoder);
        Assert.Equal(Error.Ok, Send(client, 1, new byte[3000]));
        PumpUntil(() => listener.GetStatistics().PacketsIn >= 1, client);
    }

    [Fact]
    public void Admission_AcceptedConnectWhoseHandshakeNeverCompletes_ReservationReleased()
    {
        var router = new RelayRouter();
        using var listener = Listen(router, l => l.AdmissionTimeout = TimeSpan.FromMilliseconds(500));
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        udp.Client.ReceiveTimeout = 10_000;
        var connect = CapturedConnect(connectId: 0x01020304, clientId: 777);
        udp.Send(connect, connect.Length, new IPEndPoint(IPAddress.Loopback, listener.LocalPort));

        // Answered (VERIFY_CONNECT): admitted, id 777 and a place in the room reserved; never acknowledged.
        IPEndPoint? from = null;
        Assert.NotEmpty(udp.Receive(ref from));
        Assert.NotNull(router.FindRoom(Room.DefaultName));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (router.FindRoom(Room.DefaultName) is not null)
        {
            Assert.True(sw.Elapsed < Deadline, "the reservation of an admission whose handshake never completed was not released");
            Thread.Sleep(10);
        }

        using var client = Join(listener, p => p.ForcedClientId = 777);
        Assert.Equal(0, router.GetStatistics().Refusals.GetValueOrDefault(nameof(AdmissionRefusal.IdTaken)));
    }

    // Godot's own CONNECT (from the ENet capture), with its connect id and client id replaced.
    private static byte[] CapturedConnect(uint connectId, uint clientId)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Paths.SharedFile("godot3/vectors/rpc-packets.json")));
        var enet = doc.RootElement.GetProperty("captures").EnumerateArray().Single(c => c.GetProperty("transport").GetString() == "enet");
        var unit = enet.GetProperty("units").EnumerateArray().First(u =>
            u.GetProperty("kind").GetString() == "udp_datagram"
            && u.GetProperty("commands").EnumerateArray().Any(c => c.GetProperty("command").GetString() == "CONNECT"));
        var bytes = Convert.FromHexString(unit.GetProperty("hex").GetString()!);
        var command = bytes.Length - 48; // the one CONNECT command after the header
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(command + 40), connectId);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(command + 44), clientId);
        return bytes;
    }

    [Fact]
    public void SendFromHost_FromAnotherThread_ClientReceivesAllInOrder()
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var a = Join(listener);
        using var b = Join(listener);
        var aid = a.Peer.GetUniqueId();
        var room = router.FindRoom(Room.DefaultName)!;

        var sender = new Thread(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                Assert.Equal(Error.Ok, room.SendFromHost(aid, BitConverter.GetBytes(i), TransferModeEnum.Reliable));
            }

            Assert.Equal(Error.Ok, room.SendFromHost(0, Marker, TransferModeEnum.Reliable));
        });
        sender.Start();
        sender.Join();

        PumpUntil(() => a.Packets.Count == 501 && b.Packets.Count == 1, a, b);
        Assert.Equal(Enumerable.Range(0, 500), a.Packets.Take(500).Select(p => BitConverter.ToInt32(p.Data)));
        Assert.All(a.Packets, p => Assert.Equal((1, 1), (p.From, p.Channel)));
        Assert.Equal(Marker, a.Packets[^1].Data);
        Assert.Equal(1, b.Packets[0].From);
        Assert.Equal(Marker, b.Packets[0].Data);
    }

    [Theory]
    [InlineData(TransferModeEnum.Reliable, 1)]
    [InlineData(TransferModeEnum.UnreliableOrdered, 2)]
    public void SendFromHost_Mode_ArrivesOnGodotChannel(TransferModeEnum mode, int channel)
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var a = Join(listener);
        var room = router.FindRoom(Room.DefaultName)!;
        // Unreliable packets may be dropped; keep sending until one arrives.
        PumpUntil(() =>
        {
            Assert.Equal(Error.Ok, room.SendFromHost(0, [3], mode));
            return a.Packets.Count > 0;
        }, a);
        Assert.Equal((1, channel), (a.Packets[0].From, a.Packets[0].Channel));
    }

    [Fact]
    public void HostFull_ReliablePacketsHeldInOrderAndLeaveWaitsForThem()
    {
        var host = new GateHost { Open = false };
        var router = new RelayRouter { HostFactory = _ => host };
        using var listener = Listen(router);
        using var client = Join(listener);
        var id = client.Peer.GetUniqueId();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Error.Ok, Send(client, 1, [(byte)i]));
        }

        PumpUntil(() => listener.GetStatistics().PacketsIn >= 20, client);
        client.Peer.CloseConnection();

        // ENet has let the client go, but it has not left: its held packets come first.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (listener.PeerCount != 0)
        {
            Assert.True(sw.Elapsed < Deadline, "the server never saw the client disconnect");
            Thread.Sleep(5);
        }

        Assert.Equal(1, router.PeerCount);
        Assert.DoesNotContain($"left {id}", host.Log);
        Assert.Empty(host.Packets);

        host.Open = true;
        sw.Restart();
        while (!host.Log.Contains($"left {id}"))
        {
            Assert.True(sw.Elapsed < Deadline, "the held packets were not delivered");
            Thread.Sleep(5);
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (byte)i), host.Packets.Select(p => p.Data[0]));
        Assert.Equal([$"joined {id}", .. Enumerable.Repeat("packet", 20), $"left {id}"], host.Log);
        Assert.Equal(0, router.PeerCount);
        Assert.Empty(router.GetStatistics().Rejections);
    }

    [Fact]
    public void HostFull_UnreliablePacketDroppedAsQueueFull_SenderStays()
    {
        var host = new GateHost { Open = false };
        var router = new RelayRouter { HostFactory = _ => host };
        using var listener = Listen(router);
        using var client = Join(listener);
        PumpUntil(() =>
        {
            Send(client, 1, [1], TransferModeEnum.Unreliable);
            return router.GetStatistics().Rejections.GetValueOrDefault(PacketRejectReason.QueueFull) >= 1;
        }, client);

        host.Open = true;
        Assert.Equal(Error.Ok, Send(client, 1, Marker));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!host.Packets.Any(p => p.Data.SequenceEqual(Marker)))
        {
            Assert.True(sw.Elapsed < Deadline, "the marker did not arrive");
            client.Pump();
            Thread.Sleep(1);
        }

        Assert.NotNull(router.FindPeer(client.Peer.GetUniqueId()));
    }

    [Fact]
    public void Kick_ThroughRoom_ClientSeesServerDisconnectedAsKickedAndLeaves()
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var a = Join(listener);
        var id = a.Peer.GetUniqueId();
        Assert.True(router.FindRoom(Room.DefaultName)!.Kick(id, "bye"));
        PumpUntil(() => a.Has("server_disconnected") && router.PeerCount == 0, a);
        Assert.Equal([(1, EnetDisconnectReason.Kicked)], a.Left);
    }

    [Fact]
    public async Task DrainAsync_ConnectedClient_DisconnectedGracefullyAndRouterEmpties()
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var a = Join(listener);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Error.Ok, router.FindRoom(Room.DefaultName)!.SendFromHost(a.Peer.GetUniqueId(), [(byte)i], TransferModeEnum.Reliable));
        }

        var drained = router.DrainAsync(Deadline);
        PumpUntil(() => a.Has("server_disconnected"), a);
        Assert.True(await drained);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (byte)i), a.Packets.Select(p => p.Data[0])); // queued data left first
        Assert.Equal([(1, EnetDisconnectReason.Closed)], a.Left); // data 1, as Godot's close_connection
        Assert.Equal(0, router.PeerCount);
    }

    [Fact]
    public void Stop_ConnectedClients_DisconnectedAndGoneFromTheRouter_ListenAgainWorks()
    {
        var router = new RelayRouter();
        var listener = Listen(router);
        using var a = Join(listener);
        listener.Stop();
        listener.Stop();
        PumpUntil(() => a.Has("server_disconnected"), a);
        Assert.Equal([(1, EnetDisconnectReason.Closed)], a.Left);
        Assert.Equal(0, router.PeerCount);
        Assert.Empty(router.Rooms);
        Assert.False(listener.IsListening);
        Assert.Null(listener.Url);

        Assert.Equal(Error.Ok, listener.Listen(0));
        using var b = Join(listener);
        listener.Dispose();
    }

    [Fact]
    public void Properties_WhileListening_Throw()
    {
        using var listener = Listen(new RelayRouter());
        Assert.Throws<InvalidOperationException>(() => listener.MaxClients = 4);
        Assert.Throws<InvalidOperationException>(() => listener.Listen(0));
        Assert.Throws<ArgumentException>(() => new EnetRelayListener(new RelayRouter()).Room = "no spaces");
        Assert.Throws<ArgumentException>(() => new EnetRelayListener(new RelayRouter()).BindIp = "::1");
    }

    [Fact]
    public void PacketLoss_ALossyPathToAClient_IsMeasuredOnItsConnectionAndNearZeroOnAGoodOne()
    {
        var router = new RelayRouter();
        using var listener = Listen(router);
        using var good = Join(listener);
        using var proxy = new ChaosUdpProxy(listener.LocalPort);
        proxy.ToClient.Loss = 0.25; // the server's side of the path loses a quarter of what it sends
        using var lossy = Client(proxy.Port);
        var lossyId = lossy.Peer.GetUniqueId();
        PumpUntil(() => lossy.Has($"connected {good.Peer.GetUniqueId()}") && good.Has($"connected {lossyId}"), good, lossy);
        var (toGood, toLossy) = (router.FindPeer(good.Peer.GetUniqueId())!, router.FindPeer(lossyId)!);

        // Reliable traffic to the lossy client: ENet sends again what a dropped datagram carried, and recomputes its
        // loss figure every 10 s, so this takes a little over 10 s.
        var payload = new byte[64];
        var round = 0;
        PumpUntil(
            () =>
            {
                if (round++ % 10 == 0)
                {
                    Assert.Equal(Error.Ok, Send(good, lossyId, payload));
                    Assert.Equal(Error.Ok, Send(lossy, good.Peer.GetUniqueId(), payload));
                }

                return toLossy.PacketLoss > 0 && toGood.PacketLoss is not null;
            },
            TimeSpan.FromSeconds(40), good, lossy);

        Assert.True(proxy.ToClientCounters.Dropped > 0, proxy.ToString());
        Assert.InRange(toLossy.PacketLoss!.Value, double.Epsilon, 1);
        // Loopback loses nothing, but ENet counts a reliable packet whose acknowledgement came after its retransmission
        // timeout as lost, which a loaded machine can cause now and then: the good path's figure is near zero, far below.
        Assert.True(toGood.PacketLoss!.Value < toLossy.PacketLoss.Value / 10, $"good {toGood.PacketLoss}, lossy {toLossy.PacketLoss}");
        Assert.NotNull(toLossy.RoundTripTime);
    }
}
