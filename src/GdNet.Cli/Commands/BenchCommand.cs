using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GdNet.Multiplayer;
using GdNet.Peers;
using Spectre.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet bench</c>: RPC throughput and round-trip latency through the whole stack (MultiplayerAPI, the transport and
/// back), in this process. The RPC is the one of the Godot 3.2.3 throughput probe (<c>rpc_id(1, "r", seq: int,
/// payload: PoolByteArray(16))</c>, 40 MultiplayerAPI bytes), so the figures compare with Godot's own. With
/// <c>--vs-godot</c> the real Godot 3.2.3 probe (<see cref="GodotProbe"/>, burst configuration) runs first on this machine
/// and the reliable throughput is given as a ratio GdNet/Godot of the same run; without it the table shows a rough ratio
/// against the README's medians (shared/godot3/README.md, another run on another day).
/// </summary>
/// <remarks>
/// Throughput: every client sends reliable RPCs as fast as it can, with at most <see cref="Window"/> not yet received
/// by the server; the server's game loop counts what it dispatches. Latency: each client keeps one ping RPC in flight and
/// the server answers it with an RPC; the round trip is measured on the client. Socket transports run the server's
/// game loop and the clients' on two threads (two processes, in effect); <c>local</c> runs everything on one.
/// </remarks>
internal static class BenchCommand
{
    /// <summary>Most RPCs per client sent but not yet dispatched by the server.</summary>
    private const int Window = 20_000;

    /// <summary>Godot 3.2.3's burst figures, reliable RPCs (README medians of 5 runs, another run: only a rough guide).</summary>
    private const double GodotBurstReliableWs = 129_870;

    private const double GodotBurstReliableEnet = 8_939;

    /// <summary>The README's burst configuration of the Godot probe: all calls issued in one frame.</summary>
    private const int GodotBurstCount = 50_000;

    /// <summary>Bound on one Godot probe run (ENet's reliable burst alone takes about 6 s).</summary>
    private static readonly TimeSpan GodotRunTimeout = TimeSpan.FromSeconds(60);

    /// <param name="Rooms">--rooms, or null when not given (1; one room per pair with <c>--cluster</c>).</param>
    /// <param name="Nodes">--nodes, or null when not given (2 with <c>--cluster</c>).</param>
    private sealed record BenchOptions(TransportKind Kind, int Clients, double Seconds, int Payload, bool VsGodot, int GodotRuns, string? Shared, bool Relay, int? Rooms, bool Admin,
        string? Cluster, int? Nodes, bool Json);

    public static Command Create()
    {
        var transport = new Option<string>("--transport") { Description = "ws (WebSocket on 127.0.0.1), local (in-process, no sockets) or enet.", DefaultValueFactory = _ => "ws" };
        transport.AcceptOnlyFromAmong(Transports.AllNames);
        var clients = new Option<int>("--clients") { Description = "Client count (1–256).", DefaultValueFactory = _ => 4 };
        var seconds = new Option<double>("--seconds") { Description = "Length of the throughput phase; the latency phase takes half as long.", DefaultValueFactory = _ => 5 };
        var payload = new Option<int>("--payload") { Description = "PoolByteArray size per RPC (16 gives Godot's 40-byte probe RPC).", DefaultValueFactory = _ => 16 };
        var vsGodot = new Option<bool>("--vs-godot") { Description = "First run the real Godot 3.2.3 throughput probe (burst, on this machine, now) and give GdNet's throughput as a ratio to it (ws and enet only; needs godot3-server)." };
        var godotRuns = new Option<int>("--godot-runs") { Description = "Godot probe runs for --vs-godot; the median is used (1–15).", DefaultValueFactory = _ => 1 };
        var relay = new Option<bool>("--relay") { Description = "Measure the relay instead: clients in pairs send the probe RPC to each other through the server (needs an even --clients)." };
        var rooms = new Option<int>("--rooms") { Description = "With --relay over ws: spread the pairs over this many rooms of a relay router (1 uses the WebSocketServer peer, as earlier versions; with --cluster the default is one room per pair).", DefaultValueFactory = _ => 1 };
        var admin = new Option<bool>("--admin") { Description = "With --relay --rooms 2 or more: also run serve's admin endpoint for the relay router (metrics, status) and scrape /metrics every second, to measure what observability costs." };
        var cluster = new Option<string?>("--cluster")
        {
            Description = "With --relay: measure what crossing a cluster costs. Starts --nodes relay nodes in this process, joined through the NATS server at this URL "
                + "(JetStream on, e.g. nats://127.0.0.1:4222; a fresh cluster name per run), and runs the relay bench twice: both clients of every pair on "
                + "node 0, then each pair split over two nodes; reports both throughputs and round trips, their ratio and difference, and the links' batching.",
        };
        var nodes = new Option<int>("--nodes") { Description = "With --relay --cluster: cluster nodes to start in this process (1–3; with 1 the cross-node phase repeats the same-node one).", DefaultValueFactory = _ => 2 };
        var shared = new Option<string?>("--shared") { Description = "The shared fixtures folder holding godot3/run-peer.sh (default: $GDNET_SHARED, else ../shared beside the repository root)." };
        var json = CliOutput.JsonOption("command (\"bench\"), mode (server|relay), transport, clients, rooms, seconds, rpcBytes, sent, delivered, deliveredInTime, lost, outOfOrder, "
            + "rpcPerSecond, roundTripMs (p50, p99, samples; server mode, else null), rpcRejections, transportRejections (reason: count), godot (transport, runs, reliable, unreliable, ratio; "
            + "with --vs-godot, else null), ok. With --cluster: command, mode (cluster), nodes, clients, rooms, seconds, rpcBytes, phases (same-node and cross-node: name, sent, "
            + "delivered, deliveredInTime, lost, outOfOrder, rpcPerSecond, roundTripMs, lostPings), ratio (cross-node over same-node), addedRoundTripMs (p50, p99), ok.");
        var command = new Command("bench", "Measure RPC throughput and round-trip latency through MultiplayerAPI and a transport, and compare with Godot 3.2.3.")
        {
            transport, clients, seconds, payload, vsGodot, godotRuns, shared, relay, rooms, admin, cluster, nodes, json,
        };
        command.SetAction((result, ct) => RunAsync(
            result,
            new BenchOptions(Transports.Parse(result.GetValue(transport)!), result.GetValue(clients), result.GetValue(seconds), result.GetValue(payload),
                result.GetValue(vsGodot), result.GetValue(godotRuns), result.GetValue(shared), result.GetValue(relay), Given(result, rooms), result.GetValue(admin),
                result.GetValue(cluster), Given(result, nodes), result.GetValue(json)),
            ct));
        return command;
    }

    /// <summary>The option's value when given on the command line, else null (its default applies).</summary>
    private static int? Given(ParseResult result, Option<int> option) => result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;

    /// <summary><c>/root/Main</c>'s child <c>Bench</c>, on the server and on every client.</summary>
    internal sealed class BenchNode : Node
    {
        private readonly Dictionary<int, int> _slots = [];

        public BenchNode(int clients)
        {
            Name = "Bench";
            ReceivedFrom = new long[clients];
        }

        /// <summary>Server: RPCs dispatched, per client slot (read by the clients' thread for flow control).</summary>
        public long[] ReceivedFrom { get; }

        public long Received;

        public long OutOfOrder;

        /// <summary>Client: the sequence number expected next per sender (server: per client).</summary>
        private readonly Dictionary<int, long> _expected = [];

        /// <summary>Client: round trips, in Stopwatch ticks.</summary>
        public List<long> RoundTrips { get; } = new(1 << 16);

        public bool PongPending { get; set; }

        /// <summary>Server: assigns a slot to a client id the first time it is seen.</summary>
        public void Register(int id, int slot) => _slots[id] = slot;

        [Remote(Name = "r")]
        public void R(long seq, byte[] payload)
        {
            var from = Multiplayer!.GetRpcSenderId();
            _expected.TryGetValue(from, out var want);
            if (seq != want)
            {
                OutOfOrder++;
            }

            _expected[from] = seq + 1;
            Received++;
            if (_slots.TryGetValue(from, out var slot))
            {
                Volatile.Write(ref ReceivedFrom[slot], ReceivedFrom[slot] + 1);
            }
        }

        [Remote(Name = "p")]
        public void P(long stamp) => RpcId(Multiplayer!.GetRpcSenderId(), nameof(Q), stamp);

        [Remote(Name = "q")]
        public void Q(long stamp)
        {
            RoundTrips.Add(Stopwatch.GetTimestamp() - stamp);
            PongPending = false;
        }
    }

    private sealed class Client(NetworkedMultiplayerPeer peer, int clients)
    {
        public NetworkedMultiplayerPeer Peer { get; } = peer;

        public MultiplayerAPI Api { get; } = new();

        public BenchNode Node { get; } = new(clients);

        public long Sent;
    }

    /// <param name="ReceivedInTime">RPCs the server dispatched within the throughput phase (the rate's numerator).</param>
    /// <param name="Delivered">RPCs the server dispatched in the end (to check that none was lost).</param>
    private sealed record Outcome(long Sent, long ReceivedInTime, long Delivered, long OutOfOrder, double Seconds, long[] RoundTrips, long Rejected);

    private static async Task<int> RunAsync(ParseResult result, BenchOptions options, CancellationToken ct)
    {
        var (kind, clientCount, seconds, payloadSize) = (options.Kind, options.Clients, options.Seconds, options.Payload);
        if (clientCount is < 1 or > 256)
        {
            return CliOutput.Fail(result, "--clients must be between 1 and 256");
        }

        if (seconds is <= 0 or > 3600)
        {
            return CliOutput.Fail(result, "--seconds must be more than 0 and at most 3600");
        }

        if (payloadSize is < 0 or > 60_000)
        {
            return CliOutput.Fail(result, "--payload must be between 0 and 60000");
        }

        if (options.VsGodot && kind == TransportKind.Local)
        {
            return CliOutput.Fail(result, "--vs-godot needs --transport ws or enet: Godot 3.2.3 has no in-process transport to compare with 'local'");
        }

        if (options.GodotRuns is < 1 or > 15)
        {
            return CliOutput.Fail(result, "--godot-runs must be between 1 and 15");
        }

        if (!options.Relay && (options.Cluster is not null || options.Nodes is not null))
        {
            return CliOutput.Fail(result, options.Cluster is not null ? "--cluster only applies with --relay" : "--nodes only applies with --relay --cluster");
        }

        if (options.Relay)
        {
            if (options.VsGodot)
            {
                return CliOutput.Fail(result, "--relay and --vs-godot do not go together: Godot's probe measures client-to-server RPCs");
            }

            if (clientCount % 2 != 0 || clientCount < 2)
            {
                return CliOutput.Fail(result, "--relay needs an even --clients of at least 2 (clients send to each other in pairs)");
            }

            if (options.Rooms is < 1 || options.Rooms > clientCount / 2)
            {
                return CliOutput.Fail(result, "--rooms must be between 1 and the number of pairs (--clients / 2)");
            }

            if (options.Cluster is { } url)
            {
                if (string.IsNullOrWhiteSpace(url))
                {
                    return CliOutput.Fail(result, "--cluster needs the NATS server's URL, e.g. nats://127.0.0.1:4222");
                }

                if (options.Nodes is < 1 or > 3)
                {
                    return CliOutput.Fail(result, "--nodes must be between 1 and 3");
                }

                if (kind != TransportKind.Ws)
                {
                    return CliOutput.Fail(result, "--cluster needs --transport ws (the cluster bench's nodes are relay routers with WebSocket listeners)");
                }

                if (options.Admin)
                {
                    return CliOutput.Fail(result, "--admin does not go with --cluster");
                }

                return await ClusterBench.RunAsync(result, url, options.Nodes ?? 2, clientCount, options.Rooms ?? clientCount / 2, seconds, payloadSize, options.Json, ct).ConfigureAwait(false);
            }

            if (options.Nodes is not null)
            {
                return CliOutput.Fail(result, "--nodes only applies with --cluster");
            }

            var rooms = options.Rooms ?? 1;
            if (rooms > 1 && kind != TransportKind.Ws)
            {
                return CliOutput.Fail(result, "--rooms above 1 needs --transport ws (rooms come from the WebSocket URL path)");
            }

            if (options.Admin && rooms < 2)
            {
                return CliOutput.Fail(result, "--admin needs --rooms 2 or more (the relay router; one room uses the WebSocketServer peer)");
            }

            return await RelayBench.RunAsync(result, kind, clientCount, rooms, seconds, payloadSize, options.Admin, options.Json, ct).ConfigureAwait(false);
        }

        if (options.Admin)
        {
            return CliOutput.Fail(result, "--admin only applies with --relay");
        }

        var output = options.Json ? TextWriter.Null : CliOutput.Out(result);
        var console = CliOutput.CreateConsole(output);
        GodotFigures? godot = null;
        if (options.VsGodot)
        {
            godot = await MeasureGodotAsync(result, console, options, ct).ConfigureAwait(false);
            if (godot is null)
            {
                return 1;
            }
        }

        await using var network = await Transports.StartInProcessAsync(kind).ConfigureAwait(false);

        var serverApi = new MultiplayerAPI();
        var serverMain = new Node { Name = "Main" };
        serverApi.RootNode.AddChild(serverMain);
        var serverNode = new BenchNode(clientCount);
        serverMain.AddChild(serverNode);
        serverApi.NetworkPeer = network.Server.Peer;

        var clients = new List<Client>();
        for (var i = 0; i < clientCount; i++)
        {
            var c = new Client(network.NewClient(), clientCount);
            var main = new Node { Name = "Main" };
            c.Api.RootNode.AddChild(main);
            main.AddChild(c.Node);
            c.Api.NetworkPeer = c.Peer;
            clients.Add(c);
        }

        // Connect everyone (one thread for now).
        var connectClock = Stopwatch.StartNew();
        while (clients.Any(c => c.Peer.GetConnectionStatus() != ConnectionStatus.Connected) || serverApi.GetNetworkConnectedPeers().Length < clientCount)
        {
            if (connectClock.Elapsed > TimeSpan.FromSeconds(20))
            {
                result.InvocationConfiguration.Error.WriteLine("gdnet: the bench clients did not all connect within 20 s");
                return 1;
            }

            network.Pump();
            serverApi.Poll();
            clients.ForEach(c => c.Api.Poll());
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }

        for (var i = 0; i < clientCount; i++)
        {
            serverNode.Register(clients[i].Peer.GetUniqueId(), i);
        }

        var payload = new byte[payloadSize];
        var throughputTime = TimeSpan.FromSeconds(seconds);
        var latencyTime = TimeSpan.FromSeconds(seconds / 2);
        var progress = new ProgressState();
        var run = Task.Factory.StartNew(
            () => Measure(network, serverApi, serverNode, clients, payload, throughputTime, latencyTime, kind == TransportKind.Local, progress, ct),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await ShowProgressAsync(console, output, run, progress, throughputTime, latencyTime).ConfigureAwait(false);
        var outcome = await run.ConfigureAwait(false);

        var rate = outcome.ReceivedInTime / outcome.Seconds;
        var rpcBytes = RpcSize(payloadSize);
        Array.Sort(outcome.RoundTrips);
        var table = new Table().Border(TableBorder.Rounded).Title("gdnet bench").AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("transport", kind.ToString().ToLowerInvariant());
        table.AddRow("clients", clientCount.ToString(CultureInfo.InvariantCulture));
        table.AddRow("RPC", string.Create(CultureInfo.InvariantCulture, $"rpc_id(1, \"r\", int, PoolByteArray({payloadSize})): {rpcBytes} bytes"));
        table.AddRow("RPCs sent / received", string.Create(CultureInfo.InvariantCulture, $"{outcome.Sent:N0} / {outcome.Delivered:N0} ({outcome.ReceivedInTime:N0} within {outcome.Seconds:0.##} s)"));
        table.AddRow("lost / out of order", string.Create(CultureInfo.InvariantCulture, $"{outcome.Sent - outcome.Delivered} / {outcome.OutOfOrder}"));
        table.AddRow("[bold]throughput[/]", string.Create(CultureInfo.InvariantCulture, $"[bold]{rate:N0} RPC/s[/]"));
        table.AddRow("MultiplayerAPI bytes/s", ServeCommand.Size(rate * rpcBytes) + "/s");
        table.AddRow("round trip p50 / p99", outcome.RoundTrips.Length == 0
            ? "no samples"
            : string.Create(CultureInfo.InvariantCulture, $"{Ms(Percentile(outcome.RoundTrips, 0.50))} / {Ms(Percentile(outcome.RoundTrips, 0.99))} ms ({outcome.RoundTrips.Length:N0} pings)"));
        if (godot is null)
        {
            var readme = kind == TransportKind.Enet ? GodotBurstReliableEnet : GodotBurstReliableWs;
            table.AddRow(
                string.Create(CultureInfo.InvariantCulture, $"vs Godot burst, reliable ({readme:N0} RPC/s, README)"),
                kind == TransportKind.Local ? "n/a (local)" : string.Create(CultureInfo.InvariantCulture, $"{rate / readme:F1}×"));
        }
        else
        {
            AddGodotRows(table, godot, rate, outcome.Delivered == outcome.Sent && outcome.OutOfOrder == 0);
        }

        if (outcome.Rejected > 0)
        {
            table.AddRow("[yellow]RPC rejections[/]", outcome.Rejected.ToString(CultureInfo.InvariantCulture));
        }

        var transportRejections = network.Server.Peer.Statistics.Snapshot().Rejections
            .Concat(clients.SelectMany(c => c.Peer.Statistics.Snapshot().Rejections))
            .GroupBy(p => p.Key.ToString())
            .ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);
        if (transportRejections.Count > 0)
        {
            table.AddRow("[yellow]transport rejections[/]", Markup.Escape(string.Join(", ",
                transportRejections.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")))));
        }

        var intact = outcome.Delivered == outcome.Sent && outcome.OutOfOrder == 0;
        if (options.Json)
        {
            CliOutput.WriteJson(result, new BenchReport("bench", "server", kind.ToString().ToLowerInvariant(), clientCount, 1, outcome.Seconds, rpcBytes,
                outcome.Sent, outcome.Delivered, outcome.ReceivedInTime, outcome.Sent - outcome.Delivered, outcome.OutOfOrder, rate,
                outcome.RoundTrips.Length == 0 ? null : new RoundTripReport(MsValue(Percentile(outcome.RoundTrips, 0.50)), MsValue(Percentile(outcome.RoundTrips, 0.99)), outcome.RoundTrips.Length),
                outcome.Rejected, transportRejections,
                godot is null ? null : new GodotReport(godot.Transport, godot.Runs.Count, godot.Reliable, godot.Unreliable, godot.Reliable > 0 ? rate / godot.Reliable : 0),
                intact), ReportJson.Default.BenchReport);
            return intact ? 0 : 1;
        }

        console.Write(table);
        if (godot is not null)
        {
            // The same figures as plain lines (no table wrapping) for scripts and tests.
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Godot 3.2.3 {godot.Transport} (same run, median of {godot.Runs.Count}): reliable {godot.Reliable:N0} RPC/s, unreliable {godot.Unreliable:N0} RPC/s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio GdNet/Godot (reliable): {Ratio(rate, godot.Reliable)}")
                + (outcome.Delivered == outcome.Sent && outcome.OutOfOrder == 0 ? "" : " (not comparable: GdNet lost or reordered RPCs)"));
            output.Flush();
        }

        return intact ? 0 : 1;
    }

    /// <summary>The Godot probe's figures of this run: medians over <see cref="Runs"/>.</summary>
    private sealed record GodotFigures(string Transport, GodotProbeSettings Settings, IReadOnlyList<GodotProbeRun> Runs, double Reliable, double Unreliable);

    /// <summary>Runs the Godot probe <see cref="BenchOptions.GodotRuns"/> times; null (after one error line) when it cannot.</summary>
    private static async Task<GodotFigures?> MeasureGodotAsync(ParseResult result, IAnsiConsole console, BenchOptions options, CancellationToken ct)
    {
        var error = result.InvocationConfiguration.Error;
        var shared = GodotProbe.SharedFolder(options.Shared);
        var script = Path.Combine(shared, "godot3", "run-peer.sh");
        if (!File.Exists(script))
        {
            error.WriteLine($"gdnet: --vs-godot needs the shared fixtures, but {script} does not exist; pass --shared DIR (the folder holding godot3/) or set GDNET_SHARED");
            return null;
        }

        if (GodotProbe.FindGodot() is null)
        {
            error.WriteLine("gdnet: --vs-godot needs Godot 3.2.3 headless (godot3-server), which is not on PATH (nor in $GODOT): "
                + $"install it with 'apt-get install godot3-server' (running {script} as root once installs it too), or set GODOT to the binary");
            return null;
        }

        var transport = options.Kind == TransportKind.Enet ? "enet" : "ws";
        var settings = new GodotProbeSettings(transport, GodotBurstCount, GodotBurstCount, options.Payload, GodotRunTimeout);
        var runs = new List<GodotProbeRun>();
        for (var i = 1; i <= options.GodotRuns; i++)
        {
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"Godot 3.2.3 throughput probe ({transport}, burst {settings.Describe()}), run {i}/{options.GodotRuns}…")));
            try
            {
                runs.Add(await GodotProbe.RunOnceAsync(script, settings, ct).ConfigureAwait(false));
            }
            catch (InvalidOperationException e)
            {
                error.WriteLine("gdnet: " + e.Message.ReplaceLineEndings(" "));
                return null;
            }
        }

        var unreliable = runs.Where(r => r.Unreliable is not null).Select(r => (double)r.Unreliable!.RpcPerSecond).ToList();
        return new GodotFigures(transport, settings, runs, Median([.. runs.Select(r => (double)r.Reliable.RpcPerSecond)]), unreliable.Count == 0 ? 0 : Median(unreliable));
    }

    private static void AddGodotRows(Table table, GodotFigures godot, double rate, bool gdnetIntact)
    {
        var reliableRuns = string.Join(", ", godot.Runs.Select(r => r.Reliable.RpcPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        var lost = godot.Runs.Select(r => r.Unreliable?.Lost ?? 0).Order().ToList();
        table.AddRow("Godot 3.2.3 probe", Markup.Escape(godot.Transport + " " + godot.Settings.Describe()));
        table.AddRow("Godot runs (just before)", string.Create(CultureInfo.InvariantCulture, $"{godot.Runs.Count} (1 client, burst)"));
        table.AddRow("Godot reliable (median)", string.Create(CultureInfo.InvariantCulture, $"{godot.Reliable:N0} RPC/s (runs: {reliableRuns})"));
        table.AddRow("Godot unreliable (median)", string.Create(CultureInfo.InvariantCulture,
            $"{godot.Unreliable:N0} RPC/s (lost median {lost[lost.Count / 2]:N0} of {godot.Settings.Count:N0})"));
        table.AddRow("[bold]GdNet / Godot (reliable)[/]", "[bold]" + Ratio(rate, godot.Reliable) + "[/]"
            + (gdnetIntact ? "" : " [yellow](not comparable: GdNet lost or reordered RPCs)[/]"));
    }

    private static string Ratio(double gdnet, double godot) =>
        godot > 0 ? string.Create(CultureInfo.InvariantCulture, $"{gdnet / godot:F2}×") : "n/a (Godot received nothing)";

    private static double Median(List<double> values)
    {
        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private sealed class ProgressState
    {
        public volatile int Phase; // 0 throughput, 1 latency, 2 done
    }

    private static async Task ShowProgressAsync(IAnsiConsole console, TextWriter output, Task run, ProgressState state, TimeSpan throughput, TimeSpan latency)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"measuring throughput for {throughput.TotalSeconds:0.#} s, then latency for {latency.TotalSeconds:0.#} s…"));
            output.Flush();
            await run.ConfigureAwait(false);
            return;
        }

        await console.Progress().AutoClear(false).StartAsync(async ctx =>
        {
            var t1 = ctx.AddTask("throughput", maxValue: throughput.TotalMilliseconds);
            var t2 = ctx.AddTask("latency", maxValue: latency.TotalMilliseconds);
            var clock = Stopwatch.StartNew();
            var phaseStart = TimeSpan.Zero;
            var lastPhase = 0;
            while (!run.IsCompleted)
            {
                if (state.Phase != lastPhase)
                {
                    t1.Value = t1.MaxValue;
                    phaseStart = clock.Elapsed;
                    lastPhase = state.Phase;
                }

                var inPhase = (clock.Elapsed - phaseStart).TotalMilliseconds;
                (lastPhase == 0 ? t1 : t2).Value = inPhase;
                await Task.WhenAny(run, Task.Delay(100)).ConfigureAwait(false);
            }

            t1.Value = t1.MaxValue;
            t2.Value = t2.MaxValue;
        }).ConfigureAwait(false);
    }

    private static Outcome Measure(InProcessNetwork network, MultiplayerAPI serverApi, BenchNode serverNode, List<Client> clients, byte[] payload,
        TimeSpan throughputTime, TimeSpan latencyTime, bool singleThread, ProgressState progress, CancellationToken ct)
    {
        using var stop = new CancellationTokenSource();
        Thread? serverThread = null;
        if (!singleThread)
        {
            serverThread = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var before = serverNode.Received;
                    serverApi.Poll();
                    if (serverNode.Received == before)
                    {
                        Thread.Yield();
                    }
                }
            }) { IsBackground = true, Name = "bench server" };
            serverThread.Start();
        }

        void ServerFrame()
        {
            if (singleThread)
            {
                network.Pump();
                serverApi.Poll();
            }
        }

        // Throughput: send as fast as the window allows; count what the server dispatched in the time.
        var clock = Stopwatch.StartNew();
        var batch = singleThread ? 256 : 1024;
        while (clock.Elapsed < throughputTime && !ct.IsCancellationRequested)
        {
            for (var i = 0; i < clients.Count; i++)
            {
                var c = clients[i];
                var room = Window - (c.Sent - Volatile.Read(ref serverNode.ReceivedFrom[i]));
                for (var k = 0; k < Math.Min(batch, room); k++)
                {
                    if (c.Node.RpcId(1, "R", c.Sent, payload) != Error.Ok)
                    {
                        break;
                    }

                    c.Sent++;
                }

                c.Api.Poll();
            }

            ServerFrame();
        }

        var sent = clients.Sum(c => c.Sent);
        var received = Volatile.Read(ref serverNode.Received);
        var elapsed = clock.Elapsed.TotalSeconds;

        // Let the rest arrive (the count above is what arrived within the time), to check nothing was lost.
        var drain = Stopwatch.StartNew();
        while (clients.Select((c, i) => Volatile.Read(ref serverNode.ReceivedFrom[i])).Sum() < sent && drain.Elapsed < TimeSpan.FromSeconds(30))
        {
            clients.ForEach(c => c.Api.Poll());
            ServerFrame();
            Thread.Sleep(singleThread ? 0 : 1);
        }

        var delivered = clients.Select((c, i) => Volatile.Read(ref serverNode.ReceivedFrom[i])).Sum();
        progress.Phase = 1;

        // Latency: one ping in flight per client.
        clock.Restart();
        while (clock.Elapsed < latencyTime && !ct.IsCancellationRequested)
        {
            foreach (var c in clients)
            {
                if (!c.Node.PongPending)
                {
                    c.Node.PongPending = true;
                    c.Node.RpcId(1, "P", Stopwatch.GetTimestamp());
                }

                c.Api.Poll();
            }

            ServerFrame();
            if (!singleThread)
            {
                Thread.Yield(); // leave the cores to the socket tasks and the server while pings travel
            }
        }

        progress.Phase = 2;
        stop.Cancel();
        serverThread?.Join();
        var rejected = serverApi.GetStats().Total.TotalRejections + clients.Sum(c => c.Api.GetStats().Total.TotalRejections);
        return new Outcome(sent, received, delivered, Volatile.Read(ref serverNode.OutOfOrder), elapsed, [.. clients.SelectMany(c => c.Node.RoundTrips)], rejected);
    }

    internal static int RpcSize(int payload) => 1 + 4 + 2 + 1 + 8 + 8 + ((payload + 3) & ~3);

    internal static long Percentile(long[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    internal static string Ms(long ticks) => MsValue(ticks).ToString("F3", CultureInfo.InvariantCulture);

    internal static double MsValue(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
