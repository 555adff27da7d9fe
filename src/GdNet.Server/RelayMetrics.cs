using System.Diagnostics.Metrics;
using GdNet.Peers;

namespace GdNet.Server;

/// <summary>
/// Publishes a <see cref="RelayRouter"/>'s counters as <see cref="System.Diagnostics.Metrics"/> instruments on a meter
/// named <see cref="MeterName"/>, for <c>dotnet-counters monitor --counters GdNet</c>, OpenTelemetry or any
/// <see cref="MeterListener"/>.
/// </summary>
/// <remarks>
/// <para>Every instrument is observable: it reads the router's own counters when a listener collects, so the relay's hot
/// path does no extra work whether anyone listens or not.</para>
/// <para>Names follow OpenTelemetry's conventions (a Prometheus exporter turns <c>gdnet.packets.relayed</c> into
/// <c>gdnet_packets_relayed_total</c> and <c>gdnet.peers</c> into <c>gdnet_peers</c>). Cumulative counters never go
/// down: a departed peer's counts stay in the totals. Labels are bounded: transport names and refusal or rejection
/// reasons, never a peer id; room names only when asked for, and then for at most that many rooms.</para>
/// <list type="table">
/// <item><term><c>gdnet.peers</c></term><description>up-down counter, <c>{peer}</c>, by <c>gdnet.transport</c>: peers joined now.</description></item>
/// <item><term><c>gdnet.rooms</c></term><description>up-down counter, <c>{room}</c>: rooms now.</description></item>
/// <item><term><c>gdnet.connections.accepted</c></term><description>counter, <c>{connection}</c>: connections joined.</description></item>
/// <item><term><c>gdnet.connections.refused</c></term><description>counter, <c>{connection}</c>, by <c>gdnet.reason</c> (<see cref="AdmissionRefusal"/>).</description></item>
/// <item><term><c>gdnet.packets.received</c> / <c>gdnet.traffic.received</c> (<c>By</c>)</term><description>counters, by <c>gdnet.transport</c>: from peers, refused ones included.</description></item>
/// <item><term><c>gdnet.packets.sent</c> / <c>gdnet.traffic.sent</c> (<c>By</c>)</term><description>counters, by <c>gdnet.transport</c>: to peers, as the transports count them.</description></item>
/// <item><term><c>gdnet.packets.relayed</c></term><description>counter: packets forwarded to other peers (one per receiving peer).</description></item>
/// <item><term><c>gdnet.packets.host.received</c> / <c>gdnet.packets.host.sent</c></term><description>counters: packets taken and sent by rooms' hosted logic.</description></item>
/// <item><term><c>gdnet.packets.rejected</c></term><description>counter, by <c>gdnet.reason</c> (<see cref="PacketRejectReason"/>).</description></item>
/// <item><term><c>gdnet.room.peers</c></term><description>up-down counter, <c>{peer}</c>, by <c>gdnet.room</c>: only with <c>roomLabels</c> (the fullest rooms, the rest as <c>(other)</c>).</description></item>
/// <item><term><c>gdnet.peer.round_trip_time.max</c> / <c>.mean</c></term><description>gauges, <c>s</c>, by <c>gdnet.transport</c>: over the peers whose transport measures it (ENet).</description></item>
/// <item><term><c>gdnet.peer.packet_loss.max</c> / <c>.mean</c></term><description>gauges, <c>1</c> (0 to 1), by <c>gdnet.transport</c>: the share of reliable packets sent again, over the peers whose transport measures it (ENet, recomputed by ENet every 10 s).</description></item>
/// <item><term><c>gdnet.send_queue.size</c></term><description>up-down counter, <c>By</c>: bytes queued for sending now (the send budget's count).</description></item>
/// </list>
/// <para>With a <see cref="RoomHostLoop"/>, the rooms' hosted logic too (every room summed, closed rooms' counts kept):</para>
/// <list type="table">
/// <item><term><c>gdnet.rpc.dispatched</c></term><description>counter, <c>{call}</c>, by <c>gdnet.rpc.kind</c> (<c>rpc</c>, <c>rset</c>): calls and property sets received and run.</description></item>
/// <item><term><c>gdnet.rpc.sent</c></term><description>counter, <c>{call}</c>, by <c>gdnet.rpc.kind</c>: calls and property sets sent.</description></item>
/// <item><term><c>gdnet.rpc.rejected</c></term><description>counter, <c>{packet}</c>, by <c>gdnet.reason</c> (<see cref="GdNet.Multiplayer.RpcRejectReason"/>).</description></item>
/// <item><term><c>gdnet.host.queue.size</c></term><description>up-down counter, <c>{packet}</c>: packets waiting for the hosted logic now.</description></item>
/// </list>
/// <para>One <see cref="RelayMetrics"/> per router. With an <see cref="IMeterFactory"/> (dependency injection) the meter
/// comes from the factory, which owns it; otherwise this object creates it and <see cref="Dispose"/> removes it.</para>
/// </remarks>
public sealed class RelayMetrics : IDisposable
{
    /// <summary>The meter's name: <c>GdNet</c>.</summary>
    public const string MeterName = "GdNet";

    /// <summary>The tag naming a transport (<c>ws</c>, <c>enet</c>, …).</summary>
    public const string TransportTag = "gdnet.transport";

    /// <summary>The tag naming a refusal or rejection reason.</summary>
    public const string ReasonTag = "gdnet.reason";

    private readonly RelayRouter _router;
    private readonly bool _ownsMeter;

    /// <summary>The tag naming a room (only on <c>gdnet.room.peers</c>, and only when asked for).</summary>
    public const string RoomTag = "gdnet.room";

    /// <summary>The tag telling an RPC call (<c>rpc</c>) from a property set (<c>rset</c>).</summary>
    public const string RpcKindTag = "gdnet.rpc.kind";

    private readonly int _roomLabels;
    private readonly RoomHostLoop? _hosts;

    /// <param name="router">The router whose counters are published.</param>
    /// <param name="meterFactory">Where the meter comes from (dependency injection), or null to create one.</param>
    /// <param name="roomLabels">How many rooms get their own series in <c>gdnet.room.peers</c> (up-down counter, by
    /// <c>gdnet.room</c>): the fullest ones, at most this many, so the label's cardinality stays bounded; the rest are
    /// summed under <c>gdnet.room="(other)"</c>. 0 (the default): no per-room series.</param>
    /// <param name="hosts">The game thread of the rooms' hosted logic, whose RPC counts are published too (optional).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="roomLabels"/> is negative.</exception>
    public RelayMetrics(RelayRouter router, IMeterFactory? meterFactory = null, int roomLabels = 0, RoomHostLoop? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentOutOfRangeException.ThrowIfNegative(roomLabels);
        _router = router;
        _roomLabels = roomLabels;
        _hosts = hosts;
        var options = new MeterOptions(MeterName) { Version = typeof(RelayMetrics).Assembly.GetName().Version?.ToString(3) };
        Meter = meterFactory?.Create(options) ?? new Meter(options);
        _ownsMeter = meterFactory is null;

        Meter.CreateObservableUpDownCounter("gdnet.peers", () => ByTransport(static t => t.Peers), "{peer}", "Peers joined now.");
        Meter.CreateObservableUpDownCounter("gdnet.rooms", () => _router.Rooms.Count, "{room}", "Rooms now.");
        Meter.CreateObservableCounter("gdnet.connections.accepted", () => _router.AcceptedTotal, "{connection}", "Connections joined.");
        Meter.CreateObservableCounter("gdnet.connections.refused", Refusals, "{connection}", "Connections refused before joining, by reason.");
        Meter.CreateObservableCounter("gdnet.packets.received", () => ByTransport(static t => t.PacketsIn), "{packet}", "Packets received from peers, refused ones included.");
        Meter.CreateObservableCounter("gdnet.traffic.received", () => ByTransport(static t => t.BytesIn), "By", "MultiplayerAPI bytes received from peers.");
        Meter.CreateObservableCounter("gdnet.packets.sent", () => ByTransport(static t => t.PacketsOut), "{packet}", "Packets sent to peers, as the transports count them.");
        Meter.CreateObservableCounter("gdnet.traffic.sent", () => ByTransport(static t => t.BytesOut), "By", "Bytes sent to peers, as the transports count them.");
        Meter.CreateObservableCounter("gdnet.packets.relayed", () => _router.RelayedTotal, "{packet}", "Packets forwarded to other peers, one per receiving peer.");
        Meter.CreateObservableCounter("gdnet.packets.host.received", () => _router.ToHostTotal, "{packet}", "Packets taken by rooms' hosted logic.");
        Meter.CreateObservableCounter("gdnet.packets.host.sent", () => _router.FromHostTotal, "{packet}", "Packets sent by rooms' hosted logic.");
        Meter.CreateObservableCounter("gdnet.packets.rejected", Rejections, "{packet}", "Packets refused, by reason.");
        Meter.CreateObservableGauge("gdnet.peer.round_trip_time.max", () => PerPeer(static c => c.RoundTripTime?.TotalSeconds, mean: false), "s", "The longest round-trip time among the peers whose transport measures one (ENet).");
        Meter.CreateObservableGauge("gdnet.peer.round_trip_time.mean", () => PerPeer(static c => c.RoundTripTime?.TotalSeconds, mean: true), "s", "The mean round-trip time of the peers whose transport measures one (ENet).");
        Meter.CreateObservableGauge("gdnet.peer.packet_loss.max", () => PerPeer(static c => c.PacketLoss, mean: false), "1", "The highest share of reliable packets sent again among the peers whose transport measures it (ENet).");
        Meter.CreateObservableGauge("gdnet.peer.packet_loss.mean", () => PerPeer(static c => c.PacketLoss, mean: true), "1", "The mean share of reliable packets sent again over the peers whose transport measures it (ENet).");
        if (hosts is not null)
        {
            Meter.CreateObservableCounter("gdnet.rpc.dispatched", () => RpcKinds(static t => (t.RpcIn, t.RsetIn)), "{call}", "Calls and property sets received and run by rooms' hosted logic.");
            Meter.CreateObservableCounter("gdnet.rpc.sent", () => RpcKinds(static t => (t.RpcOut, t.RsetOut)), "{call}", "Calls and property sets sent by rooms' hosted logic.");
            Meter.CreateObservableCounter("gdnet.rpc.rejected", RpcRejections, "{packet}", "Packets rooms' hosted logic refused, by reason.");
            Meter.CreateObservableUpDownCounter("gdnet.host.queue.size", () => hosts.GetStatistics().QueuedPackets, "{packet}", "Packets waiting for rooms' hosted logic now.");
        }

        if (roomLabels > 0)
        {
            Meter.CreateObservableUpDownCounter("gdnet.room.peers", RoomPeers, "{peer}", "Peers in each of the fullest rooms, the rest summed as (other).");
        }

        Meter.CreateObservableUpDownCounter("gdnet.send_queue.size", () => _router.SendBudget.QueuedBytes, "By", "Bytes queued for sending now, over all peers.");
    }

    /// <summary>The meter the instruments are on.</summary>
    public Meter Meter { get; }

    /// <summary>Removes the instruments (disposes the meter when this object created it).</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    private IEnumerable<Measurement<long>> ByTransport(Func<TransportTraffic, long> value)
    {
        foreach (var (transport, traffic) in _router.GetTrafficByTransport())
        {
            yield return new Measurement<long>(value(traffic), new KeyValuePair<string, object?>(TransportTag, transport));
        }
    }

    // Round-trip time and packet loss are per peer: published as the max and the mean, by transport, so no label names
    // a peer. Peers whose transport measures none are left out.
    private IEnumerable<Measurement<double>> PerPeer(Func<RelayConnection, double?> value, bool mean)
    {
        var by = new Dictionary<string, (double Max, double Total, int Count)>(StringComparer.Ordinal);
        foreach (var room in _router.Rooms)
        {
            foreach (var c in room.Members)
            {
                if (value(c) is { } v)
                {
                    var (max, total, n) = by.GetValueOrDefault(c.Transport);
                    by[c.Transport] = (Math.Max(max, v), total + v, n + 1);
                }
            }
        }

        foreach (var (transport, (max, total, n)) in by)
        {
            yield return new Measurement<double>(mean ? total / n : max, new KeyValuePair<string, object?>(TransportTag, transport));
        }
    }

    private IEnumerable<Measurement<long>> RpcKinds(Func<GdNet.Multiplayer.RpcTrafficStats, (long Rpc, long Rset)> pick)
    {
        var (rpc, rset) = pick(_hosts!.GetStatistics().Traffic);
        yield return new Measurement<long>(rpc, new KeyValuePair<string, object?>(RpcKindTag, "rpc"));
        yield return new Measurement<long>(rset, new KeyValuePair<string, object?>(RpcKindTag, "rset"));
    }

    private IEnumerable<Measurement<long>> RpcRejections()
    {
        foreach (var (reason, count) in _hosts!.GetStatistics().Traffic.Rejections)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>(ReasonTag, reason.ToString()));
        }
    }

    private IEnumerable<Measurement<int>> RoomPeers()
    {
        var rooms = _router.Rooms.OrderByDescending(r => r.PeerCount).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
        var other = 0;
        for (var i = 0; i < rooms.Count; i++)
        {
            if (i < _roomLabels)
            {
                yield return new Measurement<int>(rooms[i].PeerCount, new KeyValuePair<string, object?>(RoomTag, rooms[i].Name));
            }
            else
            {
                other += rooms[i].PeerCount;
            }
        }

        if (rooms.Count > _roomLabels)
        {
            yield return new Measurement<int>(other, new KeyValuePair<string, object?>(RoomTag, "(other)"));
        }
    }

    private IEnumerable<Measurement<long>> Refusals()
    {
        foreach (var (reason, count) in _router.RefusalCounts)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>(ReasonTag, reason));
        }
    }

    private IEnumerable<Measurement<long>> Rejections()
    {
        foreach (var (reason, count) in _router.RejectionCounts)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>(ReasonTag, reason.ToString()));
        }
    }
}
