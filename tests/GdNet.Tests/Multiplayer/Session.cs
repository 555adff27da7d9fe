using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Peers.Local;

namespace GdNet.Tests.Multiplayer;

/// <summary>One machine of a <see cref="Session"/>: a MultiplayerAPI on a LocalNetwork peer with <c>/root/Main/Lobby</c>.</summary>
public sealed class Machine
{
    public Machine(NetworkedMultiplayerCustom peer, Func<Node>? lobbyFactory = null)
    {
        Peer = peer;
        Api = new MultiplayerAPI();
        Main = new Node { Name = "Main" };
        Api.RootNode.AddChild(Main);
        Lobby = lobbyFactory?.Invoke() ?? new TestLobby();
        Lobby.Name = "Lobby";
        Main.AddChild(Lobby);
        Api.RpcRejected += Rejections.Add;
        Api.NetworkPeerConnected += id => Events.Add($"connected {id}");
        Api.NetworkPeerDisconnected += id => Events.Add($"disconnected {id}");
        Api.ConnectedToServer += () => Events.Add("connected_to_server");
        Api.ConnectionFailed += () => Events.Add("connection_failed");
        Api.ServerDisconnected += () => Events.Add("server_disconnected");
        Api.NetworkPeerPacket += (id, bytes) => Raw.Add((id, bytes.ToArray()));
        peer.PacketGenerated += (target, packet, mode) => Sent.Add(new SentPacket(target, packet.ToArray(), mode));
        Api.NetworkPeer = peer;
    }

    public MultiplayerAPI Api { get; }

    public NetworkedMultiplayerCustom Peer { get; }

    public Node Main { get; }

    public Node Lobby { get; }

    public TestLobby TestLobby => (TestLobby)Lobby;

    public int Id => Api.GetNetworkUniqueId();

    public List<RpcRejection> Rejections { get; } = [];

    public List<string> Events { get; } = [];

    public List<(int From, byte[] Bytes)> Raw { get; } = [];

    /// <summary>Every packet this machine's API put on its peer, in order.</summary>
    public List<SentPacket> Sent { get; } = [];

    public override string ToString() => $"machine {Id}";

    /// <summary>A server machine (id 1) on a bare custom peer the test drives itself (AddPeer, DeliverPacket, RemovePeer).</summary>
    public static (NetworkedMultiplayerCustom Peer, Machine Machine) StandaloneServer()
    {
        var peer = new NetworkedMultiplayerCustom();
        peer.SetConnectionStatus(ConnectionStatus.Connecting);
        var machine = new Machine(peer);
        peer.Initialize(1);
        return (peer, machine);
    }
}

public readonly record struct SentPacket(int Target, byte[] Bytes, TransferModeEnum Mode)
{
    public string Hex => Convert.ToHexStringLower(Bytes);
}

/// <summary>A server and clients on one LocalNetwork (perfect links), each with its own MultiplayerAPI and scene.</summary>
public sealed class Session : IDisposable
{
    private readonly Func<Node>? _lobbyFactory;

    public Session(int clients = 1, Func<Node>? lobbyFactory = null, int seed = 1)
    {
        _lobbyFactory = lobbyFactory;
        Network = new LocalNetwork(seed);
        Server = new Machine(Network.CreateServer(), lobbyFactory);
        for (var i = 0; i < clients; i++)
        {
            AddClient();
        }
    }

    public LocalNetwork Network { get; }

    public Machine Server { get; }

    public List<Machine> Clients { get; } = [];

    public Machine Client => Clients[0];

    public IEnumerable<Machine> All => [Server, .. Clients];

    public Machine AddClient()
    {
        var machine = new Machine(Network.CreateClient(), _lobbyFactory);
        Clients.Add(machine);
        Pump();
        return machine;
    }

    /// <summary>Delivers and polls until nothing moves (bounded).</summary>
    public void Pump()
    {
        for (var round = 0; round < 100; round++)
        {
            Network.RunUntilIdle(TimeSpan.FromSeconds(10));
            foreach (var m in All)
            {
                m.Api.Poll();
            }

            if (Network.PacketsInFlight == 0 && All.All(m => m.Peer.AvailablePacketCount == 0))
            {
                return;
            }
        }

        throw new TimeoutException("The session did not settle within 100 rounds.");
    }

    /// <summary>Polls only <paramref name="machine"/> after delivering what is in flight.</summary>
    public void DeliverTo(Machine machine)
    {
        Network.RunUntilIdle(TimeSpan.FromSeconds(10));
        machine.Api.Poll();
    }

    public void ClearLogs()
    {
        foreach (var m in All)
        {
            m.Sent.Clear();
            m.Rejections.Clear();
            m.Events.Clear();
            m.Raw.Clear();
            if (m.Lobby is TestLobby t)
            {
                t.Calls.Clear();
            }
        }
    }

    public void Dispose() => Network.Dispose();
}
