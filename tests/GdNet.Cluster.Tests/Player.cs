using System.Diagnostics;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;
using GdNet.WebSockets;

namespace GdNet.Cluster.Tests;

/// <summary>
/// A player written with GdNet (its WebSocket client sends the bytes a Godot client sends): a <see cref="MultiplayerAPI"/>
/// with <c>/root/Main/Probe</c>, which checks sequenced RPCs per sender, and <c>/root/Main/Lobby</c>, the client side of
/// serve's conversation lobby. The test thread polls it (<see cref="PumpUntilAsync"/>): no thread of its own.
/// </summary>
internal sealed class Player : IAsyncDisposable
{
    private Player(string url)
    {
        var main = new Node { Name = "Main" };
        Api.RootNode.AddChild(main);
        main.AddChild(Probe);
        main.AddChild(Lobby);
        Api.NetworkPeerConnected += id => Peers.Add(id);
        Api.NetworkPeerDisconnected += id =>
        {
            Peers.Remove(id);
            Departed.Add(id);
        };
        Api.ServerDisconnected += () => ServerGone = true;
        Api.ConnectionFailed += () => ServerGone = true;
        var err = Peer.ConnectToUrl(url);
        Assert.True(err == Error.Ok, $"connect to {url}: {err}");
        Api.NetworkPeer = Peer;
    }

    public WebSocketClient Peer { get; } = new();

    public MultiplayerAPI Api { get; } = new();

    public ProbeNode Probe { get; } = new();

    public LobbyNode Lobby { get; } = new();

    /// <summary>The peers connected to it now (ADD_PEER minus REMOVE_PEER).</summary>
    public HashSet<int> Peers { get; } = [];

    /// <summary>Every peer it saw leave (REMOVE_PEER), in order.</summary>
    public List<int> Departed { get; } = [];

    /// <summary>Its connection to its node closed or failed.</summary>
    public bool ServerGone { get; private set; }

    public int Id => Peer.GetUniqueId();

    public bool IsConnected => Peer.GetConnectionStatus() == ConnectionStatus.Connected && Id > 1;

    public static Player Join(string url) => new(url);

    /// <summary>Polls every player until <paramref name="condition"/> holds; fails with <paramref name="because"/> after <paramref name="timeout"/>.</summary>
    public static async Task PumpUntilAsync(IEnumerable<Player> players, Func<bool> condition, TimeSpan timeout, Func<string> because)
    {
        var all = players as IReadOnlyList<Player> ?? [.. players];
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var p in all)
            {
                p.Api.Poll();
            }

            if (condition())
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Not within {timeout.TotalSeconds:0.#} s: {because()}");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Polls until every player is connected and sees every other one (and only those, besides peer 1).</summary>
    public static Task UntilAllSeeEachOtherAsync(IReadOnlyList<Player> players, TimeSpan timeout) =>
        PumpUntilAsync(players, () => players.All(p => p.IsConnected && players.All(o => o == p || p.Peers.Contains(o.Id))), timeout,
            () => "players see each other: " + string.Join("; ", players.Select(p => $"{p.Id} sees [{string.Join(",", p.Peers.Order())}]")));

    public async ValueTask DisposeAsync()
    {
        Api.NetworkPeer = null;
        await Peer.DisposeAsync();
    }

    /// <summary>Receives <c>seq(n)</c> RPCs and checks that each sender's numbers come 0, 1, 2… with none missing or reordered.</summary>
    internal sealed class ProbeNode : Node
    {
        private readonly Dictionary<int, long> _next = [];

        public ProbeNode() => Name = "Probe";

        public long Received { get; private set; }

        /// <summary>Numbers skipped (a later one came first): lost, or overtaken.</summary>
        public long Missing { get; private set; }

        /// <summary>Numbers that came after a later one.</summary>
        public long Reordered { get; private set; }

        /// <summary>The markers received: (sender, value).</summary>
        public List<(int From, long Value)> Markers { get; } = [];

        /// <summary>How many of <paramref name="sender"/>'s numbers arrived in order so far (the next expected).</summary>
        public long From(int sender) => _next.GetValueOrDefault(sender);

        [Remote(Name = "seq")]
        public void Seq(long n)
        {
            var from = Multiplayer!.GetRpcSenderId();
            var want = _next.GetValueOrDefault(from);
            if (n > want)
            {
                Missing += n - want;
            }
            else if (n < want)
            {
                Reordered++;
            }

            _next[from] = Math.Max(want, n + 1);
            Received++;
        }

        [Remote(Name = "marker")]
        public void Marker(long value) => Markers.Add((Multiplayer!.GetRpcSenderId(), value));
    }

    /// <summary>The client side of serve's conversation lobby (<c>/root/Main/Lobby</c>): counts its greetings and answers.</summary>
    internal sealed class LobbyNode : Node
    {
        public LobbyNode() => Name = "Lobby";

        /// <summary>How many times a lobby greeted it (once per lobby that took the room).</summary>
        public int Welcomes { get; private set; }

        /// <summary>The n of every pong received.</summary>
        public List<long> Pongs { get; } = [];

        [Puppet(Name = "welcome")]
        public void Welcome(Variant yourId, Variant serverName) => Welcomes++;

        [Puppet(Name = "motd")]
        public Variant Motd { get; set; }

        [Puppet(Name = "pong")]
        public void Pong(Variant n, Variant s) => Pongs.Add(n.AsInt64());
    }
}
