using GdNet.Cli.Conversation;
using GdNet.TestSupport;

namespace GdNet.Enet.Tests;

/// <summary>
/// Conversation v1 (shared/godot3/README.md) against real Godot 3.2.3 peers over ENet, both directions: every Godot
/// <c>enet-client</c> must end with <c>DONE ok</c> and exit code 0 against a GdNet server (1 client, and 3 at once), and
/// a Godot <c>enet-server</c> must end with <c>DONE ok</c> against a GdNet client playing the client role.
/// </summary>
[Trait("Category", "Interop")]
public sealed class ConversationInteropTests
{
    private static readonly TimeSpan Hard = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public Task GdNetServer_OneGodotClient_GodotClientDoneOk() => RunGdNetServerWithGodotClientsAsync(1);

    [Fact]
    public Task GdNetServer_ThreeGodotClientsAtOnce_EveryGodotClientDoneOk() => RunGdNetServerWithGodotClientsAsync(3);

    [Fact]
    public Task GodotServer_OneGdNetClient_GodotServerDoneOk() => RunGodotServerWithGdNetClientsAsync(1);

    [Fact]
    public Task GodotServer_ThreeGdNetClientsAtOnce_GodotServerDoneOk() => RunGodotServerWithGdNetClientsAsync(3);

    private static async Task RunGdNetServerWithGodotClientsAsync(int clients)
    {
        using var server = new NetworkedMultiplayerENet();
        server.SetBindIp("127.0.0.1");
        Assert.Equal(Error.Ok, server.CreateServer(0));
        var conversation = ConversationPeer.Server(server, id => Kick(server, id));
        var log = new List<string>();
        conversation.Lobby.Line += log.Add;
        conversation.Api.RpcRejected += r => log.Add("rpc rejected: " + r);
        server.PacketRejected += r => log.Add("packet rejected: " + r.Detail);
        var runs = await GodotInterop.RunClientsAsync(
            "enet-client", server.GetLocalPort(), clients, Hard, Wait, conversation.Poll,
            () => conversation.Lobby.ClientsOk + conversation.Lobby.ClientsFailed >= clients, "--timeout=25");

        foreach (var (run, i) in runs.Select((r, i) => (r, i)))
        {
            var detail = GodotInterop.ClientDetail(i, run, log);
            Assert.True(run.ExitCode == 0, detail);
            Assert.True(run.DoneLine == "DONE ok", detail);
        }

        Assert.Equal((clients, 0), (conversation.Lobby.ClientsOk, conversation.Lobby.ClientsFailed));
    }

    private static void Kick(NetworkedMultiplayerENet server, int id)
    {
        try
        {
            server.DisconnectPeer(id);
        }
        catch (ArgumentOutOfRangeException)
        {
            // it left on its own
        }
    }

    private static async Task RunGodotServerWithGdNetClientsAsync(int clients)
    {
        var (godot, port) = await GodotServers.StartAsync("enet-server", Hard, Wait, $"--clients={clients}", "--timeout=25");
        await using var godotProcess = godot;
        var peers = new List<(NetworkedMultiplayerENet Client, ConversationPeer Conversation, List<string> Log)>();
        try
        {
            for (var i = 0; i < clients; i++)
            {
                var client = new NetworkedMultiplayerENet();
                Assert.Equal(Error.Ok, client.CreateClient("127.0.0.1", port));
                var c = ConversationPeer.Client(client);
                var log = new List<string>();
                c.Lobby.Line += log.Add;
                c.Api.RpcRejected += r => log.Add("rpc rejected: " + r);
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
                p.Client.Dispose();
            }
        }
    }
}
