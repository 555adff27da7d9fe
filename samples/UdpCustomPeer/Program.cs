using System.Diagnostics;
using GdNet.Multiplayer;
using UdpCustomPeer;

// A server and two clients in one process, talking UDP through 127.0.0.1. Each hands its transport's peer to a
// MultiplayerAPI and calls RPCs on the node Main/Chat: MultiplayerAPI makes the packets, UdpTransport carries them (the
// server relays client-to-client ones, as Godot's server does), MultiplayerAPI runs the handler on the other side.
using var server = UdpTransport.Listen();
using var alice = UdpTransport.Connect(server.LocalEndPoint);
using var bob = UdpTransport.Connect(server.LocalEndPoint);
var heard = 0;
(MultiplayerAPI Api, Chat Chat)[] everyone = [Join("server", server), Join("alice", alice), Join("bob", bob)];
var (aliceChat, bobChat) = (everyone[1].Chat, everyone[2].Chat);

PollUntil(() => everyone.All(e => e.Api.GetNetworkConnectedPeers().Length == 2)); // each knows the two others

aliceChat.Rpc(nameof(Chat.Say), "hello, everyone");                        // remotesync: alice, the server and bob
bobChat.RpcId(alice.Peer.GetUniqueId(), nameof(Chat.Say), "hi alice");    // alice only, relayed by the server
PollUntil(() => heard == 4);
Console.WriteLine("done");

(MultiplayerAPI, Chat) Join(string name, UdpTransport transport)
{
    var api = new MultiplayerAPI();
    var main = new Node { Name = "Main" };
    var chat = new Chat { Name = "Chat", Owner = name, Heard = () => heard++ };
    api.RootNode.AddChild(main);
    main.AddChild(chat);
    api.NetworkPeer = transport.Peer;                                      // the custom peer UdpTransport drives
    return (api, chat);
}

// The game loop: Poll reads the transport (UdpTransport receives in the peer's Polling event) and runs the RPCs.
void PollUntil(Func<bool> done)
{
    var clock = Stopwatch.StartNew();
    while (!done())
    {
        if (clock.Elapsed > TimeSpan.FromSeconds(5))
        {
            throw new TimeoutException("The peers did not get there in 5 seconds.");
        }

        foreach (var (api, _) in everyone)
        {
            api.Poll();
        }

        Thread.Sleep(1);
    }
}

internal sealed class Chat : Node
{
    public required string Owner { get; init; }

    public required Action Heard { get; init; }

    [RemoteSync]
    public void Say(string text)
    {
        Console.WriteLine($"{Owner} got \"{text}\" from peer {Multiplayer!.GetRpcSenderId()}");
        Heard();
    }
}
