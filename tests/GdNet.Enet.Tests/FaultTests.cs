using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GdNet.Cli.Conversation;
using GdNet.Multiplayer;
using GdNet.Server;
using GdNet.TestSupport;
using static GdNet.Enet.Tests.EnetTestKit;

namespace GdNet.Enet.Tests;

/// <summary>
/// ENet under network faults, through <see cref="ChaosUdpProxy"/> on loopback: reliable RPCs survive loss, duplication,
/// reordering and jitter in order and without a disconnect; unreliable ones are lost as the proxy dropped them; a client
/// whose path goes dead is timed out with its reason while the others go on; a real Godot 3.2.3 client plays its
/// conversation through 5 % loss; and CONNECTs that never complete their handshake do not lock real clients out.
/// </summary>
public sealed class FaultTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>Main/Lobby of every machine: <c>r</c> (reliable, order-checked) and <c>u</c> (unreliable, counted) run on
    /// the server, which answers each <c>r</c> with <c>e</c>; <c>m</c> is a reliable marker either way.</summary>
    private sealed class FaultLobby : Node
    {
        private readonly Dictionary<int, int> _next = [];

        public int Received { get; private set; }

        public int Echoed { get; private set; }

        public int OutOfOrder { get; private set; }

        public int Unreliable { get; private set; }

        public List<int> Markers { get; } = [];

        [Remote(Name = "r")]
        public void R(int seq, byte[] payload)
        {
            var from = Multiplayer!.GetRpcSenderId();
            _next.TryGetValue(from, out var expected);
            if (seq != expected || payload.Length != 64 || payload[0] != (byte)seq)
            {
                OutOfOrder++;
            }

            _next[from] = seq + 1;
            Received++;
            RpcId(from, "e", seq);
        }

        [Remote(Name = "e")]
        public void E(int seq)
        {
            if (seq != Echoed)
            {
                OutOfOrder++;
            }

            Echoed++;
        }

        [Remote(Name = "u")]
        public void U(int seq) => Unreliable++;

        [Remote(Name = "m")]
        public void M(int n) => Markers.Add(n);
    }

    [Fact]
    public void ReliableRpcs_ThroughLossDuplicationReorderingAndJitter_AllArriveInOrderWithoutDisconnect()
    {
        using var s = new RpcSession(clients: 0, () => new FaultLobby());
        using var proxy = new ChaosUdpProxy(s.Port, seed: 7);
        proxy.Both(o =>
        {
            o.Loss = 0.05;
            o.Duplication = 0.05;
            o.Reordering = 0.05;
            o.Delay(TimeSpan.FromMilliseconds(5), jitter: TimeSpan.FromMilliseconds(5));
        });
        var client = s.AddClient(proxy.Port);
        var (server, mine) = ((FaultLobby)s.Server.Lobby, (FaultLobby)client.Lobby);
        const int Count = 400;
        var payload = new byte[64];
        var sent = 0;

        s.PumpUntil(
            () =>
            {
                while (sent < Count && sent - mine.Echoed < 32)
                {
                    payload[0] = (byte)sent;
                    Assert.Equal(Error.Ok, client.Lobby.RpcId(1, "r", sent++, payload));
                }

                return mine.Echoed == Count;
            },
            Wait);

        Assert.Equal((Count, Count, 0), (server.Received, mine.Echoed, server.OutOfOrder + mine.OutOfOrder));
        Assert.DoesNotContain(s.All, m => m.Events.Any(e => e.StartsWith("disconnected", StringComparison.Ordinal) || e == "server_disconnected"));
        Assert.Empty(s.All.SelectMany(m => m.Rejections));
        var (up, down) = (proxy.ToServerCounters, proxy.ToClientCounters);
        Assert.True(up.Dropped + down.Dropped > 0 && up.Duplicated + down.Duplicated > 0 && up.Reordered + down.Reordered > 0 && up.Delayed > 0,
            proxy.ToString()); // every fault really happened
    }

    [Fact]
    public void UnreliableRpcs_ThroughLoss_FewerArriveAndTheDropsAreCounted()
    {
        using var s = new RpcSession(clients: 0, () => new FaultLobby());
        using var proxy = new ChaosUdpProxy(s.Port, seed: 3);
        var client = s.AddClient(proxy.Port);
        var server = (FaultLobby)s.Server.Lobby;
        proxy.ToServer.Loss = 0.1;
        var droppedBefore = proxy.ToServerCounters.Dropped;
        const int Count = 300;

        // One unreliable RPC per round, each in its own datagram (the client's service thread flushes every round).
        var sent = 0;
        s.PumpUntil(
            () =>
            {
                if (sent < Count)
                {
                    Assert.Equal(Error.Ok, client.Lobby.RpcUnreliableId(1, "u", sent++));
                }

                return sent == Count;
            },
            Wait);

        // Reliable markers there and back: once the second one is in, every datagram sent before the first was handled.
        Assert.Equal(Error.Ok, client.Lobby.RpcId(1, "m", 1));
        s.PumpUntil(() => server.Markers.Contains(1), Wait);
        Assert.Equal(Error.Ok, s.Server.Lobby.RpcId(client.Id, "m", 2));
        s.PumpUntil(() => ((FaultLobby)client.Lobby).Markers.Contains(2), Wait);
        Assert.Equal(Error.Ok, client.Lobby.RpcId(1, "m", 3));
        s.PumpUntil(() => server.Markers.Contains(3), Wait);

        Assert.True(proxy.ToServerCounters.Dropped > droppedBefore, proxy.ToString());
        Assert.InRange(server.Unreliable, 1, Count - 1);
        Assert.Contains("connected_to_server", client.Events);
        Assert.DoesNotContain("server_disconnected", client.Events);
    }

    [Fact]
    public void DeadPath_ClientTimedOutWithReason_OthersGoOn()
    {
        using var s = new RpcSession(clients: 1, () => new FaultLobby(), p =>
        {
            p.PeerTimeoutMinimum = TimeSpan.FromMilliseconds(500);
            p.PeerTimeoutMaximum = TimeSpan.FromSeconds(2);
        });
        var left = new List<(int Id, EnetDisconnectReason Reason)>();
        s.Server.Peer.PeerLeft += (id, reason) => left.Add((id, reason));
        using var proxy = new ChaosUdpProxy(s.Port);
        var doomed = s.AddClient(proxy.Port);
        var other = s.Client;

        proxy.Both(o => o.Loss = 1); // the path goes dead: nothing gets through either way
        s.PumpUntil(() => left.Count > 0 && other.Events.Contains($"disconnected {doomed.Id}"), Wait);

        Assert.Equal([(doomed.Id, EnetDisconnectReason.TimedOut)], left);
        Assert.True(proxy.ToServerCounters.Dropped + proxy.ToClientCounters.Dropped > 0, proxy.ToString());
        Assert.Equal(Error.Ok, other.Lobby.RpcId(1, "m", 9));
        s.PumpUntil(() => ((FaultLobby)s.Server.Lobby).Markers.Contains(9), Wait);
        Assert.DoesNotContain("server_disconnected", other.Events);
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task GodotClient_ThroughFivePercentLossAndSomeDuplicationAndReordering_ConversationDoneOk()
    {
        using var server = new NetworkedMultiplayerENet();
        server.SetBindIp("127.0.0.1");
        Assert.Equal(Error.Ok, server.CreateServer(0));
        using var proxy = new ChaosUdpProxy(server.GetLocalPort(), seed: 11);
        proxy.Both(o =>
        {
            o.DropEvery = 20; // exactly 5 %: the conversation is a few dozen datagrams, a random 5 % might drop none
            o.Duplication = 0.02;
            o.Reordering = 0.02;
            o.Delay(TimeSpan.FromMilliseconds(2), jitter: TimeSpan.FromMilliseconds(2));
        });
        var conversation = ConversationPeer.Server(server, id =>
        {
            try
            {
                server.DisconnectPeer(id);
            }
            catch (ArgumentOutOfRangeException)
            {
                // it left on its own
            }
        });
        var log = new List<string>();
        conversation.Lobby.Line += log.Add;
        conversation.Api.RpcRejected += r => log.Add("rpc rejected: " + r);

        var runs = await GodotInterop.RunClientsAsync(
            "enet-client", proxy.Port, 1, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(30), conversation.Poll,
            () => conversation.Lobby.ClientsOk + conversation.Lobby.ClientsFailed >= 1, "--timeout=25");

        var detail = GodotInterop.ClientDetail(0, runs[0], [.. log, "proxy: " + proxy]);
        Assert.True(runs[0].ExitCode == 0 && runs[0].DoneLine == "DONE ok", detail);
        Assert.Equal((1, 0), (conversation.Lobby.ClientsOk, conversation.Lobby.ClientsFailed));
        Assert.True(proxy.ToServerCounters.Dropped + proxy.ToClientCounters.Dropped > 0, detail);
    }

    // ------------------------------------------------------------------ half-open CONNECTs (slowloris over UDP)

    /// <summary>
    /// A CONNECT as Godot 3.2.3's ENet sends it (captured: shared/godot3/vectors/rpc-packets.json, ENet unit 0): peer
    /// 0xFFF with a sent time, CONNECT on channel 0xFF, 3 channels, MTU 1400; the connect id (bytes 44–47, as ENet writes
    /// it) and the data (the client's chosen Godot id, bytes 48–51, big-endian) are set per request.
    /// </summary>
    private static byte[] Connect(uint connectId, int godotId)
    {
        var d = Convert.FromHexString("8fff31cb82ff00010000ffff00000578000100000000000300000000000000000000138800000002000000028d3677535d8b2311");
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(44), connectId);
        BinaryPrimitives.WriteInt32BigEndian(d.AsSpan(48), godotId);
        return d;
    }

    [Fact(Skip = "GdNet has no bound on half-open ENet peers yet (issue 13; wip/attack): an accepted CONNECT whose "
        + "VERIFY_CONNECT is never acknowledged holds its ENet slot until ENet's own timeout (about 30 s) and counts against "
        + "MaxClients, so a burst of MaxClients such CONNECTs refuses real clients as ServerFull. Unskip with the fix.")]
    public void HalfOpenConnects_NeverCompleted_RealClientsStillConnect()
    {
        const int MaxClients = 8;
        var router = new RelayRouter();
        var refusals = new List<string>();
        router.ConnectionRefused += (request, reason, detail) =>
        {
            lock (refusals)
            {
                refusals.Add($"{request.RemoteEndPoint} {reason}: {detail}");
            }
        };
        using var listener = new EnetRelayListener(router) { BindIp = "127.0.0.1", MaxClients = MaxClients };
        Assert.Equal(Error.Ok, listener.Listen(0));

        // Twice as many CONNECTs as slots, from 8 addresses (as a spoofed flood comes), whose senders never answer the
        // server's VERIFY_CONNECT: each stays half-open.
        var attackers = Enumerable.Range(2, 8).Select(i =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Parse($"127.0.0.{i}"), 0));
            return socket;
        }).ToList();
        try
        {
            var target = new IPEndPoint(IPAddress.Loopback, listener.LocalPort);
            for (var i = 0; i < 2 * MaxClients; i++)
            {
                attackers[i % attackers.Count].SendTo(Connect(0xC0DE0000u + (uint)i, 5000 + i), target);
            }

            // Real clients (from 127.0.0.1) still get in, within a bound, until every slot is in use by a real client: the
            // half-open ones were capped or timed out.
            var real = new List<Recorder>();
            try
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < MaxClients; i++)
                {
                    var c = Client(listener.LocalPort);
                    real.Add(c);
                    PumpUntil(() => c.Has("succeeded") || c.Has("failed") || sw.Elapsed > TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(20), [.. real]);
                    string refused;
                    lock (refusals)
                    {
                        refused = string.Join("; ", refusals);
                    }

                    Assert.True(c.Has("succeeded"), $"real client {i} did not connect after {sw.Elapsed.TotalSeconds:0.0} s; refusals: {refused}");
                }

                Assert.Equal(MaxClients, router.PeerCount);
            }
            finally
            {
                real.ForEach(r => r.Dispose());
            }
        }
        finally
        {
            attackers.ForEach(a => a.Dispose());
        }
    }
}
