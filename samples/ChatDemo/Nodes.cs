using GdNet.Multiplayer;
using GdNet.Variants;

namespace GdNet.Samples.ChatDemo;

/// <summary>
/// The chat room, <c>/root/Main/Chat</c>. Its network master is the server (1, the default), so <c>[Master]</c> methods
/// run on the server and <c>[Puppet]</c> methods on the clients. One method per mode.
/// </summary>
public sealed class Chat : Node
{
    private readonly Dictionary<int, string> _names = [];
    private readonly HashSet<int> _ready = [];

    public Chat(Action<string> print) => Print = print;

    /// <summary>Where this machine writes what happens (prefixed with its name).</summary>
    public Action<string> Print { get; }

    public string Me => Multiplayer!.IsNetworkServer() ? "server" : NameOf(Multiplayer.GetNetworkUniqueId());

    /// <summary>The message of the day, set by the server on each client (<c>puppet var</c>).</summary>
    [Puppet]
    public string Motd
    {
        get;
        set
        {
            field = value;
            Print($"motd is now \"{value}\"");
        }
    } = string.Empty;

    public IReadOnlyCollection<int> ReadyPeers => _ready;

    public string NameOf(int id) => _names.TryGetValue(id, out var n) ? n : $"peer {id}";

    /// <summary><c>master</c>: a client asks the server (the master) to take a nickname.</summary>
    [Master]
    public void Submit(string nickname)
    {
        var id = Multiplayer!.GetRpcSenderId();
        Print($"{id} asks for the nickname \"{nickname}\"");
        _names[id] = nickname;
        Rpc(nameof(Joined), id, nickname); // puppet: not run here (the server is the master), run on every client
    }

    /// <summary><c>puppet</c>: the server tells the clients who joined. Accepted only from the master (the server).</summary>
    [Puppet]
    public void Joined(int id, string nickname)
    {
        _names[id] = nickname;
        Print($"{nickname} (peer {id}) joined");
    }

    /// <summary><c>remote</c>: "is typing…" goes to the others only.</summary>
    [Remote]
    public void Typing(bool typing) => Print($"{NameOf(Multiplayer!.GetRpcSenderId())} {(typing ? "is typing…" : "stopped typing")}");

    /// <summary><c>remotesync</c>: a chat line, shown everywhere including on the sender.</summary>
    [RemoteSync]
    public void Say(string text) => Print($"{NameOf(Multiplayer!.GetRpcSenderId())}: {text}");

    /// <summary><c>mastersync</c>: a client says it is ready; it runs on the caller (to update its own screen) and on the server.</summary>
    [MasterSync]
    public void Ready()
    {
        var id = Multiplayer!.GetRpcSenderId();
        _ready.Add(id);
        Print($"{NameOf(id)} is ready");
    }

    /// <summary><c>puppetsync</c>: the server announces something; it runs on the server too.</summary>
    [PuppetSync]
    public void Announce(string text) => Print($"announcement: {text}");

    /// <summary><c>puppetsync</c>: the server creates a player node everywhere (itself included).</summary>
    [PuppetSync]
    public void SpawnPlayer(int owner)
    {
        var players = GetNode("../Players");
        if (players.HasNode($"Player{owner}"))
        {
            return;
        }

        var player = new Player(Print) { Name = $"Player{owner}" };
        players.AddChild(player);
        player.SetNetworkMaster(owner);
        Print($"spawned Player{owner}, moved by peer {owner}");
    }
}

/// <summary>
/// A player, <c>/root/Main/Players/Player&lt;id&gt;</c>, whose network master is its owner: the owner moves it, every other
/// machine holds a puppet that follows.
/// </summary>
public sealed class Player : Node
{
    public Player(Action<string> print) => Print = print;

    public Action<string> Print { get; }

    /// <summary><c>puppet var</c>: set by the owner with <c>RsetUnreliable</c>; accepted only from the owner.</summary>
    [Puppet]
    public Vector2 Position
    {
        get;
        set
        {
            field = value;
            Print($"{Name} is at ({value.X}, {value.Y})");
        }
    }

    /// <summary>Moves this player (owner only) and tells the puppets.</summary>
    public void Move(float dx, float dy)
    {
        Position = new Vector2(Position.X + dx, Position.Y + dy);
        RsetUnreliable(nameof(Position), Position);
    }
}
