using System.Text;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

/// <summary>
/// GdNet's MultiplayerAPI on both ends of ENet (real sockets on 127.0.0.1): calls and property sets in both transfer
/// modes, RAW packets in every mode, broadcast and client-to-client relay through the server, sender ids, the
/// path-cache handshake, mode rules, and connection events reaching the API.
/// </summary>
public sealed class RpcOverEnetTests
{
    private static readonly TimeSpan Resend = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void Connect_ServerAndClient_ApiSeesEachOther()
    {
        using var s = new RpcSession();

        Assert.Equal([s.Client.Id], s.Server.Api.GetNetworkConnectedPeers());
        Assert.Equal([1], s.Client.Api.GetNetworkConnectedPeers());
        Assert.Equal(["connected 1", "connected_to_server"], s.Client.Events);
        Assert.Equal([$"connected {s.Client.Id}"], s.Server.Events);
    }

    [Fact]
    public void RpcId_ClientToServer_RunsWithSenderId()
    {
        using var s = new RpcSession();

        Assert.Equal(Error.Ok, s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 7, "hello"));
        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 1);

        Assert.Equal([$"Echo(7,hello) from {s.Client.Id}"], s.Server.Rpc.Calls);
    }

    [Fact]
    public void RpcUnreliableId_ClientToServer_RunsWithSenderId()
    {
        using var s = new RpcSession();

        // Unreliable: re-sent until one arrives, as Godot's conversation does.
        UntilArrived(s, () => s.Client.Lobby.RpcUnreliableId(1, nameof(RpcLobby.Echo), 100, "u"), () => s.Server.Rpc.Calls.Count > 0);

        Assert.Equal($"Echo(100,u) from {s.Client.Id}", s.Server.Rpc.Calls[0]);
    }

    [Fact]
    public void RsetId_ClientToServer_SetsProperty()
    {
        using var s = new RpcSession();

        Assert.Equal(Error.Ok, s.Client.Lobby.RsetId(1, nameof(RpcLobby.Score), 42));
        s.PumpUntil(() => s.Server.Rpc.Score == 42);

        Assert.Equal(0, s.Client.Rpc.Score);
    }

    [Fact]
    public void RsetUnreliableId_ClientToServer_SetsProperty()
    {
        using var s = new RpcSession();

        UntilArrived(s, () => s.Client.Lobby.RsetUnreliableId(1, nameof(RpcLobby.Score), 43), () => s.Server.Rpc.Score == 43);

        Assert.Equal(43, s.Server.Rpc.Score);
    }

    [Fact]
    public void Rset_ServerToClients_SetsPuppetPropertyByWireName()
    {
        using var s = new RpcSession(clients: 2);

        Assert.Equal(Error.Ok, s.Server.Lobby.Rset(nameof(RpcLobby.Motd), "hello from gdnet"));
        s.PumpUntil(() => s.Clients.All(c => c.Rpc.Motd.Length > 0));

        Assert.All(s.Clients, c => Assert.Equal("hello from gdnet", c.Rpc.Motd));
        Assert.Equal(string.Empty, s.Server.Rpc.Motd);
    }

    [Fact]
    public void RsetUnreliable_RemoteSyncField_SetHereAndOnServer()
    {
        using var s = new RpcSession();

        UntilArrived(s, () => s.Client.Lobby.RsetUnreliable(nameof(RpcLobby.Position), new Vector2(1, 2)), () => s.Server.Rpc.Position == new Vector2(1, 2));

        Assert.Equal(new Vector2(1, 2), s.Client.Rpc.Position);
    }

    [Theory]
    [InlineData(TransferModeEnum.Reliable)]
    [InlineData(TransferModeEnum.Unreliable)]
    [InlineData(TransferModeEnum.UnreliableOrdered)]
    public void SendBytes_EachMode_ArrivesAsRawWithSender(TransferModeEnum mode)
    {
        using var s = new RpcSession();

        UntilArrived(s, () => s.Client.Api.SendBytes([1, 2, 3, 0xfa], 1, mode), () => s.Server.Raw.Count > 0);

        Assert.Equal((s.Client.Id, "010203fa"), (s.Server.Raw[0].From, Convert.ToHexStringLower(s.Server.Raw[0].Bytes)));
    }

    [Fact]
    public void RpcUnreliable_ServerBroadcast_ReachesEveryClientFromServer()
    {
        using var s = new RpcSession(clients: 2);

        UntilArrived(s, () => s.Server.Lobby.RpcUnreliable(nameof(RpcLobby.ToPuppet), 5), () => s.Clients.All(c => c.Rpc.Calls.Count > 0));

        Assert.All(s.Clients, c => Assert.Equal("ToPuppet(5) from 1", c.Rpc.Calls[0]));
        Assert.Empty(s.Server.Rpc.Calls);
    }

    [Fact]
    public void Rpc_ServerBroadcastPuppetSync_RunsOnEveryClientAndLocally()
    {
        using var s = new RpcSession(clients: 3);

        Assert.Equal(Error.Ok, s.Server.Lobby.Rpc(nameof(RpcLobby.ToPuppetSync), 9));
        s.PumpUntil(() => s.Clients.All(c => c.Rpc.Calls.Count == 1));

        Assert.All(s.Clients, c => Assert.Equal("ToPuppetSync(9) from 1", c.Rpc.Calls[0]));
        Assert.Equal(["ToPuppetSync(9) from 1"], s.Server.Rpc.Calls);
    }

    [Fact]
    public void Rpc_ClientBroadcast_RelayedToOtherClientsWithOriginalSender()
    {
        using var s = new RpcSession(clients: 3);
        var sender = s.Clients[0];

        Assert.Equal(Error.Ok, sender.Lobby.Rpc(nameof(RpcLobby.Shout), "hello everyone"));
        s.PumpUntil(() => s.All.All(m => m.Rpc.Calls.Count == 1));

        var expected = $"Shout(hello everyone) from {sender.Id}";
        Assert.Equal([expected, expected, expected], [s.Server.Rpc.Calls[0], s.Clients[1].Rpc.Calls[0], s.Clients[2].Rpc.Calls[0]]);
        Assert.Equal(expected, sender.Rpc.Calls[0]); // a local call: the sender is itself, as in Godot
    }

    [Fact]
    public void Rpc_ClientBroadcastSecondTime_OnePacketRelayedByServer()
    {
        using var s = new RpcSession(clients: 3);
        var sender = s.Clients[0];
        sender.Lobby.Rpc(nameof(RpcLobby.Shout), "one");
        // Three CONFIRM_PATH come back: the server's and, relayed, the other clients'.
        s.PumpUntil(() => s.All.All(m => m.Rpc.Calls.Count == 1) && sender.Api.GetStats().Total.PacketsIn == 3);
        var before = sender.Api.GetStats().Total.PacketsOut;

        sender.Lobby.Rpc(nameof(RpcLobby.Shout), "two");
        s.PumpUntil(() => s.All.All(m => m.Rpc.Calls.Count == 2));

        // Every peer has confirmed the path: a single packet with target 0, which the server relays.
        Assert.Equal(1, sender.Api.GetStats().Total.PacketsOut - before);
        Assert.Equal($"Shout(two) from {sender.Id}", s.Clients[2].Rpc.Calls[1]);
    }

    [Fact]
    public void RpcId_ClientToClient_RelayedWithSenderAndNotRunOnServer()
    {
        using var s = new RpcSession(clients: 2);
        var (a, b) = (s.Clients[0], s.Clients[1]);

        Assert.Equal(Error.Ok, a.Lobby.RpcId(b.Id, nameof(RpcLobby.Echo), 3, "direct"));
        s.PumpUntil(() => b.Rpc.Calls.Count == 1);
        s.Flush(a, s.Server);

        Assert.Equal([$"Echo(3,direct) from {a.Id}"], b.Rpc.Calls);
        Assert.Empty(s.Server.Rpc.Calls);
        Assert.Empty(a.Rpc.Calls);
    }

    [Fact]
    public void RpcId_NegativeId_AllButThatClient()
    {
        using var s = new RpcSession(clients: 3);
        var (a, excluded, other) = (s.Clients[0], s.Clients[1], s.Clients[2]);

        Assert.Equal(Error.Ok, a.Lobby.RpcId(-excluded.Id, nameof(RpcLobby.Echo), 4, "not you"));
        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 1 && other.Rpc.Calls.Count == 1);
        s.Flush(a, excluded);

        Assert.Equal($"Echo(4,not you) from {a.Id}", other.Rpc.Calls[0]);
        Assert.Empty(excluded.Rpc.Calls);
    }

    [Fact]
    public void RpcId_MasterMethodFromClient_RunsOnServerOnly()
    {
        using var s = new RpcSession(clients: 2);

        Assert.Equal(Error.Ok, s.Clients[0].Lobby.Rpc(nameof(RpcLobby.ToMasterSync), 6));
        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 1);
        s.Flush(s.Clients[0], s.Clients[1]);

        Assert.Equal($"ToMasterSync(6) from {s.Clients[0].Id}", s.Server.Rpc.Calls[0]);
        Assert.Equal([$"ToMasterSync(6) from {s.Clients[0].Id}"], s.Clients[0].Rpc.Calls);
        Assert.Empty(s.Clients[1].Rpc.Calls);
    }

    [Fact]
    public void RpcId_PuppetMethodFromClient_RejectedByOtherClient()
    {
        using var s = new RpcSession(clients: 2);
        var (a, b) = (s.Clients[0], s.Clients[1]);

        a.Lobby.RpcId(b.Id, nameof(RpcLobby.ToPuppet), 1);
        s.PumpUntil(() => b.Rejections.Count == 1);

        Assert.Equal((RpcRejectReason.ForbiddenByMode, a.Id), (b.Rejections[0].Reason, b.Rejections[0].PeerId));
        Assert.Empty(b.Rpc.Calls);
    }

    [Fact]
    public void Rpc_LargeArgument_ArrivesWhole()
    {
        using var s = new RpcSession();
        var blob = new byte[200_000];
        new Random(6).NextBytes(blob);

        Assert.Equal(Error.Ok, s.Client.Lobby.RpcId(1, nameof(RpcLobby.Blob), blob));
        s.PumpUntil(() => s.Server.Rpc.Blobs.Count == 1);

        Assert.Equal(blob, s.Server.Rpc.Blobs[0]);
    }

    [Fact]
    public void Rpc_ManyInOneFrame_RunInOrder()
    {
        using var s = new RpcSession();

        for (var i = 0; i < 500; i++)
        {
            s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), i, "seq");
        }

        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 500);

        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"Echo({i},seq) from {s.Client.Id}"), s.Server.Rpc.Calls);
    }

    [Fact]
    public void PathCache_FirstCalls_SimplifyThenByPathThenById()
    {
        // A raw ENet server sees what the client's MultiplayerAPI sends, and answers CONFIRM_PATH itself.
        using var server = StartServer();
        using var client = new RpcMachine(NewClient(server.Peer.GetLocalPort()));
        PumpUntil(() => { client.Poll(); return client.Events.Contains("connected_to_server"); }, server);

        client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 1, "a");
        client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 2, "b");
        PumpUntil(() => server.Packets.Count == 3, server);
        Send(server, client.Id, [3, .. "Main/Lobby\0"u8]);
        PumpUntil(() => { client.Poll(); return client.Api.GetStats().Total.PacketsIn == 1; }, server);
        client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 3, "c");
        PumpUntil(() => server.Packets.Count == 4, server);

        var p = server.Packets;
        Assert.Equal("02" + "01000000" + Hex("Main/Lobby\0"), Convert.ToHexStringLower(p[0].Data));
        Assert.Equal([0x00, 0x80], [p[1].Data[0], p[1].Data[4]]);
        Assert.Equal([0x00, 0x80], [p[2].Data[0], p[2].Data[4]]);
        Assert.EndsWith(Hex("Main/Lobby\0"), Convert.ToHexStringLower(p[2].Data), StringComparison.Ordinal);
        Assert.Equal("00" + "01000000", Convert.ToHexStringLower(p[3].Data.AsSpan(0, 5)));
        Assert.All(p, x => Assert.Equal((client.Id, NetworkedMultiplayerENet.ChannelReliable), (x.From, x.Channel)));
    }

    [Fact]
    public void PathCache_ServerApi_AnswersSimplifyWithConfirm()
    {
        using var s = new RpcSession();
        s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 1, "a");

        s.PumpUntil(() => s.Client.Api.GetStats().Total.PacketsIn == 1 && s.Server.Rpc.Calls.Count == 1);
        var afterConfirm = s.Client.Api.GetStats().Total.BytesOut;
        s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 2, "b");

        // By id: command (1) + target (4) + "Echo\0" (5) + argc (1) + int (8) + String "b" (12) = 31 bytes, no path.
        Assert.Equal(31, s.Client.Api.GetStats().Total.BytesOut - afterConfirm);
        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 2);
        Assert.Empty(s.Server.Rejections);
    }

    [Fact]
    public void PathCache_ClientJoinsLater_ServerAnnouncesPathToIt()
    {
        using var s = new RpcSession(clients: 1);
        s.Server.Lobby.RpcId(s.Client.Id, nameof(RpcLobby.ToPuppet), 1);
        s.PumpUntil(() => s.Client.Rpc.Calls.Count == 1);
        var late = s.AddClient();
        s.Server.Rpc.Calls.Clear();

        Assert.Equal(Error.Ok, s.Server.Lobby.RpcId(late.Id, nameof(RpcLobby.ToPuppet), 2));
        s.PumpUntil(() => late.Rpc.Calls.Count == 1);

        Assert.Equal("ToPuppet(2) from 1", late.Rpc.Calls[0]);
        Assert.Empty(late.Rejections);
    }

    [Fact]
    public void ClientCloses_ServerAndOtherClients_RaiseNetworkPeerDisconnected()
    {
        using var s = new RpcSession(clients: 3);
        var leaving = s.Clients[0];
        var id = leaving.Id;

        leaving.Peer.CloseConnection();
        s.PumpUntil(() => s.Server.Events.Contains($"disconnected {id}") && s.Clients.Skip(1).All(c => c.Events.Contains($"disconnected {id}")));

        Assert.DoesNotContain(id, s.Server.Api.GetNetworkConnectedPeers());
        Assert.All(s.Clients.Skip(1), c => Assert.Equal([1, s.Clients.Single(o => o != c && o != leaving).Id], c.Api.GetNetworkConnectedPeers().Order()));
    }

    [Fact]
    public void ServerKicksClient_ClientApi_RaisesServerDisconnected()
    {
        using var s = new RpcSession();
        var id = s.Client.Id;

        s.Server.Peer.DisconnectPeer(id);
        s.PumpUntil(() => s.Client.Events.Contains("server_disconnected") && s.Server.Events.Contains($"disconnected {id}"));

        Assert.Equal(Error.Unconfigured, s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 1, "late"));
        Assert.Empty(s.Client.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void ServerCloses_EveryClientApi_RaisesServerDisconnected()
    {
        using var s = new RpcSession(clients: 2);

        s.Server.Peer.CloseConnection();
        s.PumpUntil(() => s.Clients.All(c => c.Events.Contains("server_disconnected")));

        Assert.All(s.Clients, c => Assert.Equal(ConnectionStatus.Disconnected, c.Peer.GetConnectionStatus()));
    }

    [Fact]
    public void ClientVanishes_ServerApi_RaisesNetworkPeerDisconnectedAfterTimeout()
    {
        using var s = new RpcSession(clients: 0, configure: p =>
        {
            p.PeerTimeoutMinimum = TimeSpan.FromMilliseconds(300);
            p.PeerTimeoutMaximum = TimeSpan.FromMilliseconds(600);
        });
        var left = new List<EnetDisconnectReason>();
        s.Server.Peer.PeerLeft += (_, reason) => left.Add(reason);
        using var raw = RawEnetHost.Client(s.Port, 5000);
        s.PumpUntil(() => { raw.Service(); return s.Server.Events.Contains("connected 5000"); });

        // The client's host is destroyed without a disconnect: it just stops answering.
        raw.Vanish();
        s.PumpUntil(() => s.Server.Events.Contains("disconnected 5000"));

        Assert.Equal([EnetDisconnectReason.TimedOut], left);
        Assert.Empty(s.Server.Api.GetNetworkConnectedPeers());
    }

    [Fact]
    public void RefusedConnection_ClientApi_RaisesConnectionFailed()
    {
        using var s = new RpcSession(clients: 0);
        s.Server.Api.RefuseNewNetworkConnections = true;
        var peer = new NetworkedMultiplayerENet { ConnectTimeout = TimeSpan.FromMilliseconds(500) };
        Assert.Equal(Error.Ok, peer.CreateClient("127.0.0.1", s.Port));
        using var refused = new RpcMachine(peer);

        s.PumpUntil(() => { refused.Poll(); return refused.Events.Count > 0; });

        Assert.Equal(["connection_failed"], refused.Events);
        Assert.Empty(s.Server.Events);
    }

    [Fact]
    public void GarbagePayloads_FromConnectedPeer_RejectedAndRpcsKeepWorking()
    {
        using var s = new RpcSession();
        using var raw = RawEnetHost.Client(s.Port, 5000);
        s.PumpUntil(() => { raw.Service(); return s.Server.Events.Contains("connected 5000"); });
        var random = new Random(77);
        for (var i = 0; i < 200; i++)
        {
            var junk = new byte[random.Next(1, 300)];
            random.NextBytes(junk);
            junk[0] = (byte)(i % 6); // every command (4 RAW is valid; 5 is unknown)
            raw.SendGodot(5000, 1, junk);
        }

        s.PumpUntil(() => { raw.Service(); return s.Server.Api.GetStats().Peers.TryGetValue(5000, out var p) && p.PacketsIn == 200; });
        s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 1, "still here");
        s.PumpUntil(() => s.Server.Rpc.Calls.Contains($"Echo(1,still here) from {s.Client.Id}"));

        Assert.True(s.Server.Rejections.Count > 100, $"{s.Server.Rejections.Count} rejections");
        Assert.All(s.Server.Rejections, r => Assert.Equal(5000, r.PeerId));
    }

    [Fact]
    public void GarbageDatagrams_ToServerPort_RpcsKeepWorking()
    {
        using var s = new RpcSession();
        using (var udp = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)))
        {
            var random = new Random(78);
            var target = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, s.Port);
            for (var i = 0; i < 300; i++)
            {
                var junk = new byte[random.Next(1, 1400)];
                random.NextBytes(junk);
                udp.Send(junk, junk.Length, target);
            }
        }

        s.PumpUntil(() => s.Server.Peer.Statistics.GetRejections(PacketRejectReason.Malformed) >= 100);
        var late = s.AddClient();
        late.Lobby.RpcId(1, nameof(RpcLobby.Echo), 2, "late");
        s.Client.Lobby.RpcId(1, nameof(RpcLobby.Echo), 1, "early");
        s.PumpUntil(() => s.Server.Rpc.Calls.Count == 2);

        Assert.Empty(s.Server.Rejections);
    }

    private static NetworkedMultiplayerENet NewClient(int port)
    {
        var peer = new NetworkedMultiplayerENet();
        Assert.Equal(Error.Ok, peer.CreateClient("127.0.0.1", port));
        return peer;
    }

    private static string Hex(string s) => Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s));

    /// <summary>Calls <paramref name="send"/> (which must succeed) every 100 ms until <paramref name="arrived"/>.</summary>
    private static void UntilArrived(RpcSession s, Func<Error> send, Func<bool> arrived)
    {
        var last = DateTime.MinValue;
        s.PumpUntil(() =>
        {
            if (arrived())
            {
                return true;
            }

            if (DateTime.UtcNow - last > Resend)
            {
                Assert.Equal(Error.Ok, send());
                last = DateTime.UtcNow;
            }

            return false;
        });
    }
}
