using System.Globalization;
using System.Text;
using GdNet.TestSupport;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

/// <summary>
/// Byte-level interop with real Godot 3.2.3 peers (shared/godot3/peers): the ENet handshake, client ids in the CONNECT
/// data, ADD/REMOVE system messages, relay, and MultiplayerAPI RAW packets (<c>send_bytes</c>) in both directions.
/// </summary>
[Trait("Category", "Interop")]
public sealed class GodotByteInteropTests
{
    private static readonly TimeSpan Hard = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static int IdOf(string line) => int.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture);

    [Fact]
    public async Task GodotClient_ToGdNetServer_ConnectsWithItsIdAndGetsRaw()
    {
        using var server = StartServer();
        await using var godot = GodotPeerProcess.Start("enet-client", Hard, $"--port={server.Peer.GetLocalPort()}", "--timeout=20");
        var id = IdOf(await godot.WaitForLineAsync("EVENT connected_to_server", Wait));
        await godot.WaitForLineAsync("EVENT peer_connected 1", Wait);
        PumpUntil(() => server.Has($"connected {id}"), server);

        Assert.Equal(Error.Ok, Send(server, id, [0x04, 0xab, 0xcd]));
        Assert.Equal($"RAW_RECEIVED 1 abcd", await godot.WaitForLineAsync("RAW_RECEIVED", Wait));
    }

    [Fact]
    public async Task GodotClients_ThreeToGdNetServer_AnnouncedToEachOtherAndRemovedOnKick()
    {
        using var server = StartServer();
        var port = server.Peer.GetLocalPort();
        await using var g1 = GodotPeerProcess.Start("enet-client", Hard, $"--port={port}", "--timeout=25");
        await using var g2 = GodotPeerProcess.Start("enet-client", Hard, $"--port={port}", "--timeout=25");
        await using var g3 = GodotPeerProcess.Start("enet-client", Hard, $"--port={port}", "--timeout=25");
        GodotPeerProcess[] godots = [g1, g2, g3];
        var ids = new int[3];
        for (var i = 0; i < 3; i++)
        {
            ids[i] = IdOf(await godots[i].WaitForLineAsync("EVENT connected_to_server", Wait));
        }

        PumpUntil(() => ids.All(id => server.Has($"connected {id}")), server);
        for (var i = 0; i < 3; i++)
        {
            foreach (var other in ids.Where(o => o != ids[i]))
            {
                await godots[i].WaitForLineAsync($"EVENT peer_connected {other}", Wait);
            }
        }

        server.Peer.DisconnectPeer(ids[0]);
        await g1.WaitForLineAsync("EVENT server_disconnected", Wait);
        await g2.WaitForLineAsync($"EVENT peer_disconnected {ids[0]}", Wait);
        await g3.WaitForLineAsync($"EVENT peer_disconnected {ids[0]}", Wait);
        PumpUntil(() => server.Has($"disconnected {ids[0]}"), server);
    }

    [Fact]
    public async Task GodotServer_GdNetClient_ConnectsAndReceivesGodotRpcBytes()
    {
        var (godot, port) = await GodotServers.StartAsync("enet-server", Hard, Wait, "--clients=1", "--timeout=20");
        await using var godotProcess = godot;
        using var client = Client(port);
        var id = client.Peer.GetUniqueId();
        PumpUntil(() => client.Has("succeeded") && client.Packets.Count >= 2, client);
        await godot.WaitForLineAsync($"EVENT peer_connected {id}", Wait);

        Assert.Equal(["connected 1", "succeeded"], client.Log.Take(2));
        // welcome(): SIMPLIFY_PATH for "Main/Lobby" first, then the call, both from the server on the reliable channel.
        var simplify = client.Packets[0];
        Assert.Equal((1, 1), (simplify.From, simplify.Channel));
        Assert.Equal(2, simplify.Data[0]);
        Assert.Equal("Main/Lobby\0", Encoding.UTF8.GetString(simplify.Data.AsSpan(5)));
        Assert.Equal(0, client.Packets[1].Data[0]);
    }

    [Fact]
    public async Task GodotServer_GdNetClientSendsRaw_GodotReceivesAndAnswers()
    {
        var (godot, port) = await GodotServers.StartAsync("enet-server", Hard, Wait, "--clients=1", "--timeout=20");
        await using var godotProcess = godot;
        using var client = Client(port);
        var id = client.Peer.GetUniqueId();
        PumpUntil(() => client.Has("succeeded"), client);

        Assert.Equal(Error.Ok, Send(client, 1, [0x04, 0x01, 0x02, 0x03, 0xfa]));
        Assert.Equal($"RAW_RECEIVED {id} 010203fa", await godot.WaitForLineAsync("RAW_RECEIVED", Wait));
        PumpUntil(() => client.Packets.Any(p => p.Data[0] == 0x04), client);
        Assert.Equal([0x04, 0xfa, 0x03, 0x02, 0x01], client.Packets.First(p => p.Data[0] == 0x04).Data);
    }

    [Fact]
    public async Task GodotServer_TwoGdNetClients_AnnouncedRelayedAndRemoved()
    {
        var (godot, port) = await GodotServers.StartAsync("enet-server", Hard, Wait, "--clients=2", "--timeout=20");
        await using var godotProcess = godot;
        using var a = Client(port);
        using var b = Client(port);
        int aid = a.Peer.GetUniqueId(), bid = b.Peer.GetUniqueId();
        PumpUntil(() => a.Has($"connected {bid}") && b.Has($"connected {aid}"), a, b);

        Assert.Equal(Error.Ok, Send(a, bid, [0x04, 0x55]));
        PumpUntil(() => b.Packets.Any(p => p.Data[0] == 0x04), a, b);
        Assert.Equal(aid, b.Packets.First(p => p.Data[0] == 0x04).From);

        a.Peer.CloseConnection();
        await godot.WaitForLineAsync($"EVENT peer_disconnected {aid}", Wait);
        PumpUntil(() => b.Has($"disconnected {aid}"), b);
        Assert.Contains((aid, EnetDisconnectReason.LeftServer), b.Left);
    }
}
