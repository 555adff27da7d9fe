using GdNet.Cli.Conversation;
using GdNet.TestSupport;
using static GdNet.WebSockets.Tests.Net;

namespace GdNet.WebSockets.Tests;

/// <summary>
/// Conversation v1 (shared/godot3/README.md) against real Godot 3.2.3 peers over WebSocket, both directions: every
/// Godot client must end with <c>DONE ok</c> against a GdNet server, and a Godot server with <c>DONE ok</c> against
/// GdNet clients.
/// </summary>
[Trait("Category", "Interop")]
public class ConversationInteropTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static async Task RunGdNetServerWithGodotClientsAsync(int clients)
    {
        await using var server = StartServer();
        var conversation = ConversationPeer.Server(server, id => server.DisconnectPeer(id, 1000, "quit"));
        var log = new List<string>();
        conversation.Lobby.Line += log.Add;
        var runs = await GodotInterop.RunClientsAsync(
            "ws-client", server.LocalPort, clients, TimeSpan.FromSeconds(40), Wait, conversation.Poll,
            () => conversation.Lobby.ClientsOk + conversation.Lobby.ClientsFailed >= clients, "--timeout=25");

        foreach (var (run, i) in runs.Select((r, i) => (r, i)))
        {
            var detail = GodotInterop.ClientDetail(i, run, log);
            Assert.True(run.ExitCode == 0, detail);
            Assert.True(run.DoneLine == "DONE ok", detail);
        }

        Assert.Equal(clients, conversation.Lobby.ClientsOk);
        Assert.Equal(0, conversation.Lobby.ClientsFailed);
    }

    [Fact]
    public Task GdNetServer_OneGodotClient_GodotClientDoneOk() => RunGdNetServerWithGodotClientsAsync(1);

    [Fact]
    public Task GdNetServer_ThreeGodotClientsAtOnce_EveryGodotClientDoneOk() => RunGdNetServerWithGodotClientsAsync(3);

    private static async Task RunGodotServerWithGdNetClientsAsync(int clients)
    {
        var (godot, port) = await GodotServers.StartAsync("ws-server", TimeSpan.FromSeconds(40), Wait, $"--clients={clients}", "--timeout=25");
        await using var _godot = godot;
        var peers = new List<(WebSocketClient Client, ConversationPeer Conversation, List<string> Log)>();
        try
        {
            for (var i = 0; i < clients; i++)
            {
                var client = new WebSocketClient();
                Assert.Equal(Error.Ok, client.ConnectToUrl($"ws://127.0.0.1:{port}"));
                var c = ConversationPeer.Client(client);
                var log = new List<string>();
                c.Lobby.Line += log.Add;
                peers.Add((client, c, log));
            }

            var exit = await GodotInterop.PollUntilExitAsync(
                godot, Wait, () => peers.ForEach(p => p.Conversation.Poll()), () => peers.All(p => p.Conversation.Lobby.Succeeded is not null));

            var detail = GodotInterop.ServerDetail(godot, peers.Select(p => p.Log));
            Assert.True(exit == 0, detail);
            Assert.True(godot.DoneLine == "DONE ok", detail);
            Assert.All(peers, p => Assert.True(p.Conversation.Lobby.Succeeded == true, detail));
        }
        finally
        {
            foreach (var p in peers)
            {
                await p.Client.DisposeAsync();
            }
        }
    }

    [Fact]
    public Task GodotServer_OneGdNetClient_GodotServerDoneOk() => RunGodotServerWithGdNetClientsAsync(1);

    [Fact]
    public Task GodotServer_ThreeGdNetClientsAtOnce_GodotServerDoneOk() => RunGodotServerWithGdNetClientsAsync(3);
}
