// A bot for a Godot 3 game, in C#: it joins `gdnet serve` (or any Godot 3 WebSocket server with gd_mp_api framing),
// greets every player who joins with an RPC, and prints the greetings it receives. Ctrl+C leaves cleanly.
//   dotnet run --project samples/WebSocketBot -- ws://127.0.0.1:9080/my-room alice
// The README's quick start is the region below (a test keeps them equal).
#region quick-start
using GdNet.Multiplayer;
using GdNet.WebSockets;

var url = args.Length > 0 ? args[0] : "ws://127.0.0.1:9080/my-room";    // gdnet serve: the URL path names the room
var name = args.Length > 1 ? args[1] : "bot";

var api = new MultiplayerAPI();                                          // its root node is Godot's /root
var main = new Node { Name = "Main" };
var chat = new Chat { Name = "Chat" };                                   // wire path "Main/Chat", as in the Godot scene
api.RootNode.AddChild(main);
main.AddChild(chat);
api.ConnectedToServer += () => Console.WriteLine($"{name}: connected as peer {api.GetNetworkUniqueId()}");
api.NetworkPeerConnected += id => { if (id != 1) chat.RpcId(id, nameof(Chat.Hello), name); }; // 1 is the server

await using var peer = new WebSocketClient();
peer.ConnectToUrl(url);                                                  // as connect_to_url(url, [], true) in Godot
api.NetworkPeer = peer;

var running = true;
Console.CancelKeyPress += (_, e) => (e.Cancel, running) = (true, false); // Ctrl+C: leave the loop, then disconnect
api.ConnectionFailed += () => (running, Environment.ExitCode) = (false, 1);
api.ServerDisconnected += () => running = false;
while (running)
{
    api.Poll();                                                          // receive; run RPC handlers and events here
    Thread.Sleep(16);                                                    // the rest of a 60 Hz frame
}

internal sealed class Chat : Node
{
    [Remote(Name = "hello")]                                             // GDScript: remote func hello(from)
    public void Hello(string from) => Console.WriteLine($"{from} (peer {Multiplayer!.GetRpcSenderId()}) says hello");
}
#endregion
