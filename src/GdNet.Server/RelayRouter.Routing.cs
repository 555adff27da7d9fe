using System.Globalization;
using System.Net;
using GdNet.Peers;
using Microsoft.Extensions.Logging;

namespace GdNet.Server;

public sealed partial class RelayRouter
{
    /// <summary>Godot's id of the server (the room's hosted logic).</summary>
    public const int HostPeerId = 1;

    /// <summary>
    /// Routes one packet a member sent, with Godot's relay rules (see the class remarks): checks the sender's rate and its
    /// claimed source, then delivers to the hosted logic and/or relays to the room's members. Called by the sender's
    /// transport, one packet at a time per connection, in arrival order.
    /// </summary>
    /// <param name="source">The sending connection (joined).</param>
    /// <param name="claimedFrom">The source id in the transport's header (must be the sender's id).</param>
    /// <param name="to">The target in the header: 1 the host, N that peer, 0 everyone, −N everyone but N.</param>
    /// <param name="payload">The MultiplayerAPI bytes, without the transport header.</param>
    /// <param name="mode">How it travels (ENet: by its flags; WebSocket: reliable).</param>
    /// <param name="channel">The ENet channel it came on, 0 when the transport has none.</param>
    public RouteResult Route(RelayConnection source, int claimedFrom, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel = 0)
    {
        var room = source.Room;
        if (room is null)
        {
            return RouteResult.Done; // left (or never joined): nothing to route to
        }

        var length = payload.Length;
        source.PacketsInCount++;
        source.BytesInCount += length;
        if (!TakeRate(source, length))
        {
            return RouteResult.Done;
        }

        if (claimedFrom != source.PeerId)
        {
            // Size is the offending number (the claimed id), as PacketRejection documents for non-size reasons.
            Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.SpoofedSource, claimedFrom, 0, "claims to be peer {0}", claimedFrom), misbehaviour: true);
            return RouteResult.Done;
        }

        if (to == HostPeerId)
        {
            if (_cluster is not null && HostFactory is not null && length != 0 && payload[0] == SimplifyPathCommand)
            {
                RecordPathToHost(source, payload);
            }

            if (room.Host is null && HostFactory is not null && _cluster is { } hostLink && room.RemoteArray.Length != 0)
            {
                return ForwardToCluster(hostLink, room, source, to, payload, mode, channel, length); // hosted on another node
            }

            return DeliverToHost(room, source, payload, mode, length);
        }

        if (!Options.RelayBetweenClients)
        {
            // Godot's ENet server with relay off drops every packet not addressed to it, broadcasts included.
            Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.UnknownTarget, length, 0, "server relay is off"), misbehaviour: false);
            return RouteResult.Done;
        }

        var packet = new RelayPacket(source.PeerId, to, payload, mode, channel, source);
        if (to > HostPeerId)
        {
            if (to == source.PeerId || !_byId.TryGetValue(to, out var target) || target.Room != room)
            {
                if (to != source.PeerId && _cluster is { } link && _remote.TryGetValue(to, out var remote) && remote.Room == room)
                {
                    return ForwardToCluster(link, room, source, to, payload, mode, channel, length);
                }

                if (to == source.PeerId)
                {
                    Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.UnknownTarget, length, 0, "target {0} is the sender itself", to), misbehaviour: true);
                }
                else if (RecentlyDeparted(to))
                {
                    // A race between the sender and the departure: counted under its own reason, never held against the sender.
                    Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.DepartedTarget, length, 0, "target {0} has just left", to), misbehaviour: false);
                }
                else
                {
                    Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.UnknownTarget, length, 0, "target {0} is not in the room", to), misbehaviour: true);
                }

                return RouteResult.Done;
            }

            if (SendBudget.IsExhausted)
            {
                return BudgetExhausted(source, length);
            }

            SendTo(target, packet);
            Interlocked.Increment(ref _relayed);
            return RouteResult.Done;
        }

        // 0 everyone, −N everyone but N: the host first (when full nothing has been relayed yet, and the retry does it all).
        var exclude = to == int.MinValue ? 0 : -to;
        if (SendBudget.IsExhausted)
        {
            return BudgetExhausted(source, length);
        }

        // Members on other nodes: one copy to the cluster, after the host took it (a retry must not send it twice).
        var cluster = room.RemoteArray.Length != 0 ? _cluster : null;
        if (cluster is { IsBackedUp: true })
        {
            Refund(source, length);
            return RouteResult.RetryLater;
        }

        if (exclude != HostPeerId && room.Host is { } host)
        {
            var delivered = host.Deliver(source.PeerId, payload, mode);
            if (delivered == HostDelivery.Full)
            {
                Refund(source, length);
                return RouteResult.RetryLater;
            }

            if (delivered == HostDelivery.Accepted)
            {
                Interlocked.Increment(ref _toHost);
            }
        }

        if (cluster is not null && cluster.Forward(room, source.PeerId, to, payload, mode, channel))
        {
            Interlocked.Increment(ref _toCluster);
        }

        var members = room.MemberArray;
        var n = 0;
        foreach (var m in members)
        {
            if (!ReferenceEquals(m, source) && m.PeerId != exclude)
            {
                SendTo(m, packet);
                n++;
            }
        }

        if (n != 0)
        {
            Interlocked.Add(ref _relayed, n);
        }

        return RouteResult.Done;
    }

    // A packet for a member on another node (or the host there): one copy to the cluster link, or wait while it is backed up.
    private RouteResult ForwardToCluster(IClusterLink link, Room room, RelayConnection source, int to, ReadOnlySpan<byte> payload,
        TransferModeEnum mode, int channel, int length)
    {
        if (link.IsBackedUp)
        {
            Refund(source, length);
            return RouteResult.RetryLater;
        }

        if (link.Forward(room, source.PeerId, to, payload, mode, channel))
        {
            Interlocked.Increment(ref _toCluster);
        }

        return RouteResult.Done;
    }

    /// <summary>
    /// After <see cref="RouteResult.RetryLater"/>: completes when a retry of a packet of <paramref name="length"/> bytes
    /// from <paramref name="source"/> may succeed (the host has room and the send budget is available), or after a short
    /// while in any case.
    /// </summary>
    public Task WhenRetryAsync(RelayConnection source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        var budget = SendBudget.WhenAvailableAsync();
        var host = source.Room?.Host?.WhenRoomAsync(length) ?? Task.CompletedTask;
        var cluster = _cluster is { IsBackedUp: true } link ? link.WhenNotBackedUpAsync() : Task.CompletedTask;
        if (budget.IsCompleted && host.IsCompleted && cluster.IsCompleted)
        {
            return Task.CompletedTask;
        }

        return Task.WhenAny(Task.WhenAll(budget, host, cluster), Task.Delay(50));
    }

    // The server-wide send budget is used up: the sender waits (RetryLater). So that peers that do not read cannot hold
    // the budget and stall every room, when no queued byte has been written for SendStallTimeout the peer holding the
    // most is cut as a slow reader. Progress anywhere (a reader draining its queue) restarts the wait.
    private RouteResult BudgetExhausted(RelayConnection source, int length)
    {
        Refund(source, length);
        RelayConnection? stalled = null;
        var now = _time.GetTimestamp();
        lock (_stallLock)
        {
            var released = SendBudget.ReleasedBytes;
            if (released != _stallReleased)
            {
                _stallReleased = released;
                _stallSince = now;
            }
            else if (_time.GetElapsedTime(_stallSince, now) >= Options.SendStallTimeout)
            {
                var most = 0L;
                foreach (var c in _byId.Values)
                {
                    var q = c.QueuedBytes;
                    if (q > most)
                    {
                        most = q;
                        stalled = c;
                    }
                }

                _stallSince = now; // the next one, if still stalled, after another timeout
            }
        }

        // The largest holder already cut is on its way out (its transport drops what it holds): wait for it rather than
        // cutting the next one.
        if (stalled is not null && stalled.TryCut())
        {
            Reject(stalled, new PacketRejection(stalled.PeerId, PacketRejectReason.SlowReader, stalled.QueuedBytes, Options.MaxQueuedBytesTotal,
                "disconnected: holds the most of the server's send budget and has read nothing for a while (reads too slowly)"), misbehaviour: false);
            stalled.Close(CloseReason.SlowReader, "the peer reads too slowly: it holds the most of the server's stalled send budget");
        }

        return RouteResult.RetryLater;
    }

    private RouteResult DeliverToHost(Room room, RelayConnection source, ReadOnlySpan<byte> payload, TransferModeEnum mode, int length)
    {
        if (room.Host is not { } host)
        {
            // Relay only: packets for the server are read and dropped, as a Godot server with no node at their path does;
            // but a path is confirmed, as Godot's MultiplayerAPI always does. Unconfirmed, the client would send each of
            // its broadcasts as one unicast per peer (spec §3.4, step 6).
            ConfirmPath(source, payload);
            return RouteResult.Done;
        }

        switch (host.Deliver(source.PeerId, payload, mode))
        {
            case HostDelivery.Full:
                Refund(source, length);
                return RouteResult.RetryLater;
            case HostDelivery.Accepted:
                Interlocked.Increment(ref _toHost);
                break;
            default:
                break;
        }

        return RouteResult.Done;
    }

    // The MultiplayerAPI command bytes of SIMPLIFY_PATH and CONFIRM_PATH (spec §3.2).
    private const byte SimplifyPathCommand = 2;
    private const byte ConfirmPathCommand = 3;

    // SIMPLIFY_PATH (u8 2 · u32 id · path · NUL) to peer 1 of a room without hosted logic: CONFIRM_PATH (u8 3 · path · NUL) back.
    private void ConfirmPath(RelayConnection source, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 6 || payload[0] != SimplifyPathCommand)
        {
            return;
        }

        var path = payload[5..];
        var end = path.IndexOf((byte)0);
        path = end < 0 ? path : path[..end];
        if (path.IsEmpty)
        {
            return;
        }

        var confirm = path.Length < 256 ? stackalloc byte[path.Length + 2] : new byte[path.Length + 2];
        confirm[0] = ConfirmPathCommand;
        path.CopyTo(confirm[1..]);
        confirm[^1] = 0;
        SendTo(source, new RelayPacket(HostPeerId, source.PeerId, confirm, TransferModeEnum.Reliable, 0, null));
    }

    private void SendTo(RelayConnection target, in RelayPacket packet)
    {
        if (target.Send(in packet) == SendResult.Full && target.TryCut())
        {
            Reject(target, new PacketRejection(target.PeerId, PacketRejectReason.SlowReader, target.QueuedBytes, 0, "disconnected: its send queue is over its budget"), misbehaviour: false);
            target.Close(CloseReason.SlowReader, "the peer reads too slowly: its send queue is over its budget");
        }
    }

    internal Error SendFromHost(Room room, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel)
    {
        if (room.Closed)
        {
            return Error.Unconfigured;
        }

        var packet = new RelayPacket(HostPeerId, to, payload, mode, channel, null);
        if (to == HostPeerId)
        {
            return Error.Ok;
        }

        if (to > HostPeerId)
        {
            if (!_byId.TryGetValue(to, out var target) || target.Room != room)
            {
                if (_cluster is { } link && _remote.TryGetValue(to, out var remote) && remote.Room == room)
                {
                    if (link.Forward(room, HostPeerId, to, payload, mode, channel))
                    {
                        Interlocked.Increment(ref _toCluster);
                    }

                    Interlocked.Increment(ref _fromHost);
                    return Error.Ok;
                }

                return Error.InvalidParameter;
            }

            SendTo(target, packet);
        }
        else
        {
            var exclude = to == int.MinValue ? 0 : -to;
            if (room.RemoteArray.Length != 0 && _cluster is { } link && link.Forward(room, HostPeerId, to, payload, mode, channel))
            {
                Interlocked.Increment(ref _toCluster);
            }

            foreach (var m in room.MemberArray)
            {
                if (m.PeerId != exclude)
                {
                    SendTo(m, packet);
                }
            }
        }

        Interlocked.Increment(ref _fromHost);
        return Error.Ok;
    }

    // Per-peer token buckets. A peer over its rate has the packet dropped (RateLimited); one still over it after
    // RateLimitGrace (each excess within a second of the previous) is disconnected.
    private bool TakeRate(RelayConnection source, int length)
    {
        if (source.PacketBucket is null && source.ByteBucket is null)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        var packetsOk = source.PacketBucket?.TryTake(1, now) ?? true;
        var bytesOk = packetsOk && (source.ByteBucket?.TryTake(length, now) ?? true);
        if (packetsOk && bytesOk)
        {
            return true;
        }

        if (packetsOk)
        {
            source.PacketBucket?.Refund(1); // only the byte bucket refused: the packet was not let through
        }

        if (source.RateExceededSince < 0 || _time.GetElapsedTime(source.RateLastExceeded, now) > TimeSpan.FromSeconds(1))
        {
            source.RateExceededSince = now;
        }

        source.RateLastExceeded = now;
        var limit = packetsOk ? Options.MaxBytesPerSecond : Options.MaxPacketsPerSecond;
        Reject(source, new PacketRejection(source.PeerId, PacketRejectReason.RateLimited, length, (long)limit,
            packetsOk ? "over the byte rate limit" : "over the packet rate limit"), misbehaviour: false);
        if (_time.GetElapsedTime(source.RateExceededSince, now) >= Options.RateLimitGrace && source.TryCut())
        {
            source.Close(CloseReason.RateLimited, string.Create(CultureInfo.InvariantCulture,
                $"sent over its rate limit for {Options.RateLimitGrace.TotalSeconds:0.#} s"));
        }

        return false;
    }

    private static void Refund(RelayConnection source, int length)
    {
        source.PacketBucket?.Refund(1);
        source.ByteBucket?.Refund(length);
        source.PacketsInCount--;
        source.BytesInCount -= length;
    }

    /// <summary>
    /// Counts and reports a packet the transport refused before it could be routed (its framing: a frame kind the
    /// protocol does not allow, a packet shorter than the header or over the size limit, a garbage datagram), exactly as
    /// the router's own refusals: counted by reason, logged (rate-limited), passed to the connection's
    /// <see cref="RelayConnection.OnRejected"/> and raised as <see cref="PacketRejected"/>. Any thread.
    /// </summary>
    /// <param name="connection">The connection it came from, or null when it cannot be attributed (e.g. a datagram from no peer).</param>
    /// <param name="rejection">What was refused and why.</param>
    /// <param name="misbehaviour">Whether the peer broke a rule (as opposed to a race or a full queue).</param>
    public void ReportRejection(RelayConnection? connection, PacketRejection rejection, bool misbehaviour)
    {
        Reject(connection, rejection, misbehaviour);
    }

    private void Reject(RelayConnection? connection, PacketRejection rejection, bool misbehaviour)
    {
        if ((uint)rejection.Reason < (uint)_rejections.Length)
        {
            Interlocked.Increment(ref _rejections[(int)rejection.Reason]);
        }

        if (ShouldLog())
        {
            LogRejected(_logger, rejection.Detail);
        }

        connection?.OnRejected(rejection, misbehaviour);
        PacketRejected?.Invoke(connection, rejection);
    }

    private bool ShouldLog()
    {
        if (!_logger.IsEnabled(LogLevel.Information) || !_logLimiter.TryTake(out var suppressed))
        {
            return false;
        }

        if (suppressed > 0)
        {
            LogSuppressed(_logger, suppressed);
        }

        return true;
    }

    // ------------------------------------------------------------------ statistics

    /// <summary>A snapshot of the router's counters. Cumulative counts never go down (departed peers' counts stay in).</summary>
    public RelayStatistics GetStatistics()
    {
        long packetsIn, bytesIn;
        int rooms;
        lock (_gate)
        {
            packetsIn = _goneIn;
            bytesIn = _goneBytesIn;
            rooms = _rooms.Count;
            foreach (var c in _byId.Values)
            {
                packetsIn += c.PacketsIn;
                bytesIn += c.BytesIn;
            }
        }

        return new RelayStatistics(
            PeerCount, rooms, packetsIn, bytesIn, Interlocked.Read(ref _relayed), Interlocked.Read(ref _toHost), Interlocked.Read(ref _fromHost),
            Volatile.Read(ref _accepted), SendBudget.QueuedBytes,
            _refusals.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            RejectionCounts.ToDictionary(p => p.Key, p => p.Value));
    }

    // Single counters for RelayMetrics, without GetStatistics' walk over the peers.
    internal long AcceptedTotal => Volatile.Read(ref _accepted);

    internal long RelayedTotal => Interlocked.Read(ref _relayed);

    internal long ToHostTotal => Interlocked.Read(ref _toHost);

    internal long FromHostTotal => Interlocked.Read(ref _fromHost);

    internal IEnumerable<KeyValuePair<string, long>> RefusalCounts => _refusals;

    internal IEnumerable<KeyValuePair<PacketRejectReason, long>> RejectionCounts
    {
        get
        {
            for (var i = 0; i < _rejections.Length; i++)
            {
                if (Interlocked.Read(ref _rejections[i]) is var n and > 0)
                {
                    yield return new((PacketRejectReason)i, n);
                }
            }
        }
    }

    /// <summary>
    /// Names a transport that plugs into this router (connection providers call it when created), so it shows in
    /// <see cref="GetTrafficByTransport"/> with zeros before its first peer — a metrics series that exists from the start
    /// rather than appearing with the first player. Any thread; naming one twice does nothing.
    /// </summary>
    public void DeclareTransport(string transport)
    {
        ArgumentException.ThrowIfNullOrEmpty(transport);
        lock (_gate)
        {
            _goneTraffic.TryAdd(transport, TransportTraffic.Zero);
        }
    }

    /// <summary>
    /// Peers and traffic by transport name (<c>ws</c>, <c>enet</c>, …): peers joined now, and packets and bytes in and out
    /// of all time (departed peers' counts stay in, so the totals never go down). Out counts are the transports' own.
    /// Transports named with <see cref="DeclareTransport"/> are there from the start.
    /// </summary>
    public IReadOnlyDictionary<string, TransportTraffic> GetTrafficByTransport()
    {
        lock (_gate)
        {
            var traffic = new Dictionary<string, TransportTraffic>(_goneTraffic, StringComparer.Ordinal);
            foreach (var c in _byId.Values)
            {
                traffic[c.Transport] = traffic.GetValueOrDefault(c.Transport, TransportTraffic.Zero).Plus(c, peers: 1);
            }

            return traffic;
        }
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "{Transport} peer {PeerId} joined room {Room} from {EndPoint} (name {Name})")]
    private static partial void LogJoined(ILogger logger, string transport, int peerId, IPEndPoint? endPoint, string room, string name);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "{Transport} peer {PeerId} left room {Room} (name {Name})")]
    private static partial void LogLeft(ILogger logger, string transport, int peerId, string room, string name);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "refused a {Transport} connection from {EndPoint} to room {Room}: {Reason} ({Detail})")]
    private static partial void LogRefused(ILogger logger, string transport, IPEndPoint? endPoint, string room, AdmissionRefusal reason, string detail);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "rejected: {Detail}")]
    private static partial void LogRejected(ILogger logger, string detail);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "{Count} more refusals and rejections in the last second were not logged (all are counted)")]
    private static partial void LogSuppressed(ILogger logger, long count);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Debug, Message = "room {Room} created")]
    private static partial void LogRoomCreated(ILogger logger, string room);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Debug, Message = "room {Room} removed")]
    private static partial void LogRoomRemoved(ILogger logger, string room);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Error, Message = "the hosted logic of room {Room} failed")]
    private static partial void LogHostFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Error, Message = "an admission hook failed; the connection was refused")]
    private static partial void LogHookFailed(ILogger logger, Exception exception);
}

/// <summary>The router's counters at one moment.</summary>
/// <param name="Peers">Peers joined now.</param>
/// <param name="Rooms">Rooms now.</param>
/// <param name="PacketsIn">Packets received from peers (all time).</param>
/// <param name="BytesIn">Their MultiplayerAPI bytes.</param>
/// <param name="Relayed">Packets forwarded to other peers (one per receiving peer).</param>
/// <param name="DeliveredToHost">Packets taken by rooms' hosted logic.</param>
/// <param name="SentByHost">Packets the hosted logic sent (one per call, whatever the fan-out).</param>
/// <param name="Accepted">Connections joined (all time).</param>
/// <param name="QueuedBytes">Bytes queued for sending now (the send budget's count).</param>
/// <param name="Refusals">Connections refused, by <see cref="AdmissionRefusal"/> name.</param>
/// <param name="Rejections">Packets refused, by reason.</param>
public sealed record RelayStatistics(
    int Peers, int Rooms, long PacketsIn, long BytesIn, long Relayed, long DeliveredToHost, long SentByHost, long Accepted, long QueuedBytes,
    IReadOnlyDictionary<string, long> Refusals, IReadOnlyDictionary<PacketRejectReason, long> Rejections);

/// <summary>One transport's share of the router: peers joined now, and packets and bytes in and out of all time.</summary>
/// <param name="Peers">Peers of this transport joined now.</param>
/// <param name="PacketsIn">Packets received from them (all time, refused ones included).</param>
/// <param name="BytesIn">Their MultiplayerAPI bytes.</param>
/// <param name="PacketsOut">Packets sent to them, as the transport counts them (its system messages included).</param>
/// <param name="BytesOut">Bytes sent to them, as the transport counts them.</param>
public readonly record struct TransportTraffic(int Peers, long PacketsIn, long BytesIn, long PacketsOut, long BytesOut)
{
    internal static TransportTraffic Zero => default;

    internal TransportTraffic Plus(RelayConnection c, int peers) =>
        new(Peers + peers, PacketsIn + c.PacketsIn, BytesIn + c.BytesIn, PacketsOut + c.PacketsOut, BytesOut + c.BytesOut);
}
