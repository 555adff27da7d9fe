using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using GdNet.Cluster;
using GdNet.Multiplayer;
using GdNet.Peers;
using GdNet.Server;
using GdNet.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace GdNet.Cli.Commands;

/// <summary>
/// <c>gdnet bench --relay --cluster URL [--nodes N]</c>: what a packet pays for crossing the cluster. The relay bench's
/// work (clients in pairs sending the probe RPC <c>rpc_id(partner, "r", seq, PoolByteArray(16))</c> to each other as fast
/// as a window of <see cref="Window"/> unreceived RPCs per client allows, every RPC checked for loss and order; then one
/// pair pinging each other, one ping at a time, for the round trip) runs twice in one invocation, each time on fresh
/// rooms: <b>same-node</b>, both clients of every pair on node 0 (the baseline: nothing crosses NATS), then
/// <b>cross-node</b>, the two clients of pair <c>p</c> on nodes <c>p % N</c> and <c>(p + 1) % N</c> (every packet goes
/// node → NATS → node). The summary gives the throughput ratio, the round trip added, and the links' batching
/// (packets per NATS message).
/// </summary>
/// <remarks>
/// <para><b>Layout: everything is in this one process</b>, on this machine's cores. Each of the N nodes is a
/// <see cref="RelayRouter"/> with its <see cref="NatsClusterLink"/> (one NATS connection each, cluster
/// <c>bench-{random}</c>, nodes <c>bench-n0…</c>) and its own <see cref="WebSocketRelayListener"/> on 127.0.0.1; the
/// clients are <see cref="WebSocketClient"/>s of this process too, polled by one thread. Every hop is loopback, and the
/// nodes share the process's thread pool and garbage collector with each other and with the clients (and the machine's
/// cores with nats-server when it runs here). So the figures show the cost of the path (batching into NATS messages,
/// NATS's round trip, decoding, routing on the other node) against the same work kept on one node; they are not the
/// figures of N machines, and N nodes in one process do not add up to N times the capacity of one.</para>
/// <para>The same-node phase runs on a node whose cluster link is attached (its rooms are opened in the cluster), so
/// the ratio isolates the crossing, not the link's presence. Each placement first runs unmeasured for up to
/// <see cref="WarmUp"/> (also on fresh rooms), so that neither measured phase pays for the JIT. With <c>--nodes 1</c>
/// both phases are same-node: the ratio then shows the run-to-run noise.</para>
/// <para>The bench removes its cluster's key-value buckets from the NATS server at the end (they hold the peer ids and
/// room host leases of that one cluster name, used by no one else).</para>
/// </remarks>
internal static class ClusterBench
{
    /// <summary>Most RPCs per client sent but not yet received by its partner (as <see cref="RelayBench"/>).</summary>
    private const int Window = 20_000;

    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest unmeasured run of each placement before the measured phases (capped at the phase length). Without it the
    /// first phase runs on code not yet tiered up and measured about half the second one's throughput on a 2-CPU machine,
    /// which made whichever phase ran first look slower.
    /// </summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    /// <summary>One node: a relay router (as <see cref="RelayBench"/>'s multi-room one), its cluster link and its listener.</summary>
    private sealed class ClusterNode(RelayRouter router, NatsClusterLink link, WebSocketRelayListener listener)
    {
        public RelayRouter Router { get; } = router;

        public NatsClusterLink Link { get; } = link;

        public WebSocketRelayListener Listener { get; } = listener;
    }

    /// <summary>Where the two clients of pair <c>p</c> connect: node indexes.</summary>
    private sealed record Placement(string Name, Func<int, int> NodeOfA, Func<int, int> NodeOfB);


    /// <summary>One run of a placement: its label, throughput time, round-trip time, and whether its figures are printed in full.</summary>
    private sealed record Phase(Placement Placement, string Label, TimeSpan Throughput, TimeSpan RoundTrip, bool Measured);

    private sealed record PhaseOutcome(string Name, RelayBench.Outcome Work, long[] RoundTrips, int LostPings)
    {
        public double Rate => Work.InTime / Work.Seconds;

        public long Lost => Work.Sent - Work.Delivered;

        public bool Intact => Lost == 0 && Work.OutOfOrder == 0 && LostPings == 0;
    }

    /// <summary>Mutes the links' and routers' warnings while the nodes leave (each would log the others' goodbyes).</summary>
    private sealed class LogGate
    {
        public volatile bool Quiet;
    }

    public static async Task<int> RunAsync(ParseResult result, string url, int nodeCount, int clientCount, int rooms, double seconds, int payloadSize, bool json, CancellationToken ct)
    {
        var output = json ? TextWriter.Null : CliOutput.Out(result);
        var error = result.InvocationConfiguration.Error;
        var clusterName = "bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var pairs = clientCount / 2;
        var gate = new LogGate();
        using var logs = LoggerFactory.Create(b =>
        {
            b.AddFilter((_, level) => level >= LogLevel.Warning && !gate.Quiet);
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
            b.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gdnet cluster bench, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC"));
        output.WriteLine("command: " + CommandLine(result));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"machine: {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}{LoadAverage()}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"layout: {nodeCount} node{(nodeCount == 1 ? "" : "s")} in this one process (bench-n0{(nodeCount == 1 ? "" : $"..bench-n{nodeCount - 1}")}), cluster {clusterName} over NATS {url}; "
            + $"each node a relay router with its own WebSocket listener on 127.0.0.1; the {clientCount} clients in this process too, polled by one thread"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"work per phase: {pairs} pairs in {rooms} room{(rooms == 1 ? "" : "s")}, rpc_id(partner, \"r\", int, PoolByteArray({payloadSize})) = {BenchCommand.RpcSize(payloadSize)} bytes, "
            + $"window {Window:N0} per client; throughput for {seconds:0.##} s, then round trip (pair 0, one ping at a time) for {seconds / 2:0.##} s; "
            + $"each placement first runs unmeasured for {Math.Min(WarmUp.TotalSeconds, seconds):0.##} s (warm-up)"));
        if (nodeCount == 1)
        {
            output.WriteLine("note: --nodes 1: both clients of every pair are on node 0 in both phases, so the cross-node phase is a second same-node run (the ratio shows run-to-run noise)");
        }

        output.Flush();

        var nodes = new List<ClusterNode>(nodeCount);
        var start = new NatsClusterStatistics[nodeCount];
        try
        {
            for (var i = 0; i < nodeCount; i++)
            {
                nodes.Add(await StartNodeAsync(url, clusterName, i, logs, ct).ConfigureAwait(false));
                start[i] = nodes[i].Link.GetStatistics();
            }

            Placement[] placements =
            [
                new("same-node", static _ => 0, static _ => 0),
                new("cross-node", p => p % nodeCount, p => (p + 1) % nodeCount),
            ];
            var warmUp = TimeSpan.FromSeconds(Math.Min(WarmUp.TotalSeconds, seconds));
            Phase[] phases =
            [
                .. placements.Select(p => new Phase(p, "warm-up-" + p.Name, warmUp, warmUp / 8, Measured: false)),
                .. placements.Select(p => new Phase(p, p.Name, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds / 2), Measured: true)),
            ];
            var runs = new List<PhaseOutcome>(phases.Length);
            var payload = new byte[payloadSize];
            foreach (var phase in phases)
            {
                var outcome = await RunPhaseAsync(result, output, nodes, phase, clientCount, rooms, payload, ct).ConfigureAwait(false);
                if (outcome is null)
                {
                    return 1;
                }

                runs.Add(outcome);
            }

            var outcomes = runs.Skip(placements.Length).ToList();
            var (same, cross) = (outcomes[0], outcomes[1]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"summary ({nodeCount} node{(nodeCount == 1 ? "" : "s")}, {clientCount} clients, {seconds:0.##} s):"));
            foreach (var o in outcomes)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {o.Name,-10}  {o.Rate,12:N0} RPC/s   round trip p50 / p99 {RoundTrip(o.RoundTrips)}"));
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cross-node/same-node throughput ratio: {(same.Rate > 0 ? cross.Rate / same.Rate : 0):0.00}"));
            output.WriteLine(same.RoundTrips.Length == 0 || cross.RoundTrips.Length == 0
                ? "added p50 / p99 round trip: n/a (no pings)"
                : string.Create(CultureInfo.InvariantCulture,
                    $"added p50 / p99 round trip: {AddedMs(same.RoundTrips, cross.RoundTrips, 0.50)} ms / {AddedMs(same.RoundTrips, cross.RoundTrips, 0.99)} ms"));
            WriteLink(output, "node 0 link, whole run", start[0], nodes[0].Link.GetStatistics());
            var failed = runs.Where(o => !o.Intact).ToList();
            foreach (var o in failed)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"FAILED {o.Name}: lost {o.Lost:N0} RPCs, {o.Work.OutOfOrder:N0} out of order, {o.LostPings} pings unanswered"));
            }

            output.Flush();
            if (json)
            {
                CliOutput.WriteJson(result, new ClusterBenchReport("bench", "cluster", nodeCount, clientCount, rooms, seconds, BenchCommand.RpcSize(payloadSize),
                    [.. outcomes.Select(o => new ClusterPhaseReport(o.Name, o.Work.Sent, o.Work.Delivered, o.Work.InTime, o.Lost, o.Work.OutOfOrder, o.Rate,
                        o.RoundTrips.Length == 0 ? null : new RoundTripReport(BenchCommand.MsValue(BenchCommand.Percentile(o.RoundTrips, 0.50)),
                            BenchCommand.MsValue(BenchCommand.Percentile(o.RoundTrips, 0.99)), o.RoundTrips.Length), o.LostPings))],
                    same.Rate > 0 ? cross.Rate / same.Rate : 0,
                    same.RoundTrips.Length == 0 || cross.RoundTrips.Length == 0 ? null : new AddedRoundTripReport(
                        BenchCommand.MsValue(BenchCommand.Percentile(cross.RoundTrips, 0.50) - BenchCommand.Percentile(same.RoundTrips, 0.50)),
                        BenchCommand.MsValue(BenchCommand.Percentile(cross.RoundTrips, 0.99) - BenchCommand.Percentile(same.RoundTrips, 0.99))),
                    failed.Count == 0), ReportJson.Default.ClusterBenchReport);
            }

            return failed.Count == 0 ? 0 : 1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            error.WriteLine("gdnet: " + ex.Message.ReplaceLineEndings(" "));
            return 1;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            error.WriteLine("gdnet: cluster bench cancelled");
            return 1;
        }
        finally
        {
            gate.Quiet = true;
            foreach (var node in nodes)
            {
                await node.Listener.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var node in nodes)
            {
                await node.Link.DisposeAsync().ConfigureAwait(false);
            }

            if (nodes.Count > 0)
            {
                using var timeout = new CancellationTokenSource(TeardownTimeout);
                if (await NatsClusterLink.DeleteClusterStateAsync(url, clusterName, timeout.Token).ConfigureAwait(false) is { } problem)
                {
                    error.WriteLine($"gdnet: could not remove the bench cluster's state from {url}: {problem}");
                }
            }
        }
    }

    private static async Task<ClusterNode> StartNodeAsync(string url, string clusterName, int index, ILoggerFactory logs, CancellationToken ct)
    {
        var router = new RelayRouter(RelayBench.RouterOptions(), logs.CreateLogger<RelayRouter>());
        var options = new NatsClusterOptions { Url = url, ClusterName = clusterName, NodeName = string.Create(CultureInfo.InvariantCulture, $"bench-n{index}") };
        var link = await NatsClusterLink.ConnectAsync(router, options, logs.CreateLogger<NatsClusterLink>(), ct).ConfigureAwait(false);
        var listener = new WebSocketRelayListener(router, logs.CreateLogger<WebSocketRelayListener>()) { BindIp = "127.0.0.1" };
        var listening = await listener.ListenAsync(0).ConfigureAwait(false);
        if (listening != Error.Ok)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
            await link.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"bench node {index} could not listen on 127.0.0.1 ({listening})"));
        }

        return new ClusterNode(router, link, listener);
    }

    /// <summary>
    /// One phase on fresh rooms (named after <see cref="Phase.Label"/>): connect the pairs as placed, wait until each
    /// client sees its partner, measure, leave. An unmeasured phase (warm-up) prints one line.
    /// </summary>
    /// <returns>Null (after one error line) when the clients could not all join, or the run was cancelled.</returns>
    private static async Task<PhaseOutcome?> RunPhaseAsync(ParseResult result, TextWriter output, List<ClusterNode> nodes, Phase phase, int clientCount, int rooms, byte[] payload, CancellationToken ct)
    {
        var placement = phase.Placement;
        var label = phase.Label;
        var members = new RelayBench.Member[clientCount];
        try
        {
            for (var p = 0; p < clientCount / 2; p++)
            {
                var room = string.Create(CultureInfo.InvariantCulture, $"{label}-{p % rooms}");
                var a = members[2 * p] = Connect(nodes[placement.NodeOfA(p)], room);
                var b = members[(2 * p) + 1] = Connect(nodes[placement.NodeOfB(p)], room);
                a.Partner = b;
                b.Partner = a;
            }

            // Everyone connected and seeing its partner: a partner on another node has been announced through NATS.
            var clock = Stopwatch.StartNew();
            while (!members.All(m => m.Peer.GetConnectionStatus() == ConnectionStatus.Connected
                && Array.IndexOf(m.Api.GetNetworkConnectedPeers(), m.Partner!.Peer.GetUniqueId()) >= 0))
            {
                ct.ThrowIfCancellationRequested();
                if (clock.Elapsed > JoinTimeout)
                {
                    result.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"gdnet: {label}: the bench clients did not all connect and see their partners within {JoinTimeout.TotalSeconds:0} s"));
                    return null;
                }

                foreach (var m in members)
                {
                    m.Api.Poll();
                }

                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }

            var joined = clock.Elapsed;
            var pair0 = string.Create(CultureInfo.InvariantCulture, $"pair 0: node {placement.NodeOfA(0)} <-> node {placement.NodeOfB(0)}");
            if (phase.Measured)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: all {clientCount} clients see their partners after {joined.TotalMilliseconds:N0} ms; measuring throughput for {phase.Throughput.TotalSeconds:0.##} s, "
                    + $"then round trip for {phase.RoundTrip.TotalSeconds:0.##} s ({pair0})…"));
                output.Flush();
            }

            var before = Snapshot(nodes);
            var work = await Task.Factory.StartNew(() => RelayBench.Measure(members, payload, phase.Throughput, static () => { }, ct),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            var afterWork = Snapshot(nodes);
            var (roundTrips, lostPings) = await Task.Factory.StartNew(() => PingPong(members[0], phase.RoundTrip, ct),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            var afterPings = Snapshot(nodes);
            ct.ThrowIfCancellationRequested();

            var outcome = new PhaseOutcome(label, work, roundTrips, lostPings);
            if (!phase.Measured)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: joined in {joined.TotalMilliseconds:N0} ms; {work.Sent:N0} RPCs in {work.Seconds:0.##} s ({outcome.Rate:N0}/s), lost {outcome.Lost:N0}, "
                    + $"out of order {work.OutOfOrder:N0}; {roundTrips.Length:N0} pings{(lostPings == 0 ? "" : $", {lostPings} unanswered")} (not measured)"));
                output.Flush();
                return outcome;
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: relayed {outcome.Rate:N0} RPC/s ({work.InTime:N0} in {work.Seconds:0.##} s); sent {work.Sent:N0}, delivered {work.Delivered:N0}, lost {outcome.Lost:N0}, out of order {work.OutOfOrder:N0}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{label}: round trip p50 / p99 {RoundTrip(roundTrips)} ({roundTrips.Length:N0} pings, {pair0}{(lostPings == 0 ? "" : $", {lostPings} unanswered")})"));
            for (var i = 0; i < nodes.Count; i++)
            {
                WriteLink(output, string.Create(CultureInfo.InvariantCulture, $"{label}: throughput, node {i} link"), before[i], afterWork[i]);
            }

            WriteLink(output, string.Create(CultureInfo.InvariantCulture, $"{label}: round trip, node 0 link"), afterWork[0], afterPings[0]);
            output.Flush();
            return outcome;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            result.InvocationConfiguration.Error.WriteLine("gdnet: cluster bench cancelled");
            return null;
        }
        finally
        {
            foreach (var m in members)
            {
                if (m?.Peer is WebSocketClient client)
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                }
            }

            // The next phase starts on empty nodes (its rooms are new ones anyway).
            var clock = Stopwatch.StartNew();
            while (nodes.Any(n => n.Router.PeerCount != 0) && clock.Elapsed < TeardownTimeout)
            {
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static RelayBench.Member Connect(ClusterNode node, string room)
    {
        var client = new WebSocketClient();
        var err = client.ConnectToUrl(node.Listener.Url + "/" + room);
        if (err != Error.Ok)
        {
            client.Dispose();
            throw new InvalidOperationException("cannot connect a bench client: " + err);
        }

        var m = new RelayBench.Member(client);
        var main = new Node { Name = "Main" };
        m.Api.RootNode.AddChild(main);
        main.AddChild(m.Node);
        m.Api.NetworkPeer = m.Peer;
        return m;
    }

    /// <summary>Round trips between <paramref name="a"/> and its partner, one ping at a time (the partner's node answers <c>p</c> with <c>q</c>).</summary>
    private static (long[] RoundTrips, int Lost) PingPong(RelayBench.Member a, TimeSpan time, CancellationToken ct)
    {
        var b = a.Partner!;
        var to = b.Peer.GetUniqueId();
        var bench = a.Node;
        bench.RoundTrips.Clear();
        var lost = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time && !ct.IsCancellationRequested)
        {
            var stamp = Stopwatch.GetTimestamp();
            bench.PongPending = true;
            if (bench.RpcId(to, "P", stamp) != Error.Ok)
            {
                lost++;
                break;
            }

            while (bench.PongPending && Stopwatch.GetElapsedTime(stamp) < PingTimeout)
            {
                a.Api.Poll();
                b.Api.Poll();
                Thread.Yield(); // leave the cores to the sockets, the nodes and NATS while the ping travels
            }

            if (bench.PongPending)
            {
                lost++; // a reliable RPC lost: the bench fails; a late answer would spoil the next sample, so stop here
                break;
            }
        }

        var roundTrips = bench.RoundTrips.ToArray();
        Array.Sort(roundTrips);
        return (roundTrips, lost);
    }

    private static NatsClusterStatistics[] Snapshot(List<ClusterNode> nodes) => [.. nodes.Select(n => n.Link.GetStatistics())];

    /// <summary>One line of a link's counters between two snapshots: how many packets went in how many NATS messages.</summary>
    private static void WriteLink(TextWriter output, string what, NatsClusterStatistics before, NatsClusterStatistics after)
    {
        var forwarded = after.PacketsForwarded - before.PacketsForwarded;
        var messages = after.MessagesSent - before.MessagesSent;
        var bytes = after.BytesSent - before.BytesSent;
        var received = after.PacketsReceived - before.PacketsReceived;
        var messagesIn = after.MessagesReceived - before.MessagesReceived;
        var dropped = after.Dropped
            .Select(p => (p.Key, Count: p.Value - before.Dropped.GetValueOrDefault(p.Key)))
            .Where(p => p.Count != 0)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Count}"))
            .ToList();
        var batching = messages == 0
            ? "no NATS message"
            : string.Create(CultureInfo.InvariantCulture, $"{forwarded / (double)messages:N1} packets and {ServeCommand.Size(bytes / (double)messages)} per message");
        var nodesLost = after.NodesLost - before.NodesLost;
        var outages = after.Outages - before.Outages;
        var trouble = nodesLost == 0 && outages == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"; NODES LOST {nodesLost}, NATS OUTAGES {outages}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: sent {forwarded:N0} packets in {messages:N0} NATS messages, {ServeCommand.Size(bytes)} ({batching}); "
            + $"received {received:N0} packets in {messagesIn:N0} messages; dropped {(dropped.Count == 0 ? "none" : string.Join(", ", dropped))}{trouble}"));
    }

    private static string RoundTrip(long[] sorted) => sorted.Length == 0
        ? "no samples"
        : BenchCommand.Ms(BenchCommand.Percentile(sorted, 0.50)) + " / " + BenchCommand.Ms(BenchCommand.Percentile(sorted, 0.99)) + " ms";

    private static string AddedMs(long[] same, long[] cross, double p) =>
        ((BenchCommand.Percentile(cross, p) - BenchCommand.Percentile(same, p)) * 1000.0 / Stopwatch.Frequency).ToString("+0.000;-0.000;+0.000", CultureInfo.InvariantCulture);

    /// <summary>", load average 1 / 5 / 15 min: …" where the system tells it (Linux): a busy machine explains noisy figures.</summary>
    private static string LoadAverage()
    {
        try
        {
            var fields = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ', 4) : [];
            return fields.Length >= 3 ? $", load average {fields[0]} / {fields[1]} / {fields[2]} (1 / 5 / 15 min)" : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The command line as typed (from the parsed tokens, so the same whether run as <c>gdnet</c> or <c>dotnet GdNet.Cli.dll</c>).</summary>
    private static string CommandLine(ParseResult result) =>
        "gdnet " + string.Join(' ', result.Tokens.Select(t => t.Value.Contains(' ', StringComparison.Ordinal) ? "'" + t.Value + "'" : t.Value));
}
