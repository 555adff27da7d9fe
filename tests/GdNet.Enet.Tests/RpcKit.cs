using System.Diagnostics;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;

namespace GdNet.Enet.Tests;

/// <summary>The scene node every <see cref="RpcMachine"/> has at <c>Main/Lobby</c>: one member per RPC mode, recording
/// what ran and who sent it.</summary>
public sealed class RpcLobby : Node
{
    public List<string> Calls { get; } = [];

    public List<byte[]> Blobs { get; } = [];

    /// <summary>Marker numbers received (see <see cref="RpcSession.Flush"/>), kept apart from <see cref="Calls"/>.</summary>
    public List<int> Markers { get; } = [];

    private void Record(string what) => Calls.Add($"{what} from {Multiplayer?.GetRpcSenderId()}");

    [Remote]
    public void Echo(int n, string s) => Record($"Echo({n},{s})");

    [Remote]
    public void Marker(int n) => Markers.Add(n);

    [RemoteSync]
    public void Shout(string s) => Record($"Shout({s})");

    [Master]
    public void ToMaster(int n) => Record($"ToMaster({n})");

    [MasterSync]
    public void ToMasterSync(int n) => Record($"ToMasterSync({n})");

    [Puppet]
    public void ToPuppet(int n) => Record($"ToPuppet({n})");

    [PuppetSync]
    public void ToPuppetSync(int n) => Record($"ToPuppetSync({n})");

    [Remote]
    public void Blob(byte[] data)
    {
        Blobs.Add(data);
        Record($"Blob({data.Length})");
    }

    [Remote(Name = "submit")]
    public void Submit(VariantDictionary d) => Record($"submit({d.Count})");

    [Remote]
    public int Score { get; set; }

    [Puppet(Name = "motd")]
    public string Motd { get; set; } = string.Empty;

    [RemoteSync]
    public Vector2 Position;
}

/// <summary>One machine: a <see cref="NetworkedMultiplayerENet"/> under a <see cref="MultiplayerAPI"/> whose scene is
/// <c>/root/Main/Lobby</c> (wire path <c>Main/Lobby</c>), with everything the API raises logged in order.</summary>
public sealed class RpcMachine : IDisposable
{
    public RpcMachine(NetworkedMultiplayerENet peer, Node? lobby = null)
    {
        Peer = peer;
        Api = new MultiplayerAPI();
        Main = new Node { Name = "Main" };
        Api.RootNode.AddChild(Main);
        Lobby = lobby ?? new RpcLobby();
        Lobby.Name = "Lobby";
        Main.AddChild(Lobby);
        Api.RpcRejected += Rejections.Add;
        Api.PacketRejected += r => PacketRejections.Add(r);
        Api.NetworkPeerConnected += id => Events.Add($"connected {id}");
        Api.NetworkPeerDisconnected += id => Events.Add($"disconnected {id}");
        Api.ConnectedToServer += () => Events.Add("connected_to_server");
        Api.ConnectionFailed += () => Events.Add("connection_failed");
        Api.ServerDisconnected += () => Events.Add("server_disconnected");
        Api.NetworkPeerPacket += (id, bytes) => Raw.Add((id, bytes.ToArray()));
        Api.NetworkPeer = peer;
    }

    public NetworkedMultiplayerENet Peer { get; }

    public MultiplayerAPI Api { get; }

    public Node Main { get; }

    public Node Lobby { get; }

    public RpcLobby Rpc => (RpcLobby)Lobby;

    /// <summary>The peer's id (kept after the peer closes).</summary>
    public int Id { get; private set; }

    public List<string> Events { get; } = [];

    public List<RpcRejection> Rejections { get; } = [];

    public List<PacketRejection> PacketRejections { get; } = [];

    public List<(int From, byte[] Bytes)> Raw { get; } = [];

    public void Poll()
    {
        Api.Poll();
        if (Peer.GetUniqueId() != 0)
        {
            Id = Peer.GetUniqueId();
        }
    }

    public string Describe() =>
        $"id {Id}: events [{string.Join(", ", Events)}]; calls [{string.Join(", ", (Lobby as RpcLobby)?.Calls ?? [])}]; rpc rejections [{string.Join("; ", Rejections)}]; packet rejections [{string.Join("; ", PacketRejections)}]";

    public void Dispose() => Peer.Dispose();
}

/// <summary>A GdNet ENet server and clients on 127.0.0.1, each with its own MultiplayerAPI, all pumped on the test
/// thread.</summary>
public sealed class RpcSession : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly Func<Node>? _lobbyFactory;
    private readonly Action<NetworkedMultiplayerENet>? _configure;

    public RpcSession(int clients = 1, Func<Node>? lobbyFactory = null, Action<NetworkedMultiplayerENet>? configure = null)
    {
        _lobbyFactory = lobbyFactory;
        _configure = configure;
        var peer = new NetworkedMultiplayerENet();
        peer.SetBindIp("127.0.0.1");
        configure?.Invoke(peer);
        Assert.Equal(Error.Ok, peer.CreateServer(0, Math.Max(32, clients)));
        Server = new RpcMachine(peer, lobbyFactory?.Invoke());
        Server.Poll();
        for (var i = 0; i < clients; i++)
        {
            Clients.Add(StartClient(Port));
        }

        PumpUntil(() => Clients.All(IsSettled), TimeSpan.FromSeconds(30));
    }

    public RpcMachine Server { get; }

    public List<RpcMachine> Clients { get; } = [];

    public RpcMachine Client => Clients[0];

    public IEnumerable<RpcMachine> All => [Server, .. Clients];

    public int Port => Server.Peer.GetLocalPort();

    /// <summary>Adds a client and waits until the server and every client know it.</summary>
    /// <param name="port">Where the client connects (a proxy in front of the server); the server's own port by default.</param>
    public RpcMachine AddClient(int? port = null)
    {
        var c = StartClient(port ?? Port);
        Clients.Add(c);
        PumpUntil(() => IsSettled(c));
        return c;
    }

    /// <summary>Polls every machine until <paramref name="condition"/> holds; fails after the deadline with every log.</summary>
    public void PumpUntil(Func<bool> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Deadline;
        var sw = Stopwatch.StartNew();
        while (true)
        {
            foreach (var m in All)
            {
                m.Poll();
            }

            if (condition())
            {
                return;
            }

            if (sw.Elapsed > limit)
            {
                Assert.Fail($"Condition not met within {limit.TotalSeconds:0.#} s.\n  " + string.Join("\n  ", All.Select(m => m.Describe())));
            }

            Thread.Sleep(1);
        }
    }

    private int _marker;

    /// <summary>
    /// For "nothing else arrived" checks without waiting a fixed time: <paramref name="sender"/> calls the reliable
    /// <see cref="RpcLobby.Marker"/> RPC on each of <paramref name="targets"/>, and every machine is polled until each
    /// target ran it. Reliable packets from one sender reach a target in order (one ENet channel, and the server relays in
    /// order), so whatever the sender sent before has arrived and been dispatched by then.
    /// </summary>
    public void Flush(RpcMachine sender, params RpcMachine[] targets)
    {
        var n = ++_marker;
        foreach (var t in targets)
        {
            Assert.Equal(Error.Ok, sender.Lobby.RpcId(t.Id, nameof(RpcLobby.Marker), n));
        }

        PumpUntil(() => targets.All(t => t.Rpc.Markers.Contains(n)));
    }

    public void Dispose()
    {
        foreach (var m in All)
        {
            m.Dispose();
        }
    }

    private RpcMachine StartClient(int port)
    {
        var peer = new NetworkedMultiplayerENet();
        _configure?.Invoke(peer);
        Assert.Equal(Error.Ok, peer.CreateClient("127.0.0.1", port));
        var machine = new RpcMachine(peer, _lobbyFactory?.Invoke());
        machine.Poll();
        return machine;
    }

    /// <summary>The client is connected, and it and the server and every other client see each other.</summary>
    private bool IsSettled(RpcMachine c) =>
        c.Events.Contains("connected_to_server")
        && Server.Api.GetNetworkConnectedPeers().Contains(c.Id)
        && Clients.Where(o => o != c && o.Id != 0).All(o => o.Api.GetNetworkConnectedPeers().Contains(c.Id) && c.Api.GetNetworkConnectedPeers().Contains(o.Id));
}
