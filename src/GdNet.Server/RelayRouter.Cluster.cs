using System.Collections.Concurrent;
using System.Globalization;
using GdNet.Peers;
using Microsoft.Extensions.Logging;

namespace GdNet.Server;

// The router's side of a cluster of servers (IClusterLink): members on other nodes, the packets they send here, and the
// hosted logic held by one node. The rules are the same as for local members; only the way out differs.
public sealed partial class RelayRouter
{
    private readonly ConcurrentDictionary<int, RemotePeer> _remote = new();
    private IClusterLink? _cluster;
    private long _toCluster;
    private long _fromCluster;
    private long _clusterUnannounced;

    /// <summary>The cluster link, or null when this server is alone.</summary>
    public IClusterLink? Cluster => _cluster;

    /// <summary>Packets handed to the cluster link (one per packet, whatever the number of nodes it reaches).</summary>
    public long ForwardedToCluster => Interlocked.Read(ref _toCluster);

    /// <summary>Packets received from other nodes and routed here.</summary>
    public long ReceivedFromCluster => Interlocked.Read(ref _fromCluster);

    /// <summary>Packets from other nodes dropped because their source is not a member announced by that node (a race with its join, or a lost announcement).</summary>
    public long ClusterUnannounced => Interlocked.Read(ref _clusterUnannounced);

    /// <summary>Members of this server's rooms connected to other nodes now.</summary>
    public int RemotePeerCount => _remote.Count;

    /// <summary>
    /// Makes this router one node of a cluster: rooms, announcements and packets reach the members connected to other
    /// nodes through <paramref name="link"/>, and each room's hosted logic runs on the node the link chooses. Call once,
    /// before the first connection.
    /// </summary>
    /// <exception cref="InvalidOperationException">A link is already attached, or connections were already admitted.</exception>
    public void AttachCluster(IClusterLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        lock (_gate)
        {
            if (_cluster is not null)
            {
                throw new InvalidOperationException("A cluster link is already attached; a router has one.");
            }

            if (_rooms.Count != 0 || _accepted != 0)
            {
                throw new InvalidOperationException("Attach the cluster link before the first connection: rooms created alone are not known to the cluster.");
            }

            _cluster = link;
        }
    }

    private async ValueTask<AdmissionTicket> ReserveInClusterAsync(IClusterLink link, AdmissionRequest request, string? name, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var ticket = Reserve(request, name);
            if (!ticket.IsAccepted)
            {
                return ticket;
            }

            bool ours;
            try
            {
                // The link bounds the opening and logs its failure; the room then works on this node alone.
                await ticket.ReservedRoom!.Opened.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                ours = await link.ClaimPeerIdAsync(ticket.PeerId, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ticket.Dispose();
                throw;
            }

            if (ours)
            {
                ticket.ClaimedInCluster = true;
                return ticket;
            }

            ticket.Dispose();
            if (request.RequestedPeerId != 0)
            {
                return Refuse(request, AdmissionRefusal.IdTaken, string.Create(CultureInfo.InvariantCulture,
                    $"client id {request.RequestedPeerId} is already connected to another node of the cluster"));
            }

            if (attempt == 7)
            {
                return Refuse(request, AdmissionRefusal.Other, "could not draw a peer id free in the cluster (8 draws taken)");
            }
        }
    }

    /// <summary>
    /// Gives <paramref name="room"/> its hosted logic here (the cluster link chose this node for it): calls
    /// <see cref="HostFactory"/> and tells the new host every member, local and remote. False when the room is closed,
    /// already has its host here, or has no factory.
    /// </summary>
    public bool ClusterAttachHost(Room room)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            if (room.Closed || room.Host is not null || HostFactory is null)
            {
                return false;
            }

            IRoomHost? host;
            try
            {
                host = HostFactory(room);
            }
#pragma warning disable CA1031 // a failing host factory leaves the room without hosted logic, logged
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogHostFailed(_logger, room.Name, ex);
                return false;
            }

            if (host is null)
            {
                return false;
            }

            room.Host = host;
            foreach (var m in room.MemberArray)
            {
                host.PeerJoined(m.PeerId);
            }

            foreach (var m in room.MemberArray)
            {
                foreach (var packet in m.PathsToHost)
                {
                    _ = host.Deliver(m.PeerId, packet, TransferModeEnum.Reliable); // the paths its members told the previous host
                }
            }

            foreach (var r in room.RemoteArray)
            {
                host.PeerJoined(r.PeerId);
            }

            LogHostAttached(_logger, room.Name);
            return true;
        }
    }

    /// <summary>Takes the hosted logic of <paramref name="room"/> away from this node (the link lost its claim). False when it had none.</summary>
    public bool ClusterDetachHost(Room room)
    {
        ArgumentNullException.ThrowIfNull(room);
        IRoomHost? host;
        lock (_gate)
        {
            host = room.Host;
            room.Host = null;
        }

        if (host is null)
        {
            return false;
        }

        try
        {
            host.Dispose();
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogHostFailed(_logger, room.Name, ex);
        }

        LogHostDetached(_logger, room.Name);
        return true;
    }

    /// <summary>
    /// Node <paramref name="node"/> says its members of <paramref name="room"/> are exactly <paramref name="peers"/>: the
    /// members it had here and are not in the list leave, the others join (announced to the local members and the host
    /// as usual). Used when a node opens a room, answers one, or reconciles after an outage.
    /// </summary>
    public void ClusterSetMembers(Room room, string node, ReadOnlySpan<int> peers)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentException.ThrowIfNullOrEmpty(node);
        var wanted = new HashSet<int>();
        foreach (var id in peers)
        {
            wanted.Add(id);
        }

        lock (_gate)
        {
            if (room.Closed)
            {
                return;
            }

            foreach (var r in room.RemoteArray)
            {
                if (r.Node == node && !wanted.Remove(r.PeerId))
                {
                    RemoveRemote(room, r); // known already when Remove found it; gone from the node's list otherwise
                }
            }

            foreach (var id in wanted)
            {
                AddRemote(room, node, id);
            }
        }
    }

    /// <summary>Peer <paramref name="peerId"/> of node <paramref name="node"/> joined <paramref name="room"/>.</summary>
    public void ClusterPeerJoined(Room room, string node, int peerId)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentException.ThrowIfNullOrEmpty(node);
        lock (_gate)
        {
            if (!room.Closed)
            {
                AddRemote(room, node, peerId);
            }
        }
    }

    /// <summary>Peer <paramref name="peerId"/> of node <paramref name="node"/> left <paramref name="room"/>.</summary>
    public void ClusterPeerLeft(Room room, string node, int peerId)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_gate)
        {
            if (_remote.TryGetValue(peerId, out var r) && r.Room == room && r.Node == node)
            {
                RemoveRemote(room, r);
            }
        }
    }

    /// <summary>
    /// Node <paramref name="node"/> is gone (it stopped, died, or was declared dead): each of its members leaves the rooms
    /// here, announced to the local members and the hosts.
    /// </summary>
    /// <returns>How many members left.</returns>
    public int ClusterNodeLost(string node)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        var n = 0;
        lock (_gate)
        {
            foreach (var r in _remote.Values)
            {
                if (r.Node == node && !r.Room.Closed)
                {
                    RemoveRemote(r.Room, r);
                    n++;
                }
            }
        }

        return n;
    }

    // A member of another node: its node disconnects it.
    internal bool KickRemote(Room room, int peerId, string reason) =>
        _cluster is { } link && _remote.TryGetValue(peerId, out var remote) && remote.Room == room && link.Kick(room, peerId, reason);

    /// <summary>
    /// Node <paramref name="node"/> asks to disconnect local member <paramref name="peerId"/> of <paramref name="room"/>
    /// (its hosted logic or its operator kicked it). False when the peer is not a local member of that room.
    /// </summary>
    public bool ClusterKick(Room room, string node, int peerId, string reason)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (!room.KickLocal(peerId, reason))
        {
            return false;
        }

        LogRemoteKick(_logger, peerId, room.Name, node, reason);
        return true;
    }

    /// <summary>The most SIMPLIFY_PATH packets kept per peer for a hosted logic taken over by another node.</summary>
    public const int MaxRecordedPaths = 64;

    /// <summary>The most bytes of SIMPLIFY_PATH packets kept per peer (with <see cref="MaxRecordedPaths"/>): 16 KiB.</summary>
    public const int MaxRecordedPathBytesPerPeer = 16 << 10;

    /// <summary>The most bytes of SIMPLIFY_PATH packets kept over all peers of this node: 32 MiB.</summary>
    public const long MaxRecordedPathBytesTotal = 32L << 20;

    private long _pathsNotRecorded;
    private long _recordedPathBytes;

    /// <summary>
    /// SIMPLIFY_PATH packets not kept for a host takeover because their peer had <see cref="MaxRecordedPaths"/> or
    /// <see cref="MaxRecordedPathBytesPerPeer"/> already, or the node <see cref="MaxRecordedPathBytesTotal"/> (the packet
    /// itself still reaches the host).
    /// </summary>
    public long PathsNotRecorded => Interlocked.Read(ref _pathsNotRecorded);

    /// <summary>Bytes of SIMPLIFY_PATH packets kept now for host takeovers, over all peers of this node.</summary>
    public long RecordedPathBytes => Interlocked.Read(ref _recordedPathBytes);

    // A peer told the hosted logic a path id; keep it, so a host on another node can be told again after a takeover.
    // Written by the peer's receive loop only; bounded in count and bytes, per peer and in all.
    private void RecordPathToHost(RelayConnection source, ReadOnlySpan<byte> packet)
    {
        var paths = source.PathsToHost;
        if (paths.Length >= MaxRecordedPaths
            || source.PathBytesToHost + packet.Length > MaxRecordedPathBytesPerPeer
            || Interlocked.Read(ref _recordedPathBytes) + packet.Length > MaxRecordedPathBytesTotal)
        {
            Interlocked.Increment(ref _pathsNotRecorded);
            return;
        }

        source.PathsToHost = [.. paths, packet.ToArray()];
        source.PathBytesToHost += packet.Length;
        Interlocked.Add(ref _recordedPathBytes, packet.Length);
    }

    // The peer left: what it kept no longer counts.
    private void ForgetPathsToHost(RelayConnection connection)
    {
        var bytes = connection.PathBytesToHost;
        connection.PathsToHost = [];
        connection.PathBytesToHost = 0;
        Interlocked.Add(ref _recordedPathBytes, -bytes);
    }

    /// <summary>
    /// Another node now runs <paramref name="room"/>'s hosted logic (it took the room over): each local member's
    /// SIMPLIFY_PATH packets for peer 1 are sent to it again, so the RPCs the members address to peer 1 by cached path id
    /// reach the new host (a Godot client keeps its path cache for peer 1: to it the server never left).
    /// </summary>
    /// <returns>How many packets were sent.</returns>
    public int ClusterHostMoved(Room room)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (_cluster is not { } link)
        {
            return 0;
        }

        var n = 0;
        foreach (var m in room.MemberArray)
        {
            foreach (var packet in m.PathsToHost)
            {
                if (link.Forward(room, m.PeerId, HostPeerId, packet, TransferModeEnum.Reliable, 0))
                {
                    n++;
                }
            }
        }

        return n;
    }

    /// <summary>Whether <paramref name="peerId"/> is a local peer of this node now (for the cluster link's id claims).</summary>
    public bool IsLocalPeer(int peerId) => _byId.ContainsKey(peerId);

    // Caller holds _gate.
    private void AddRemote(Room room, string node, int id)
    {
        if (id <= HostPeerId || _byId.ContainsKey(id) || _reservedIds.Contains(id))
        {
            // Two nodes gave out one id (possible only while they could not reach the cluster): keep ours, count theirs.
            Interlocked.Increment(ref _clusterUnannounced);
            LogRemoteClash(_logger, id, node, room.Name);
            return;
        }

        if (_remote.TryGetValue(id, out var old))
        {
            if (old.Room == room && old.Node == node)
            {
                return; // already known
            }

            RemoveRemote(old.Room, old); // moved (a reconnect on another node before its old node said goodbye)
        }

        var remote = new RemotePeer(id, node, room);
        _remote[id] = remote;
        room.RemoteArray = [.. room.RemoteArray, remote];
        if (Options.RelayBetweenClients)
        {
            foreach (var m in room.MemberArray)
            {
                m.SendPeerAdded(id);
            }
        }

        room.Host?.PeerJoined(id);
    }

    // Caller holds _gate.
    private void RemoveRemote(Room room, RemotePeer remote)
    {
        _remote.TryRemove(new KeyValuePair<int, RemotePeer>(remote.PeerId, remote));
        room.RemoteArray = [.. room.RemoteArray.Where(r => !ReferenceEquals(r, remote))];
        if (room.Closed)
        {
            return;
        }

        if (Options.RelayBetweenClients)
        {
            foreach (var m in room.MemberArray)
            {
                m.SendPeerRemoved(remote.PeerId);
            }
        }

        room.Host?.PeerLeft(remote.PeerId);
        NoteDeparture(remote.PeerId);
    }

    /// <summary>
    /// Routes one packet that node <paramref name="node"/> forwarded for <paramref name="room"/>, with the same rules as
    /// <see cref="Route"/> applied to this node's members and host: <paramref name="from"/> must be that node's member (or
    /// 1, its hosted logic). Called by the link's receive loop for the room, in the order the node sent them.
    /// </summary>
    /// <returns><see cref="RouteResult.RetryLater"/> when the host is full or the send budget is exhausted: the link waits
    /// (<see cref="WhenClusterRetryAsync"/>) and offers the packet again.</returns>
    public RouteResult RouteFromCluster(Room room, string node, int from, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (room.Closed)
        {
            return RouteResult.Done;
        }

        if (from != HostPeerId && !(_remote.TryGetValue(from, out var sender) && sender.Room == room && sender.Node == node))
        {
            Interlocked.Increment(ref _clusterUnannounced);
            return RouteResult.Done;
        }

        if (SendBudget.IsExhausted)
        {
            return RouteResult.RetryLater;
        }

        var packet = new RelayPacket(from, to, payload, mode, channel, null);
        if (to == HostPeerId)
        {
            return room.Host is { } host ? DeliverFromCluster(host, from, payload, mode) : RouteResult.Done;
        }

        if (to > HostPeerId)
        {
            if (_byId.TryGetValue(to, out var target) && target.Room == room)
            {
                SendTo(target, packet);
                Interlocked.Increment(ref _relayed);
                Interlocked.Increment(ref _fromCluster);
            }

            return RouteResult.Done; // a member of another node: not ours
        }

        var exclude = to == int.MinValue ? 0 : -to;
        if (exclude != HostPeerId && from != HostPeerId && room.Host is { } h && DeliverFromCluster(h, from, payload, mode) == RouteResult.RetryLater)
        {
            return RouteResult.RetryLater;
        }

        var n = 0;
        foreach (var m in room.MemberArray)
        {
            if (m.PeerId != exclude)
            {
                SendTo(m, packet);
                n++;
            }
        }

        Interlocked.Add(ref _relayed, n);
        Interlocked.Increment(ref _fromCluster);
        return RouteResult.Done;
    }

    private RouteResult DeliverFromCluster(IRoomHost host, int from, ReadOnlySpan<byte> payload, TransferModeEnum mode)
    {
        switch (host.Deliver(from, payload, mode))
        {
            case HostDelivery.Full:
                return RouteResult.RetryLater;
            case HostDelivery.Accepted:
                Interlocked.Increment(ref _toHost);
                Interlocked.Increment(ref _fromCluster);
                break;
            default:
                break;
        }

        return RouteResult.Done;
    }

    /// <summary>After <see cref="RouteFromCluster"/> answered <see cref="RouteResult.RetryLater"/>: completes when a retry may succeed, or after a short while.</summary>
    public Task WhenClusterRetryAsync(Room room, int length)
    {
        ArgumentNullException.ThrowIfNull(room);
        var budget = SendBudget.WhenAvailableAsync();
        var host = room.Host?.WhenRoomAsync(length) ?? Task.CompletedTask;
        return budget.IsCompleted && host.IsCompleted ? Task.CompletedTask : Task.WhenAny(Task.WhenAll(budget, host), Task.Delay(50));
    }

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "room {Room}: this node now runs its hosted logic")]
    private static partial void LogHostAttached(ILogger logger, string room);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "room {Room}: this node no longer runs its hosted logic")]
    private static partial void LogHostDetached(ILogger logger, string room);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "peer id {PeerId} announced by node {Node} in room {Room} is already a peer here; ignored (ids given out while the cluster was unreachable)")]
    private static partial void LogRemoteClash(ILogger logger, int peerId, string node, string room);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Debug, Message = "peer {PeerId} of room {Room} kicked by node {Node}: {Reason}")]
    private static partial void LogRemoteKick(ILogger logger, int peerId, string room, string node, string reason);
}
