using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using GdNet.TestSupport;

namespace GdNet.Cluster.Tests;

/// <summary>
/// Real <c>gdnet serve --cluster</c> nodes over a real nats-server, on loopback: each node with its admin endpoint (for
/// <c>/api/status</c>), all nodes of one test in a cluster of their own name.
/// </summary>
internal sealed class ClusterKit : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    /// <summary>How long a dead node may take to be noticed: the node timeout (3 s) and a heartbeat, with room for a busy machine.</summary>
    public static readonly TimeSpan NodeLossWait = TimeSpan.FromSeconds(20);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly List<Node> _nodes = [];

    private ClusterKit(NatsServer nats) => Nats = nats;

    public NatsServer Nats { get; }

    /// <summary>This test's cluster name (nodes of other tests never mix in).</summary>
    public string Name { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    public IReadOnlyList<Node> Nodes => _nodes;

    public static async Task<ClusterKit> StartAsync() => new(await NatsServer.StartAsync());

    /// <summary>Starts one more node: <c>gdnet serve --cluster … --node-name NAME --admin-port 0</c> and <paramref name="args"/>.</summary>
    public async Task<Node> StartNodeAsync(string name, int transports, params string[] args)
    {
        var (serve, port) = await ServeKit.StartAsync(transports,
            ["--cluster", Nats.Url, "--cluster-name", Name, "--node-name", name, "--admin-port", "0", .. args]);
        var node = new Node(name, serve, port, await ServeKit.AdminUriAsync(serve));
        _nodes.Add(node);
        return node;
    }

    /// <summary>Everything the nodes and nats-server said, for assertion messages.</summary>
    public string Describe(params GodotPeerProcess[] godots) =>
        string.Join("\n", godots.Select((g, i) => $"Godot {i}: {g.Describe()}"))
        + string.Concat(_nodes.Select(n => $"\nnode {n.Name}: {n.Serve.Describe()}"))
        + "\n" + Nats.Describe();

    public async ValueTask DisposeAsync()
    {
        foreach (var n in _nodes)
        {
            await n.Serve.DisposeAsync();
        }

        await Nats.DisposeAsync();
    }

    /// <summary>One <c>gdnet serve</c> node.</summary>
    internal sealed class Node(string name, GdnetCliProcess serve, int port, Uri admin)
    {
        public string Name { get; } = name;

        public GdnetCliProcess Serve { get; } = serve;

        public int Port { get; } = port;

        public Uri Admin { get; } = admin;

        public string Url(string room) => string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{Port}/{room}");

        /// <summary>Its <c>/api/status</c> now.</summary>
        public async Task<JsonElement> StatusAsync() =>
            await Http.GetFromJsonAsync<JsonElement>(new Uri(Admin, "/api/status"));

        /// <summary>A number under <c>cluster</c> in its status (e.g. "remotePeers", "outages").</summary>
        public async Task<long> ClusterAsync(string field) => (await StatusAsync()).GetProperty("cluster").GetProperty(field).GetInt64();

        /// <summary>Whether it is connected to NATS now (<c>cluster.connected</c> in its status).</summary>
        public async Task<bool> IsConnectedAsync() => (await StatusAsync()).GetProperty("cluster").GetProperty("connected").GetBoolean();

        /// <summary>A cluster drop count by reason (0 when none).</summary>
        public async Task<long> DroppedAsync(string reason) =>
            (await StatusAsync()).GetProperty("cluster").GetProperty("dropped").TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

        /// <summary>Kills the process with SIGKILL (a crash: no goodbye to the cluster) and waits for it to go.</summary>
        public async Task KillAsync()
        {
            await Serve.SignalAsync("KILL", Wait);
            await Serve.WaitForExitAsync(Wait);
        }
    }
}
