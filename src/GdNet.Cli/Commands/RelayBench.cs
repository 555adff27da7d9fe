using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Server;
using GdNet.Cli.Serve;
using GdNet.WebSockets;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet bench --relay [--rooms N]</c>: relay throughput. Clients in pairs send the probe RPC
/// (<c>rpc_id(partner, "r", seq, PoolByteArray(16))</c>) to each other through the server as fast as a window of
/// <see cref="Window"/> unreceived RPCs per client allows; the figure is RPCs dispatched by the receiving clients per
/// second, with every RPC checked for loss and order. With one room the server is the transport's Godot-style server
/// peer (as in earlier versions, so builds compare like for like); with more, a <see cref="RelayRouter"/> with a
/// <see cref="WebSocketRelayListener"/> and the pairs spread over rooms by URL path.
/// </summary>
internal static class RelayBench
{
    private const int Window = 20_000;

    /// <summary>One bench client: its peer, its MultiplayerAPI with <c>/root/Main/Bench</c>, and its partner.</summary>
    internal sealed class Member(NetworkedMultiplayerPeer peer)
    {
        public NetworkedMultiplayerPeer Peer { get; } = peer;

        public MultiplayerAPI Api { get; } = new();

        public BenchCommand.BenchNode Node { get; } = new(1);

        public Member? Partner { get; set; }

        public long Sent;
    }

    /// <summary>The bench routers' options: no per-address or per-peer rate limits, room for every client.</summary>
    internal static RelayOptions RouterOptions() => new()
    {
        MaxConnectionsPerAddress = 0,
        ConnectionsPerSecondPerAddress = 0,
        MaxPacketsPerSecond = 0,
        MaxBytesPerSecond = 0,
        MaxPeers = 100_000,
        MaxPeersPerRoom = 100_000,
    };

    public static async Task<int> RunAsync(ParseResult result, TransportKind kind, int clientCount, int rooms, double seconds, int payloadSize, bool admin, bool json, CancellationToken ct)
    {
        var output = json ? TextWriter.Null : CliOutput.Out(result);
        Func<int, NetworkedMultiplayerPeer> newClient;
        Func<ValueTask> stop;
        Action serverFrame;
        if (rooms == 1)
        {
            var network = await Transports.StartInProcessAsync(kind).ConfigureAwait(false);
            newClient = _ => network.NewClient();
            serverFrame = () =>
            {
                network.Pump();
                network.Server.Peer.Poll();
                while (network.Server.Peer.TryGetPacket(out _))
                {
                    // relay mode: nothing is addressed to the server
                }
            };
            stop = network.DisposeAsync;
        }
        else
        {
            var router = new RelayRouter(RouterOptions());
            var listener = new WebSocketRelayListener(router) { BindIp = "127.0.0.1" };
            if (await listener.ListenAsync(0).ConfigureAwait(false) != Error.Ok)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
                result.InvocationConfiguration.Error.WriteLine("gdnet: the bench relay could not listen on 127.0.0.1");
                return 1;
            }

            var made = new List<WebSocketClient>();
            newClient = i =>
            {
                var c = new WebSocketClient();
                made.Add(c);
                var err = c.ConnectToUrl(string.Create(CultureInfo.InvariantCulture, $"{listener.Url}/room-{i / 2 % rooms}"));
                return err == Error.Ok ? c : throw new InvalidOperationException("cannot connect a bench client: " + err);
            };
            serverFrame = static () => { };
            var observed = admin ? await ObserveAsync(router, listener.Url ?? string.Empty).ConfigureAwait(false) : null;
            stop = async () =>
            {
                foreach (var c in made)
                {
                    await c.DisposeAsync().ConfigureAwait(false);
                }

                await listener.DisposeAsync().ConfigureAwait(false);
                if (observed is not null)
                {
                    var scrapes = await observed.DisposeAsync().ConfigureAwait(false);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"admin endpoint {observed.Admin.Url}: /metrics scraped {scrapes} times"));
                }
            };
        }

        try
        {
            var members = new List<Member>();
            for (var i = 0; i < clientCount; i++)
            {
                var m = new Member(newClient(i));
                var main = new Node { Name = "Main" };
                m.Api.RootNode.AddChild(main);
                main.AddChild(m.Node);
                m.Api.NetworkPeer = m.Peer;
                members.Add(m);
            }

            for (var i = 0; i < clientCount; i += 2)
            {
                members[i].Partner = members[i + 1];
                members[i + 1].Partner = members[i];
            }

            // Everyone connected and seeing its partner.
            var clock = Stopwatch.StartNew();
            while (members.Any(m => m.Peer.GetConnectionStatus() != ConnectionStatus.Connected
                || Array.IndexOf(m.Api.GetNetworkConnectedPeers(), m.Partner!.Peer.GetUniqueId()) < 0))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    result.InvocationConfiguration.Error.WriteLine("gdnet: the bench clients did not all connect within 30 s");
                    return 1;
                }

                serverFrame();
                members.ForEach(m => m.Api.Poll());
                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"measuring relay throughput for {seconds:0.#} s…"));
            output.Flush();
            var payload = new byte[payloadSize];
            var outcome = await Task.Factory.StartNew(() => Measure(members, payload, TimeSpan.FromSeconds(seconds), serverFrame, ct),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);

            var rate = outcome.InTime / outcome.Seconds;
            var lost = outcome.Sent - outcome.Delivered;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"relay {kind.ToString().ToLowerInvariant()}: {clientCount} clients in {rooms} room{(rooms == 1 ? "" : "s")}, rpc_id(partner, \"r\", int, PoolByteArray({payloadSize})) = {BenchCommand.RpcSize(payloadSize)} bytes"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"relayed {rate:N0} RPC/s ({outcome.InTime:N0} in {outcome.Seconds:0.##} s); sent {outcome.Sent:N0}, delivered {outcome.Delivered:N0}, lost {lost:N0}, out of order {outcome.OutOfOrder:N0}"));
            output.Flush();
            var ok = lost == 0 && outcome.OutOfOrder == 0;
            if (json)
            {
                var rejections = members.SelectMany(m => m.Peer.Statistics.Snapshot().Rejections)
                    .GroupBy(p => p.Key.ToString())
                    .ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);
                CliOutput.WriteJson(result, new BenchReport("bench", "relay", kind.ToString().ToLowerInvariant(), clientCount, rooms, outcome.Seconds,
                    BenchCommand.RpcSize(payloadSize), outcome.Sent, outcome.Delivered, outcome.InTime, lost, outcome.OutOfOrder, rate, null,
                    members.Sum(m => m.Api.GetStats().Total.TotalRejections), rejections, null, ok), ReportJson.Default.BenchReport);
            }

            return ok ? 0 : 1;
        }
        finally
        {
            await stop().ConfigureAwait(false);
        }
    }

    /// <summary>serve's admin endpoint over the bench router, and a scraper reading <c>/metrics</c> every second.</summary>
    private sealed class Observed(RelayMetrics metrics, AdminEndpoint admin, HttpClient http, CancellationTokenSource stop, Task<int> scraper)
    {
        public AdminEndpoint Admin => admin;

        public async Task<int> DisposeAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            var scrapes = await scraper.ConfigureAwait(false);
            http.Dispose();
            stop.Dispose();
            await admin.DisposeAsync().ConfigureAwait(false);
            metrics.Dispose();
            return scrapes;
        }
    }

    private sealed class BenchAdminSource(RelayRouter router, string url) : IAdminSource
    {
        public RelayRouter Router => router;

        public bool IsReady => router.IsAccepting;

        public IReadOnlyList<string> Urls { get; } = [url];

        public IReadOnlyList<AdminRejection> RecentRejections => [];

        public HostedRpcStatistics? HostedStatistics => null;

        public GdNet.Cluster.NatsClusterStatistics? ClusterStatistics => null;
    }

    private static async Task<Observed> ObserveAsync(RelayRouter router, string url)
    {
        var metrics = new RelayMetrics(router);
        var admin = await AdminEndpoint.StartAsync(new BenchAdminSource(router, url), "127.0.0.1", 0, token: null).ConfigureAwait(false);
        var http = new HttpClient { BaseAddress = new Uri(admin.Url) };
        var stop = new CancellationTokenSource();

        // One scrape before the measurement: the exporter's first collection compiles its code (a one-off cost of any
        // long-running server, not of observing it).
        _ = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)).ConfigureAwait(false);
        var scraper = Task.Run(async () =>
        {
            var n = 0;
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                    _ = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), stop.Token).ConfigureAwait(false);
                    n++;
                }
            }
            catch (OperationCanceledException)
            {
                return n;
            }
        });
        return new Observed(metrics, admin, http, stop, scraper);
    }

    /// <summary>A throughput phase: RPCs sent, received within the time, received in all, out of order, and the time.</summary>
    internal sealed record Outcome(long Sent, long InTime, long Delivered, long OutOfOrder, double Seconds);

    /// <summary>
    /// The throughput phase: every client sends to its partner within the window for <paramref name="time"/>, polling as
    /// it goes (<paramref name="serverFrame"/> between rounds), then the rest is let arrive (at most 30 s).
    /// </summary>
    internal static Outcome Measure(IReadOnlyList<Member> members, byte[] payload, TimeSpan time, Action serverFrame, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time && !ct.IsCancellationRequested)
        {
            foreach (var m in members)
            {
                var partner = m.Partner!;
                var room = Window - (m.Sent - Volatile.Read(ref partner.Node.Received));
                var to = partner.Peer.GetUniqueId();
                for (var k = 0; k < Math.Min(1024, room); k++)
                {
                    if (m.Node.RpcId(to, "R", m.Sent, payload) != Error.Ok)
                    {
                        break;
                    }

                    m.Sent++;
                }

                m.Api.Poll();
            }

            serverFrame();
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var inTime = Received(members);
        var sent = members.Sum(m => m.Sent);
        var drain = Stopwatch.StartNew();
        while (Received(members) < sent && drain.Elapsed < TimeSpan.FromSeconds(30) && !ct.IsCancellationRequested)
        {
            foreach (var m in members)
            {
                m.Api.Poll();
            }

            serverFrame();
            Thread.Sleep(1);
        }

        return new Outcome(sent, inTime, Received(members), members.Sum(m => m.Node.OutOfOrder), elapsed);
    }

    private static long Received(IReadOnlyList<Member> members)
    {
        long n = 0;
        foreach (var m in members)
        {
            n += Volatile.Read(ref m.Node.Received);
        }

        return n;
    }
}
