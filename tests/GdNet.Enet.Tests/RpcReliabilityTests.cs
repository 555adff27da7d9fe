using System.Diagnostics;
using System.Globalization;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Variants;
using Xunit.Abstractions;

namespace GdNet.Enet.Tests;

/// <summary>
/// Reliable RPCs through MultiplayerAPI over ENet, sequence-checked: many clients call <c>r(seq, PoolByteArray(16))</c>
/// on the server, which checks the order per sender and answers <c>e(seq, bytes)</c>; each client checks the answers.
/// Also a burst like Godot's throughput probe (<c>rpc_id(1, "r", seq, PoolByteArray(16))</c> issued at once). The short
/// forms run in CI; the long soak and the 50 000-call burst are <c>Category=Soak</c> (excluded by default; sized by
/// GDNET_SOAK_CLIENTS / GDNET_SOAK_SECONDS).
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class RpcReliabilityTests(ITestOutputHelper output)
{
    [Fact]
    public void ReliableRpcs_TwentyClientsTwoSeconds_NoLossNoReorder()
    {
        var result = RpcExchange.Run(clients: 20, TimeSpan.FromSeconds(2), window: 32);
        output.WriteLine(result.ToString());
        Assert.True(result.Sent >= 20 * 32, result.ToString()); // every client sent at least its first window: traffic, not speed
        Assert.Equal((0L, 0L, 0L, 0L), (result.LostToServer, result.LostEchoes, result.Reordered, result.Rejections));
    }

    [Fact]
    [Trait("Category", "Soak")]
    public void ReliableRpcs_Soak_NoLossNoReorder()
    {
        var clients = int.Parse(Environment.GetEnvironmentVariable("GDNET_SOAK_CLIENTS") ?? "100", CultureInfo.InvariantCulture);
        var seconds = int.Parse(Environment.GetEnvironmentVariable("GDNET_SOAK_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        var result = RpcExchange.Run(clients, TimeSpan.FromSeconds(seconds), window: 32);
        output.WriteLine(result.ToString());
        Console.WriteLine("RPC_SOAK " + result);
        Assert.Equal((0L, 0L, 0L, 0L), (result.LostToServer, result.LostEchoes, result.Reordered, result.Rejections));
    }

    [Fact]
    public void ReliableRpcBurst_FiveThousandAtOnce_AllArriveInOrder()
    {
        var result = RpcBurst.Run(5_000);
        output.WriteLine(result.ToString());
        Assert.Equal((5_000, 0L, 0L), (result.Received, result.Reordered, result.Rejections));
    }

    [Fact]
    public void PingPong_IdleConnection_EveryRoundTripCompletes()
    {
        using var s = new RpcSession(clients: 1, () => new SeqLobby());
        var client = (SeqLobby)s.Client.Lobby;
        var trips = new List<double>();
        var payload = new byte[16];
        for (var i = 0; i < 200; i++)
        {
            var sw = Stopwatch.StartNew();
            Assert.Equal(Error.Ok, s.Client.Lobby.RpcId(1, "r", i, payload));
            s.PumpUntil(() => client.Echoed == i + 1);
            trips.Add(sw.Elapsed.TotalMilliseconds);
        }

        trips.Sort();
        var line = string.Create(CultureInfo.InvariantCulture, $"round trip p50={trips[100]:0.000} ms p99={trips[198]:0.000} ms");
        output.WriteLine(line); // a figure for the log only: latency is measured by `gdnet bench --transport enet`, not asserted
        Assert.Equal(200, client.Echoed);
    }

    [Fact]
    [Trait("Category", "Soak")]
    public void ReliableRpcBurst_FiftyThousandAtOnce_ReportsRate()
    {
        var result = RpcBurst.Run(50_000);
        output.WriteLine(result.ToString());
        Console.WriteLine("RPC_BURST " + result);
        Assert.Equal((50_000, 0L, 0L), (result.Received, result.Reordered, result.Rejections));
    }
}

/// <summary>The node at <c>Main/Lobby</c> of every machine in the exchange: <c>r</c> runs on the server, <c>e</c> on
/// the clients.</summary>
internal sealed class SeqLobby : Node
{
    private readonly Dictionary<int, int> _expected = [];

    public long Received { get; private set; }

    public long Echoed { get; private set; }

    public long Reordered { get; private set; }

    /// <summary>Server side: whether <c>r</c> answers with <c>e</c>.</summary>
    public bool EchoBack { get; set; } = true;

    [Remote(Name = "r")]
    public void R(int seq, Variant payload)
    {
        var from = Multiplayer!.GetRpcSenderId();
        _expected.TryGetValue(from, out var expected);
        if (seq != expected || payload.Type != VariantType.PoolByteArray)
        {
            Reordered++;
        }

        _expected[from] = seq + 1;
        Received++;
        if (EchoBack)
        {
            RpcId(from, "e", seq, payload);
        }
    }

    [Remote(Name = "e")]
    public void E(int seq, Variant payload)
    {
        if (seq != Echoed || payload.Type != VariantType.PoolByteArray)
        {
            Reordered++;
        }

        Echoed++;
    }
}

internal sealed record RpcExchange(int Clients, double Seconds, long Sent, long ServerReceived, long Echoed, long LostToServer, long LostEchoes, long Reordered, long Rejections)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"clients={Clients} seconds={Seconds:0.0} rpcs_sent={Sent} server_received={ServerReceived} echoed={Echoed} lost_to_server={LostToServer} lost_echoes={LostEchoes} reordered={Reordered} rejections={Rejections} round_trips_per_s={Echoed / Seconds:0} rpcs_per_s={(ServerReceived + Echoed) / Seconds:0}");

    public static RpcExchange Run(int clients, TimeSpan duration, int window)
    {
        using var s = new RpcSession(clients, () => new SeqLobby());
        var server = (SeqLobby)s.Server.Lobby;
        var lobbies = s.Clients.Select(c => (SeqLobby)c.Lobby).ToArray();
        var sent = new long[clients];
        var payload = new byte[16];
        var sw = Stopwatch.StartNew();
        var drainDeadline = duration + TimeSpan.FromSeconds(15);
        while (true)
        {
            var sending = sw.Elapsed < duration;
            for (var i = 0; i < clients; i++)
            {
                var c = s.Clients[i];
                while (sending && sent[i] - lobbies[i].Echoed < window)
                {
                    Assert.Equal(Error.Ok, c.Lobby.RpcId(1, "r", (int)sent[i]++, payload));
                }

                c.Poll();
            }

            s.Server.Poll();
            var allEchoed = !sending && Enumerable.Range(0, clients).All(i => lobbies[i].Echoed == sent[i]);
            if (allEchoed || sw.Elapsed > drainDeadline)
            {
                break;
            }

            if (!sending)
            {
                Thread.Sleep(1);
            }
        }

        var seconds = sw.Elapsed.TotalSeconds;
        long totalSent = sent.Sum(), echoed = lobbies.Sum(l => l.Echoed);
        var rejections = s.All.Sum(m => m.Rejections.Count + m.PacketRejections.Count);
        return new RpcExchange(clients, seconds, totalSent, server.Received, echoed, totalSent - server.Received,
            totalSent - echoed, server.Reordered + lobbies.Sum(l => l.Reordered), rejections);
    }
}

internal sealed record RpcBurst(int Sent, long Received, long Reordered, long Rejections, double Seconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"rpcs_sent={Sent} received={Received} lost={Sent - Received} reordered={Reordered} rejections={Rejections} seconds={Seconds:0.000} rpc_per_s={Received / Seconds:0}");

    /// <summary>One client issues <paramref name="count"/> reliable <c>rpc_id(1, "r", seq, PoolByteArray(16))</c> at
    /// once (after one warm-up call has cached the path, so each call is 40 bytes as in Godot's probe); the time runs
    /// from the first call to the server running the last one.</summary>
    public static RpcBurst Run(int count)
    {
        using var s = new RpcSession(clients: 1, () => new SeqLobby { EchoBack = false });
        var server = (SeqLobby)s.Server.Lobby;
        var client = s.Client;
        var payload = new byte[16];
        Assert.Equal(Error.Ok, client.Lobby.RpcId(1, "r", 0, payload));
        s.PumpUntil(() => server.Received == 1 && client.Api.GetStats().Total.PacketsIn == 1);
        var bytesBefore = client.Api.GetStats().Total.BytesOut;

        var sw = Stopwatch.StartNew();
        for (var i = 1; i <= count; i++)
        {
            client.Lobby.RpcId(1, "r", i, payload);
        }

        Assert.Equal(40L * count, client.Api.GetStats().Total.BytesOut - bytesBefore);
        var last = sw.Elapsed;
        while (server.Received <= count && sw.Elapsed - last < TimeSpan.FromSeconds(2))
        {
            var before = server.Received;
            s.Server.Poll();
            client.Poll();
            if (server.Received != before)
            {
                last = sw.Elapsed;
            }
            else
            {
                Thread.Yield();
            }
        }

        return new RpcBurst(count, server.Received - 1, server.Reordered, s.All.Sum(m => m.Rejections.Count + m.PacketRejections.Count), last.TotalSeconds);
    }
}
