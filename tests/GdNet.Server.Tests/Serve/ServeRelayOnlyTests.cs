using System.Diagnostics;
using System.Text.Json;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.TestSupport;
using GdNet.Variants;
using GdNet.WebSockets;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// <c>gdnet serve</c> without <c>--lobby</c> is a pure relay: RPCs to <c>Main/Lobby</c> reach the other players of the
/// room, and nothing plays peer 1 (no welcome, no pong). Against a real Godot 3.2.3 client and a GdNet client.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ServeRelayOnlyTests
{
    [Fact]
    public async Task Without_a_lobby_RPCs_to_Main_Lobby_are_relayed_to_the_room_and_nothing_answers_for_peer_1()
    {
        var (serve, port) = await StartAsync(1, "--admin-port", "0");
        await using var _ = serve;
        var admin = await AdminUriAsync(serve);
        var url = $"ws://127.0.0.1:{port}/plain";

        // The Godot client waits for the lobby's welcome; with a pure relay it never comes, and it gives up after 8 s.
        await using var godot = GodotPeerProcess.Start("ws-client", TimeSpan.FromSeconds(50), $"--url={url}", "--timeout=8");
        Assert.True(await serve.WaitForLinesContainingAsync("(room plain,", 1, Wait), Describe(serve, godot));
        var godotId = RoomsOf(serve).Single().Key;

        // A GdNet client in the same room: an RPC to peer 1's Main/Lobby, then a broadcast to the room's Main/Lobby.
        var api = new MultiplayerAPI();
        var main = new Node { Name = "Main" };
        var lobby = new ClientLobby();
        api.RootNode.AddChild(main);
        main.AddChild(lobby);
        var peer = new WebSocketClient();
        await using var __ = peer;
        Assert.Equal(Error.Ok, peer.ConnectToUrl(url));
        api.NetworkPeer = peer;
        await PollUntilAsync(api, () => api.GetNetworkConnectedPeers().Contains(godotId), "the GdNet client sees the Godot client");

        lobby.RpcId(1, "ping", 7L, "hello");
        lobby.Rpc("announce", "hello everyone");

        // The broadcast reaches the Godot client with the sender's id. Packets of one sender are routed in order, so
        // the ping to peer 1 has been handled by now: dropped, as by a Godot server with no node at that path.
        var csharpId = peer.GetUniqueId();
        var deadline = Stopwatch.StartNew();
        while (!Rpcs(godot, "announce").Contains((csharpId, "[\"hello everyone\"]")))
        {
            Assert.True(deadline.Elapsed < Wait, "the Godot client gets the announce\n" + Describe(serve, godot));
            api.Poll();
            await Task.Delay(10);
        }

        using var http = new HttpClient { BaseAddress = admin, Timeout = Wait };
        using (var status = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))))
        {
            var root = status.RootElement;
            Assert.Equal(JsonValueKind.Null, root.GetProperty("hosted").ValueKind); // no hosted logic at all
            Assert.Equal(0, root.GetProperty("totals").GetProperty("deliveredToHost").GetInt64());
            Assert.Equal(0, root.GetProperty("totals").GetProperty("sentByHost").GetInt64());
            Assert.True(root.GetProperty("totals").GetProperty("relayed").GetInt64() >= 1);
        }

        // The Godot client is never welcomed: it times out waiting; the GdNet client got no welcome and no pong either.
        var exit = await godot.WaitForExitAsync(Wait);
        api.Poll();
        Assert.True(exit == 2 && godot.DoneLine == "DONE fail timeout", Describe(serve, godot));
        Assert.Empty(Rpcs(godot, "welcome"));
        Assert.Equal(0, lobby.Welcomes);
        Assert.Empty(lobby.Pongs);
        Assert.DoesNotContain(serve.Lines, l => l.Contains("conversation v1", StringComparison.Ordinal));
    }

    private static async Task PollUntilAsync(MultiplayerAPI api, Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Wait, "not within the time: " + what);
            api.Poll();
            await Task.Delay(10);
        }
    }

    /// <summary>The client side of conversation v1's <c>Main/Lobby</c>, counting what a lobby would send.</summary>
    private sealed class ClientLobby : Node
    {
        public ClientLobby() => Name = "Lobby";

        public int Welcomes { get; private set; }

        public List<long> Pongs { get; } = [];

        [Puppet(Name = "welcome")]
        public void Welcome(Variant yourId, Variant serverName) => Welcomes++;

        [Puppet(Name = "pong")]
        public void Pong(Variant n, Variant s) => Pongs.Add(n.AsInt64());

        [RemoteSync(Name = "announce")]
        public void Announce(string text)
        {
        }
    }
}
