using GdNet.TestSupport;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// <c>gdnet serve</c> with real Godot 3.2.3 clients: rooms from the URL path, WebSocket and ENet players in one room,
/// drain on SIGTERM. Each room's lobby waits for its players (<c>--lobby-min-players</c>) and lets them go together, so
/// every client is present for every other's broadcasts: the relay is exercised, not raced.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeRoomsTests
{
    [Fact]
    public async Task Two_pairs_of_Godot_clients_in_two_rooms_relay_within_their_room_only()
    {
        var (serve, port) = await StartAsync(1, "--lobby", "conversation-v1", "--lobby-min-players", "2");
        await using var _ = serve;
        GodotPeerProcess[] godots =
        [
            Godot("ws-client", $"--url=ws://127.0.0.1:{port}/red"),
            Godot("ws-client", $"--url=ws://127.0.0.1:{port}/red"),
            Godot("ws-client", $"--url=ws://127.0.0.1:{port}/blue"),
            Godot("ws-client", $"--url=ws://127.0.0.1:{port}/blue"),
        ];
        try
        {
            foreach (var g in godots)
            {
                var exit = await g.WaitForExitAsync(Wait);
                Assert.True(exit == 0 && g.DoneLine == "DONE ok", Describe(serve, godots));
            }

            var rooms = RoomsOf(serve);
            var ids = godots.Select(OwnId).ToArray();
            Assert.Equal(["red", "red", "blue", "blue"], ids.Select(id => rooms[id]));
            for (var i = 0; i < 4; i++)
            {
                var partner = ids[i ^ 1];
                Assert.True(PeersSeen(godots[i]).Order().SequenceEqual(new[] { 1, partner }.Order()), Describe(serve, godots));
                Assert.True(AnnouncesFrom(godots[i]).SequenceEqual([partner]), Describe(serve, godots));
            }
        }
        finally
        {
            foreach (var g in godots)
            {
                await g.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_WebSocket_and_an_ENet_Godot_client_in_one_room_relay_typed_RPCs_both_ways()
    {
        var (serve, port) = await StartAsync(2, "--transport", "ws,enet", "--lobby", "conversation-v1", "--lobby-min-players", "2");
        await using var _ = serve;
        Assert.Contains(serve.Lines, l => l == $"listening on enet://127.0.0.1:{port}");
        var ws = Godot("ws-client", $"--port={port}");
        var enet = Godot("enet-client", $"--port={port}");
        await using (ws)
        await using (enet)
        {
            Assert.True(await ws.WaitForExitAsync(Wait) == 0 && ws.DoneLine == "DONE ok", Describe(serve, ws, enet));
            Assert.True(await enet.WaitForExitAsync(Wait) == 0 && enet.DoneLine == "DONE ok", Describe(serve, ws, enet));

            var wsId = OwnId(ws);
            var enetId = OwnId(enet);
            var rooms = RoomsOf(serve);
            Assert.Equal(Room.DefaultName, rooms[wsId]);
            Assert.Equal(Room.DefaultName, rooms[enetId]);
            Assert.Contains(serve.Lines, l => l.StartsWith($"peer {wsId} connected (room default, ws ", StringComparison.Ordinal));
            Assert.Contains(serve.Lines, l => l.StartsWith($"peer {enetId} connected (room default, enet ", StringComparison.Ordinal));

            // announce("hello everyone") is a remotesync broadcast: the String RPC crosses from WebSocket to ENet and back.
            Assert.Equal([enetId], AnnouncesFrom(ws));
            Assert.Equal([wsId], AnnouncesFrom(enet));
            Assert.Contains(enetId, PeersSeen(ws));
            Assert.Contains(wsId, PeersSeen(enet));
            Assert.Contains((1, $"[{enetId},\"hello everyone\"]"), Rpcs(ws, "relayed"));
            Assert.Contains((1, $"[{wsId},\"hello everyone\"]"), Rpcs(enet, "relayed"));
        }
    }

    [Fact]
    public async Task SIGTERM_drains_connected_Godot_clients_and_exits_0()
    {
        // Three players needed to start: the two Godot clients wait in the lobby, connected, until the drain.
        var (serve, port) = await StartAsync(2, "--transport", "ws,enet", "--lobby", "conversation-v1", "--lobby-min-players", "3", "--drain-seconds", "10");
        await using var _ = serve;
        var ws = Godot("ws-client", $"--port={port}");
        var enet = Godot("enet-client", $"--port={port}");
        await using (ws)
        await using (enet)
        {
            Assert.True(await serve.WaitForLinesContainingAsync(" connected (room default,", 2, Wait), Describe(serve, ws, enet));

            var exit = await serve.TerminateAsync(Wait);

            Assert.True(exit == 0, Describe(serve, ws, enet));
            Assert.Contains(serve.Lines, l => l.StartsWith("draining: 2 peers", StringComparison.Ordinal));
            Assert.Contains("drained: every peer left", serve.Lines);
            Assert.Equal("stopped", serve.Lines[^1]);

            // Both were told goodbye: they end at once with a disconnect (exit 1), not by their own timeout (exit 2).
            Assert.Equal(1, await ws.WaitForExitAsync(Wait));
            Assert.Equal(1, await enet.WaitForExitAsync(Wait));
            Assert.Contains(ws.Lines, l => l is "EVENT server_disconnected" or "EVENT connection_failed");
            Assert.Contains("EVENT server_disconnected", enet.Lines);
        }
    }
}
