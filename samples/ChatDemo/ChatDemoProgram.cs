using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;
using GdNet.Variants;

namespace GdNet.Samples.ChatDemo;

/// <summary>
/// A server and two clients on one <see cref="LocalNetwork"/>: they chat and move a puppet, using every RPC mode
/// (remote, remotesync, master, mastersync, puppet, puppetsync) and rset, and one forbidden call shows a rejection.
/// </summary>
public static class ChatDemoProgram
{
    public static int Main() => Run(Console.Out);

    /// <summary>Runs the demo, writing what happens to <paramref name="output"/>; returns 0 when everything arrived.</summary>
    public static int Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var network = new LocalNetwork(seed: 2024);
        var machines = new List<Machine>();

        var server = new Machine("server", network.CreateServer(), output);
        machines.Add(server);
        server.Api.NetworkPeerConnected += id =>
        {
            // A new client: spawn its player everywhere, show it the players that exist, give it the motd.
            server.Chat.Rpc(nameof(Chat.SpawnPlayer), id);
            foreach (var existing in server.Api.GetNetworkConnectedPeers().Where(p => p != id))
            {
                server.Chat.RpcId(id, nameof(Chat.SpawnPlayer), existing);
            }

            server.Chat.RsetId(id, nameof(Chat.Motd), "be nice");
        };

        void Frame()
        {
            for (var i = 0; i < 20 && (network.PacketsInFlight > 0 || i == 0); i++)
            {
                network.RunUntilIdle(TimeSpan.FromSeconds(1));
                foreach (var m in machines)
                {
                    m.Api.Poll();
                }
            }
        }

        output.WriteLine("-- alice and bob connect (the server spawns players with puppetsync and sets the motd with a puppet rset)");
        var alice = new Machine("alice", network.CreateClient(), output);
        machines.Add(alice);
        Frame();
        var bob = new Machine("bob", network.CreateClient(), output);
        machines.Add(bob);
        Frame();

        output.WriteLine("-- nicknames (master: runs on the server, which answers with a puppet call)");
        alice.Chat.RpcId(1, nameof(Chat.Submit), "alice");
        bob.Chat.RpcId(1, nameof(Chat.Submit), "bob");
        Frame();

        output.WriteLine("-- typing (remote: the others only)");
        alice.Chat.Rpc(nameof(Chat.Typing), true);
        Frame();

        output.WriteLine("-- chat (remotesync: everyone, the sender too)");
        alice.Chat.Rpc(nameof(Chat.Say), "hi all");
        bob.Chat.Rpc(nameof(Chat.Say), "hello alice");
        Frame();

        output.WriteLine("-- ready (mastersync: the caller and the server; rpc() also reaches alice, who refuses it: she is not the master)");
        bob.Chat.Rpc(nameof(Chat.Ready));
        Frame();

        output.WriteLine("-- announcement (puppetsync from the server: the server and the clients)");
        server.Chat.Rpc(nameof(Chat.Announce), "the round starts");
        Frame();

        output.WriteLine("-- alice moves her player (puppet var, rset_unreliable: the puppets follow)");
        var alicePlayer = alice.Main.GetNode<Player>($"Players/Player{alice.Id}");
        alicePlayer.Move(1, 0);
        Frame();
        alicePlayer.Move(0, 2);
        Frame();

        output.WriteLine("-- bob tries to move alice's player (refused: bob is not its master)");
        bob.Main.GetNode<Player>($"Players/Player{alice.Id}").RsetId(1, nameof(Player.Position), new Vector2(99, 99));
        Frame();

        var expected = new Vector2(1, 2);
        var ok = server.Chat.NameOf(alice.Id) == "alice"
            && bob.Chat.NameOf(alice.Id) == "alice"
            && alice.Chat.Motd == "be nice"
            && bob.Chat.Motd == "be nice"
            && server.Chat.ReadyPeers.Contains(bob.Id) && bob.Chat.ReadyPeers.Contains(bob.Id) && !alice.Chat.ReadyPeers.Contains(bob.Id)
            && machines.All(m => m.Main.GetNode<Player>($"Players/Player{alice.Id}").Position == expected)
            && server.Rejections == 1 && alice.Rejections == 1 && bob.Rejections == 0
            && machines.All(m => m.Lines.Count(l => l.Contains(": hi all", StringComparison.Ordinal)) == 1)
            && alice.Lines.All(l => !l.Contains("is typing", StringComparison.Ordinal))
            && bob.Lines.Any(l => l.Contains("alice is typing", StringComparison.Ordinal));

        var stats = server.Api.GetStats().Total;
        output.WriteLine($"-- server totals: {stats.RpcIn} rpc and {stats.RsetIn} rset in, {stats.RpcOut} rpc and {stats.RsetOut} rset out, {stats.BytesIn} bytes in, {stats.BytesOut} bytes out, {stats.TotalRejections} rejected");
        output.WriteLine(ok ? "DEMO ok" : "DEMO fail");
        return ok ? 0 : 1;
    }

    /// <summary>One machine: its MultiplayerAPI, the scene (Main/Chat, Main/Players) and what it printed.</summary>
    private sealed class Machine
    {
        public Machine(string name, NetworkedMultiplayerCustom peer, TextWriter output)
        {
            Name = name;
            Api = new MultiplayerAPI();
            Main = new Node { Name = "Main" };
            Api.RootNode.AddChild(Main);
            Chat = new Chat(Print) { Name = "Chat" };
            Main.AddChild(Chat);
            Main.AddChild(new Node { Name = "Players" });
            Api.RpcRejected += r =>
            {
                Rejections++;
                Print($"rejected: {r.Reason}: {r.Detail}");
            };
            Api.NetworkPeer = peer;
            void Print(string line)
            {
                Lines.Add(line);
                output.WriteLine($"[{Name,-6}] {line}");
            }
        }

        public string Name { get; }

        public MultiplayerAPI Api { get; }

        public Node Main { get; }

        public Chat Chat { get; }

        public List<string> Lines { get; } = [];

        public int Rejections { get; private set; }

        public int Id => Api.GetNetworkUniqueId();
    }
}
