using System.Text.Json;
using System.Text.Json.Serialization;

namespace GdNet.Cli.Commands;

// The one JSON object that `gdnet bench|demo|soak --json` prints on stdout (camelCase names; README "The gdnet program").
// Every report has "command" and "ok" (the same verdict as the exit code: 0 when ok).

/// <summary><c>gdnet bench --json</c>.</summary>
/// <param name="Mode">server (clients RPC the server) or relay (pairs of clients RPC each other through it).</param>
/// <param name="RpcBytes">MultiplayerAPI bytes of one probe RPC.</param>
/// <param name="DeliveredInTime">RPCs received within the throughput phase: <c>rpcPerSecond</c> is this over <c>seconds</c>.</param>
/// <param name="RoundTripMs">The latency phase's round trips in milliseconds (server mode), or null.</param>
/// <param name="Godot">The Godot 3.2.3 probe of the same run (<c>--vs-godot</c>), or null.</param>
internal sealed record BenchReport(
    string Command, string Mode, string Transport, int Clients, int Rooms, double Seconds, int RpcBytes,
    long Sent, long Delivered, long DeliveredInTime, long Lost, long OutOfOrder, double RpcPerSecond,
    RoundTripReport? RoundTripMs, long RpcRejections, IReadOnlyDictionary<string, long> TransportRejections, GodotReport? Godot, bool Ok);

/// <summary><c>gdnet bench --relay --cluster URL --json</c>: the measured same-node and cross-node phases.</summary>
/// <param name="Ratio">Cross-node throughput over same-node throughput.</param>
/// <param name="AddedRoundTripMs">Cross-node round trip minus same-node, at p50 and p99 (ms); null without pings.</param>
internal sealed record ClusterBenchReport(
    string Command, string Mode, int Nodes, int Clients, int Rooms, double Seconds, int RpcBytes, IReadOnlyList<ClusterPhaseReport> Phases,
    double Ratio, AddedRoundTripReport? AddedRoundTripMs, bool Ok);

/// <summary>One phase of the cluster bench: <c>same-node</c> or <c>cross-node</c>.</summary>
internal sealed record ClusterPhaseReport(
    string Name, long Sent, long Delivered, long DeliveredInTime, long Lost, long OutOfOrder, double RpcPerSecond, RoundTripReport? RoundTripMs, int LostPings);

/// <summary>Milliseconds added at p50 and p99.</summary>
internal sealed record AddedRoundTripReport(double P50, double P99);

/// <summary>Round-trip percentiles in milliseconds over <see cref="Samples"/> pings.</summary>
internal sealed record RoundTripReport(double P50, double P99, int Samples);

/// <summary>The Godot probe's medians (RPC/s) over <see cref="Runs"/> runs, and GdNet's reliable throughput over Godot's.</summary>
internal sealed record GodotReport(string Transport, int Runs, double Reliable, double Unreliable, double Ratio);

/// <summary><c>gdnet demo --json</c>.</summary>
internal sealed record DemoReport(
    string Command, string Transport, IReadOnlyList<DemoBotReport> Bots, int ServerClientsOk, int ServerClientsFailed,
    long PacketsIn, long PacketsOut, long Relayed, bool Ok);

/// <summary>One demo bot: its peer id, chat lines seen, conversation-v1 steps passed, and its result.</summary>
/// <param name="Result">ok, fail or unfinished.</param>
/// <param name="Detail">Why it failed, or the step it was at when unfinished; null when ok.</param>
/// <param name="DoneMs">When it finished, in milliseconds since the bots started; null when it did not.</param>
internal sealed record DemoBotReport(int Bot, int Id, int ChatLines, IReadOnlyList<string> StepsPassed, string Result, string? Detail, double? DoneMs);

/// <summary><c>gdnet soak --json</c>: the options run, then <see cref="SoakOutcome"/>'s figures.</summary>
internal sealed record SoakReport(
    string Command, int Clients, double Seconds, int Rate, bool Garbage,
    long SentToServer, long ReceivedByServer, long SentToNeighbours, long ReceivedByNeighbours, long Lost, long Reordered,
    int Killed, int KillsSeenEverywhere, string GarbageClose, long HeapWarmBytes, long HeapEndBytes, long ServerRejections,
    IReadOnlyList<string> Problems, bool Ok)
{
    public static SoakReport From(SoakOptions options, SoakOutcome o) => new(
        "soak", o.Clients, o.Seconds, options.Rate, options.Garbage, o.SentToServer, o.ReceivedByServer, o.SentToNeighbours,
        o.ReceivedByNeighbours, o.Lost, o.Reordered, o.Killed, o.KillsSeenEverywhere, o.GarbageClose, o.HeapWarmBytes,
        o.HeapEndBytes, o.ServerRejections, o.Problems, o.Passed);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(BenchReport))]
[JsonSerializable(typeof(ClusterBenchReport))]
[JsonSerializable(typeof(DemoReport))]
[JsonSerializable(typeof(SoakReport))]
internal sealed partial class ReportJson : JsonSerializerContext;
