// The WebSocketBot sample over ENet: the same bot, only the peer differs. It joins `gdnet serve --transport enet`
// (Godot 3's ENet client names no room: it lands in room "default", or serve's --enet-room) or any Godot 3 ENet server.
//   dotnet run --project samples/EnetBot -- 127.0.0.1 9080 alice
using GdNet;
using GdNet.Enet;
using GdNet.Multiplayer;

var host = args.Length > 0 ? args[0] : "127.0.0.1";
var port = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 9080;
var name = args.Length > 2 ? args[2] : "bot";

var api = new MultiplayerAPI();
var main = new Node { Name = "Main" };
var chat = new Chat { Name = "Chat" };
api.RootNode.AddChild(main);
main.AddChild(chat);
api.ConnectedToServer += () => Console.WriteLine($"{name}: connected as peer {api.GetNetworkUniqueId()}");
api.NetworkPeerConnected += id => { if (id != 1) chat.RpcId(id, nameof(Chat.Hello), name); };

#region enet-peer
using var peer = new NetworkedMultiplayerENet();                         // needs libenet7 (apt-get install libenet7)
if (peer.CreateClient(host, port) != Error.Ok)                          // as create_client(host, port) in Godot
{
    Console.Error.WriteLine($"cannot connect to {host}:{port}");
    return 1;
}

api.NetworkPeer = peer;
#endregion

var running = true;
Console.CancelKeyPress += (_, e) => (e.Cancel, running) = (true, false);
api.ConnectionFailed += () => (running, Environment.ExitCode) = (false, 1);
api.ServerDisconnected += () => running = false;
while (running)
{
    api.Poll();
    Thread.Sleep(16);
}

return Environment.ExitCode;

internal sealed class Chat : Node
{
    [Remote(Name = "hello")]
    public void Hello(string from) => Console.WriteLine($"{from} (peer {Multiplayer!.GetRpcSenderId()}) says hello");
}
