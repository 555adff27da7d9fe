using System.Collections.Concurrent;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Server;

namespace GdNet.Server.Tests;

/// <summary>
/// A room's hosted logic as a real <see cref="MultiplayerAPI"/> (<see cref="MultiplayerRoomHost"/> on a
/// <see cref="RoomHostLoop"/>), reached by clients that are themselves MultiplayerAPIs on custom peers wired to the
/// router in memory: Godot RPCs go through the router's rules both ways.
/// </summary>
public sealed class HostedLogicTests
{
    /// <summary>The server's node: answers "hello" with "reply" to the sender, and counts joins.</summary>
    private sealed class Greeter : Node
    {
        public ConcurrentQueue<string> Seen { get; } = new();

        [Remote(Name = "hello")]
        public void Hello(string text)
        {
            var from = Multiplayer!.GetRpcSenderId();
            Seen.Enqueue($"hello {from} {text}");
            RpcId(from, "reply", "hi " + text);
        }

        [Puppet(Name = "reply")]
        public void Reply(string text) => Seen.Enqueue("reply " + text);
    }

    /// <summary>A client: MultiplayerAPI on a custom peer whose packets the router routes, as a transport would.</summary>
    private sealed class MemoryClient : RelayConnection
    {
        public MemoryClient() : base("memory", RouterKit.Loopback)
        {
            Peer.SetConnectionStatus(ConnectionStatus.Connecting);
            Api.RootNode.AddChild(new Node { Name = "Main" });
            Api.RootNode.GetNode("Main")!.AddChild(Node);
            Api.NetworkPeer = Peer;
        }

        public RelayRouter? Router { get; set; }

        public NetworkedMultiplayerCustom Peer { get; } = new();

        public MultiplayerAPI Api { get; } = new();

        public Greeter Node { get; } = new() { Name = "Greeter" };

        public void Start()
        {
            Peer.PacketGenerated += (to, packet, mode) => Router!.Route(this, PeerId, to, packet, mode);
            Peer.Initialize(PeerId);
            Peer.SetConnectionStatus(ConnectionStatus.Connected);
        }

        protected override void Welcome() => Peer.TryAddPeer(1);

        protected override SendResult Send(in RelayPacket packet)
        {
            Peer.DeliverPacket(packet.Payload, packet.From);
            return SendResult.Sent;
        }

        protected override void SendPeerAdded(int peerId) => Peer.TryAddPeer(peerId);

        protected override void SendPeerRemoved(int peerId) => Peer.TryRemovePeer(peerId);

        protected override void Close(CloseReason reason, string detail) => Router!.Leave(this);
    }

    private static async Task<MemoryClient> JoinAsync(RelayRouter router, string room)
    {
        var c = new MemoryClient { Router = router };
        using var ticket = await router.AdmitAsync(new AdmissionRequest("memory", c.RemoteEndPoint, room));
        router.Join(ticket, c);
        c.Start();
        return c;
    }

    private static async Task PumpUntil(Func<bool> done, params MemoryClient[] clients)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            foreach (var c in clients)
            {
                c.Api.Poll();
            }

            await Task.Delay(1);
        }
    }

    [Fact]
    public async Task Each_room_has_its_own_hosted_game_answering_its_members_and_it_goes_with_the_room()
    {
        using var loop = new RoomHostLoop();
        var greeters = new ConcurrentDictionary<string, Greeter>();
        var joins = new ConcurrentQueue<string>();
        var hosts = new ConcurrentDictionary<string, MultiplayerRoomHost>();
        var router = new RelayRouter(RouterKit.NoRateLimits())
        {
            HostFactory = room =>
            {
                var host = new MultiplayerRoomHost(room, (api, r) =>
                {
                    var g = new Greeter { Name = "Greeter" };
                    api.RootNode.AddChild(new Node { Name = "Main" });
                    api.RootNode.GetNode("Main")!.AddChild(g);
                    api.NetworkPeerConnected += id => joins.Enqueue($"{r.Name} {id}");
                    greeters[r.Name] = g;
                });
                hosts[room.Name] = host;
                loop.Add(host);
                return host;
            },
        };
        var a = await JoinAsync(router, "alpha");
        var b = await JoinAsync(router, "beta");

        Assert.Equal(Error.Ok, a.Node.RpcId(1, "hello", "from a"));
        Assert.Equal(Error.Ok, b.Node.RpcId(1, "hello", "from b"));
        await PumpUntil(() => a.Node.Seen.Contains("reply hi from a") && b.Node.Seen.Contains("reply hi from b"), a, b);

        Assert.Equal([$"hello {a.PeerId} from a"], greeters["alpha"].Seen);
        Assert.Equal([$"hello {b.PeerId} from b"], greeters["beta"].Seen);
        Assert.Contains($"alpha {a.PeerId}", joins);
        Assert.DoesNotContain($"beta {a.PeerId}", joins);
        Assert.Equal(2, loop.Count);

        router.Leave(a);
        Assert.True(hosts["alpha"].IsDisposed);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (loop.Count != 1)
        {
            Assert.True(DateTime.UtcNow < until, "the loop kept the disposed host");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Hosted_RPCs_are_counted_on_the_meter_by_kind_and_rejection_and_a_closed_rooms_counts_stay()
    {
        using var loop = new RoomHostLoop();
        var hosts = new ConcurrentDictionary<string, MultiplayerRoomHost>();
        var router = new RelayRouter(RouterKit.NoRateLimits())
        {
            HostFactory = room =>
            {
                var host = new MultiplayerRoomHost(room, (api, _) =>
                {
                    api.StatsSnapshotInterval = TimeSpan.Zero; // LatestStats fresh after every poll
                    api.RootNode.AddChild(new Node { Name = "Main" });
                    api.RootNode.GetNode("Main")!.AddChild(new Greeter { Name = "Greeter" });
                });
                hosts[room.Name] = host;
                loop.Add(host);
                return host;
            },
        };
        using var metrics = new RelayMetrics(router, hosts: loop);
        using var reader = new MetricsReader(metrics.Meter);
        var a = await JoinAsync(router, "alpha");
        var b = await JoinAsync(router, "beta");

        // Two calls run (one per room), two replies sent, and one call the host refuses: "reply" is puppet-only, and
        // the host is the master of its node.
        Assert.Equal(Error.Ok, a.Node.RpcId(1, "hello", "a"));
        Assert.Equal(Error.Ok, a.Node.RpcId(1, "reply", "not yours"));
        Assert.Equal(Error.Ok, b.Node.RpcId(1, "hello", "b"));
        await PumpUntil(() => a.Node.Seen.Contains("reply hi a") && b.Node.Seen.Contains("reply hi b")
            && reader.Collect().GetValueOrDefault(("gdnet.rpc.rejected", nameof(RpcRejectReason.ForbiddenByMode))) == 1, a, b);

        var now = reader.Collect();
        Assert.Equal(2, now[("gdnet.rpc.dispatched", "rpc")]);
        Assert.Equal(0, now[("gdnet.rpc.dispatched", "rset")]);
        Assert.Equal(2, now[("gdnet.rpc.sent", "rpc")]);
        Assert.Equal(0, now[("gdnet.host.queue.size", null)]);
        var stats = loop.GetStatistics();
        Assert.Equal(2, stats.Rooms);
        Assert.Equal(1, stats.Traffic.GetRejections(RpcRejectReason.ForbiddenByMode));

        // Room alpha closes: its host leaves the loop, and what it did stays in the totals.
        router.Leave(a);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (loop.Count != 1)
        {
            Assert.True(DateTime.UtcNow < until, "the loop kept the disposed host");
            await Task.Delay(5);
        }

        var after = reader.Collect();
        Assert.Equal(2, after[("gdnet.rpc.dispatched", "rpc")]);
        Assert.Equal(2, after[("gdnet.rpc.sent", "rpc")]);
        Assert.Equal(1, after[("gdnet.rpc.rejected", nameof(RpcRejectReason.ForbiddenByMode))]);
        Assert.Equal(1, loop.GetStatistics().Rooms);
    }
}
