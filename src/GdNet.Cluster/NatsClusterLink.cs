using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using GdNet.Peers;
using GdNet.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace GdNet.Cluster;

/// <summary>
/// Makes a <see cref="RelayRouter"/> one node of a cluster of GdNet servers over NATS (core NATS for traffic and
/// heartbeats, JetStream key-value buckets for peer ids and room host leases).
/// </summary>
/// <remarks>
/// <para><b>Subjects.</b> <c>gdnet.{cluster}.room.{room}</c> carries a room's announcements and packets; a node subscribes
/// only to the rooms it has members in, so traffic between members of one node never leaves it. <c>gdnet.{cluster}.nodes</c>
/// carries heartbeats. One sender's records for a room travel in one ordered stream (one subject, one connection) and
/// are batched: while one NATS message is being written the next records gather behind it, up to
/// <see cref="NatsClusterOptions.MaxBatchBytes"/>. Each message has a per-room sequence number: a gap (a slow-consumer
/// drop, a publish lost in an outage) is counted, logged, and repaired by asking the room's nodes for their members.</para>
/// <para><b>Failure.</b> A node not heard for <see cref="NatsClusterOptions.NodeTimeout"/> while this node is connected is
/// dead: its peers leave (REMOVE_PEER to local clients) and its room host leases are taken over (the hosted logic's state
/// is lost). While NATS is unreachable, local traffic goes on, packets for other nodes are dropped and counted, nothing is
/// declared dead; on reconnection every room's members are exchanged again.</para>
/// </remarks>
public sealed partial class NatsClusterLink : IClusterLink, IAsyncDisposable
{
    private readonly RelayRouter _router;
    private readonly NatsClusterOptions _options;
    private readonly ILogger _logger;
    private readonly NatsConnection _nats;
    private readonly byte[] _nodeKey;
    private readonly int _headerLength;
    private readonly string _prefix;
    private readonly ConcurrentDictionary<string, RoomLink> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _dead = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, ulong> _claimedIds = new();
    private readonly ConcurrentDictionary<string, long> _dropped = new(StringComparer.Ordinal);
    private readonly Channel<RoomLink> _ready = Channel.CreateUnbounded<RoomLink>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _backedUpGate = new();
    private TaskCompletionSource _notBackedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private INatsKVStore? _hosts;
    private INatsKVStore? _ids;
    private long _queuedBytes;
    private volatile bool _connected;
    private long _connectedSince;
    private long _messagesOut;
    private long _messagesIn;
    private long _bytesOut;
    private long _bytesIn;
    private long _nodesLost;
    private long _outages;
    private long _uncheckedIds;
    private int _disposed;

    // Rate-limited warnings: at most ten lines a second; the drop counters stay exact.
    private readonly LogRateLimiter _logLimiter = new();

    private sealed class RoomLink(Room room, string subject, bool wantsHost)
    {
        public Room Room { get; } = room;

        public string Subject { get; } = subject;

        public bool WantsHost { get; } = wantsHost;

        public Lock Gate { get; } = new();

        // Outgoing, under Gate: the batch being filled (header space first) and the full ones before it.
        public byte[]? Current;
        public int CurrentLength;
        public Queue<(byte[] Buffer, int Length)> Full { get; } = new();
        public bool Scheduled;

        // The pump's: this node's sequence number on the room's subject.
        public ulong Sequence;

        // The reader's: the last sequence number seen from each node.
        public Dictionary<string, ulong> Seen { get; } = new(StringComparer.Ordinal);

        private byte[] _lastKey = [];
        private string _lastNode = "";

        /// <summary>The node key of a message as a string; the last one is kept (its reader's thread only), so a stream of
        /// messages from one node costs no allocation.</summary>
        public string NodeName(ReadOnlySpan<byte> key)
        {
            if (!key.SequenceEqual(_lastKey))
            {
                _lastKey = key.ToArray();
                _lastNode = ClusterWire.NodeKeyString(key);
            }

            return _lastNode;
        }

        public CancellationTokenSource Cancel { get; } = new();
        public volatile bool Subscribed;
        public volatile bool Closed;

        // The lease loop's.
        public bool HostHeld;
        public ulong HostRevision;
    }

    private NatsClusterLink(RelayRouter router, NatsClusterOptions options, ILogger logger)
    {
        _router = router;
        _options = options;
        _logger = logger;
        var incarnation = Random.Shared.NextInt64().ToString("x16", CultureInfo.InvariantCulture);
        NodeKey = $"{options.NodeName}/{incarnation}";
        _nodeKey = Encoding.UTF8.GetBytes(NodeKey);
        _headerLength = ClusterWire.HeaderLength(_nodeKey);
        _prefix = $"gdnet.{options.ClusterName}";
        _nats = new NatsConnection(new NatsOpts
        {
            Url = options.Url,
            Name = "gdnet-" + options.NodeName,
            LoggerFactory = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
        });
        _nats.ConnectionOpened += OnConnectedAsync;
        _nats.ConnectionDisconnected += OnDisconnectedAsync;
        _nats.MessageDropped += OnMessageDroppedAsync;
    }

    /// <summary>This node's key in the cluster: its name and a random incarnation (a restarted node is a new node).</summary>
    public string NodeKey { get; }

    /// <summary>This node's name.</summary>
    public string NodeName => _options.NodeName;

    /// <summary>The cluster's name.</summary>
    public string ClusterName => _options.ClusterName;

    /// <summary>Whether the link is connected to NATS now.</summary>
    public bool IsConnected => _connected;

    /// <inheritdoc/>
    public bool IsBackedUp => Volatile.Read(ref _queuedBytes) > _options.MaxQueuedBytes;

    /// <summary>
    /// Connects to NATS, makes the key-value buckets, attaches the link to <paramref name="router"/> and starts the
    /// heartbeats. Throws <see cref="InvalidOperationException"/> with a readable reason when NATS cannot be reached or
    /// has no JetStream.
    /// </summary>
    public static async Task<NatsClusterLink> ConnectAsync(RelayRouter router, NatsClusterOptions options, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException("Cluster options: " + problem + ".", nameof(options));
        }

        var link = new NatsClusterLink(router, options, logger ?? NullLogger.Instance);
        try
        {
            await link.StartAsync(cancellationToken).ConfigureAwait(false);
            router.AttachCluster(link);
            return link;
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await _nats.ConnectAsync().AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException)
        {
            throw new InvalidOperationException($"cannot reach the NATS server at {_options.Url}: {ex.Message}", ex);
        }

        try
        {
            await MakeBucketsAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            throw new InvalidOperationException($"the NATS server at {_options.Url} has no usable JetStream (start nats-server with -js): {ex.Message}", ex);
        }

        _connected = true;
        Volatile.Write(ref _connectedSince, Environment.TickCount64);
        var nodes = await _nats.SubscribeCoreAsync(_prefix + ".nodes", serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default,
            cancellationToken: _stop.Token).ConfigureAwait(false);
        _loops.Add(Task.Run(() => ReadNodesAsync(nodes), CancellationToken.None));
        _loops.Add(Task.Run(PumpAsync, CancellationToken.None));
        _loops.Add(Task.Run(HeartbeatAsync, CancellationToken.None));
        _loops.Add(Task.Run(SweepAsync, CancellationToken.None));
        _loops.Add(Task.Run(LeaseAsync, CancellationToken.None));
        LogJoinedCluster(_logger, NodeKey, _options.ClusterName, _options.Url);
    }

    private static string HostsBucket(string cluster) => $"gdnet_{cluster}_hosts";

    private static string IdsBucket(string cluster) => $"gdnet_{cluster}_ids";

    /// <summary>
    /// Removes cluster <paramref name="clusterName"/>'s key-value state (host leases, peer ids) from the NATS server at
    /// <paramref name="url"/>: for benches and tests that make throw-away clusters. Never while its nodes run.
    /// </summary>
    /// <returns>Null when done (or nothing was there), else why not.</returns>
    public static async Task<string?> DeleteClusterStateAsync(string url, string clusterName, CancellationToken cancellationToken)
    {
        try
        {
            await using var nats = new NatsConnection(new NatsOpts { Url = url, Name = "gdnet-cleanup" });
            var kv = new NatsKVContext(new NatsJSContext(nats));
            foreach (var bucket in (string[])[HostsBucket(clusterName), IdsBucket(clusterName)])
            {
                await kv.DeleteStoreAsync(bucket, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            return ex.Message.ReplaceLineEndings(" ");
        }
    }

    // Creates the key-value buckets, or finds them (idempotent): at start, and again after a reconnect, since a restarted
    // single nats-server has lost the in-memory lease bucket.
    private async Task MakeBucketsAsync(CancellationToken cancellationToken)
    {
        var kv = new NatsKVContext(new NatsJSContext(_nats));
        _hosts = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(HostsBucket(_options.ClusterName))
        {
            Description = "GdNet: which node runs each room's hosted logic (leases)",
            History = 1,
            MaxAge = _options.HostLease,
            Storage = NatsKVStorageType.Memory,
        }, cancellationToken).ConfigureAwait(false);
        _ids = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(IdsBucket(_options.ClusterName))
        {
            Description = "GdNet: which node holds each peer id",
            History = 1,
            MaxAge = TimeSpan.FromHours(12),
            Storage = NatsKVStorageType.File,
        }, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ rooms

    /// <inheritdoc/>
    public async Task OpenRoomAsync(Room room, bool wantsHost)
    {
        ArgumentNullException.ThrowIfNull(room);
        var r = new RoomLink(room, $"{_prefix}.room.{room.Name}", wantsHost);
        _rooms[room.Name] = r;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_options.OpenTimeout);
        try
        {
            if (_connected)
            {
                await SubscribeAsync(r).WaitAsync(timeout.Token).ConfigureAwait(false);
            }

            if (wantsHost)
            {
                await ClaimHostAsync(r, timeout.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // the room works on this node alone until the cluster is back; logged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogRoomAlone(_logger, room.Name, ex.Message);
            if (wantsHost && !r.HostHeld && !r.Closed)
            {
                // No answer from the cluster: the room's logic runs here; the lease loop settles it once NATS answers.
                r.HostHeld = AttachHost(r);
            }
        }
    }

    private async Task SubscribeAsync(RoomLink r)
    {
        var sub = await _nats.SubscribeCoreAsync(r.Subject, serializer: NatsRawSerializer<NatsMemoryOwner<byte>>.Default,
            opts: new NatsSubOpts { ChannelOpts = new NatsSubChannelOpts { Capacity = _options.SubscriptionCapacity, FullMode = BoundedChannelFullMode.DropNewest } },
            cancellationToken: r.Cancel.Token).ConfigureAwait(false);
        r.Subscribed = true;
        _ = Task.Run(() => ReadRoomAsync(r, sub));
        AppendMembers(r, ClusterWire.MembersAnswer); // who is there? (they answer with theirs)
    }

    /// <inheritdoc/>
    public void CloseRoom(Room room)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (!_rooms.TryGetValue(room.Name, out var r) || r.Room != room)
        {
            return;
        }

        _rooms.TryRemove(new KeyValuePair<string, RoomLink>(room.Name, r));
        r.Closed = true;
        // Let the pump send what is queued (the last leaves) before the subscription goes; the reader ends on cancel.
        _ = Task.Run(async () =>
        {
            await Task.Delay(100).ConfigureAwait(false);
            await r.Cancel.CancelAsync().ConfigureAwait(false);
            if (r.HostHeld && _hosts is { } hosts && _connected)
            {
                r.HostHeld = false;
                await QuietlyResultAsync(() => hosts.TryDeleteAsync(room.Name, new NatsKVDeleteOpts { Revision = r.HostRevision })).ConfigureAwait(false);
            }
        });
    }

    /// <inheritdoc/>
    public void PeerJoined(Room room, int peerId) => AppendPeer(room, ClusterWire.RecordJoined, peerId);

    /// <inheritdoc/>
    public void PeerLeft(Room room, int peerId) => AppendPeer(room, ClusterWire.RecordLeft, peerId);

    private void AppendPeer(Room room, byte type, int peerId)
    {
        if (!_connected || !_rooms.TryGetValue(room.Name, out var r) || r.Room != room)
        {
            return; // reconciled with a members exchange when the cluster is back
        }

        lock (r.Gate)
        {
            ClusterWire.WritePeer(ReserveLocked(r, 5), type, peerId);
            ScheduleLocked(r);
        }
    }

    /// <inheritdoc/>
    public bool Kick(Room room, int peerId, string reason)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(reason);
        if (!_connected || !_rooms.TryGetValue(room.Name, out var r) || r.Room != room)
        {
            Drop(_connected ? "room_not_open" : "disconnected");
            return false;
        }

        var length = ClusterWire.KickLength(reason, out var reasonBytes);
        lock (r.Gate)
        {
            ClusterWire.WriteKick(ReserveLocked(r, length), peerId, reason, reasonBytes);
            ScheduleLocked(r);
        }

        return true;
    }

    private void AppendMembers(RoomLink r, byte flags)
    {
        var members = r.Room.Members;
        var ids = new int[members.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = members[i].PeerId;
        }

        lock (r.Gate)
        {
            ClusterWire.WriteMembers(ReserveLocked(r, ClusterWire.MembersLength(ids.Length)), flags, ids);
            ScheduleLocked(r);
        }
    }

    /// <inheritdoc/>
    public bool Forward(Room room, int from, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (!_connected)
        {
            Drop("disconnected");
            return false;
        }

        if (!_rooms.TryGetValue(room.Name, out var r) || r.Room != room)
        {
            Drop("room_not_open");
            return false;
        }

        var length = ClusterWire.PacketRecordHeader + payload.Length;
        if (_headerLength + length > MaxPayload)
        {
            Drop("too_large");
            return false;
        }

        lock (r.Gate)
        {
            ClusterWire.WritePacket(ReserveLocked(r, length), from, to, mode, channel, payload);
            ScheduleLocked(r);
        }

        return true;
    }

    private int MaxPayload => _nats.ServerInfo?.MaxPayload is > 0 and var max ? max : 1 << 20;

    // Caller holds r.Gate. Room for `length` more bytes of records in the current batch (a new one when full).
    private Span<byte> ReserveLocked(RoomLink r, int length)
    {
        if (r.Current is not null && (r.CurrentLength + length > r.Current.Length
            || (r.CurrentLength > _headerLength && r.CurrentLength - _headerLength + length > _options.MaxBatchBytes)))
        {
            r.Full.Enqueue((r.Current, r.CurrentLength));
            r.Current = null;
        }

        if (r.Current is null)
        {
            r.Current = ArrayPool<byte>.Shared.Rent(_headerLength + Math.Max(length, Math.Min(_options.MaxBatchBytes, 4096)));
            r.CurrentLength = _headerLength;
        }

        if (r.CurrentLength + length > r.Current.Length)
        {
            // Grow the batch being filled (it has room under MaxBatchBytes but the rented array is smaller).
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(r.Current.Length * 2, r.CurrentLength + length));
            r.Current.AsSpan(0, r.CurrentLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(r.Current);
            r.Current = bigger;
        }

        var span = r.Current.AsSpan(r.CurrentLength, length);
        r.CurrentLength += length;
        Interlocked.Add(ref _queuedBytes, length);
        return span;
    }

    // Caller holds r.Gate.
    private void ScheduleLocked(RoomLink r)
    {
        if (!r.Scheduled)
        {
            r.Scheduled = true;
            _ready.Writer.TryWrite(r);
        }
    }

    // One pump publishes every room's batches in order: while it writes one message, the next records gather.
    private async Task PumpAsync()
    {
        var batches = new List<(byte[] Buffer, int Length)>();
        try
        {
            while (await _ready.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (_ready.Reader.TryRead(out var r))
                {
                    lock (r.Gate)
                    {
                        while (r.Full.TryDequeue(out var full))
                        {
                            batches.Add(full);
                        }

                        if (r.Current is not null)
                        {
                            batches.Add((r.Current, r.CurrentLength));
                            r.Current = null;
                        }

                        r.Scheduled = false;
                    }

                    foreach (var (buffer, length) in batches)
                    {
                        await PublishAsync(r, buffer, length).ConfigureAwait(false);
                    }

                    batches.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task PublishAsync(RoomLink r, byte[] buffer, int length)
    {
        try
        {
            ClusterWire.WriteHeader(buffer, ClusterWire.KindRoom, ++r.Sequence, _nodeKey);
            if (_connected)
            {
                await _nats.PublishAsync(r.Subject, new ReadOnlyMemory<byte>(buffer, 0, length), serializer: NatsRawSerializer<ReadOnlyMemory<byte>>.Default,
                    cancellationToken: _stop.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _messagesOut);
                Interlocked.Add(ref _bytesOut, length);
            }
            else
            {
                Drop("disconnected"); // the sequence number moves on: the receivers see the gap and re-exchange members
            }
        }
        catch (Exception ex) when (ex is NatsException or ObjectDisposedException)
        {
            Drop("publish_failed");
            if (ShouldLog())
            {
                LogPublishFailed(_logger, r.Room.Name, ex.Message);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (Interlocked.Add(ref _queuedBytes, -(length - _headerLength)) <= _options.MaxQueuedBytes)
            {
                lock (_backedUpGate)
                {
                    _notBackedUp.TrySetResult();
                }
            }
        }
    }

    /// <inheritdoc/>
    public Task WhenNotBackedUpAsync()
    {
        lock (_backedUpGate)
        {
            if (!IsBackedUp)
            {
                return Task.CompletedTask;
            }

            if (_notBackedUp.Task.IsCompleted)
            {
                _notBackedUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return _notBackedUp.Task;
        }
    }

    // ------------------------------------------------------------------ receiving

    private async Task ReadRoomAsync(RoomLink r, INatsSub<NatsMemoryOwner<byte>> sub)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(r.Cancel.Token).ConfigureAwait(false))
            {
                var data = msg.Data;
                try
                {
                    await HandleRoomMessageAsync(r, data.Memory).ConfigureAwait(false);
                }
                finally
                {
                    data.Dispose();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
#pragma warning disable CA1031 // a failing reader must be seen, not take the process down
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogReaderFailed(_logger, r.Room.Name, ex);
        }
        finally
        {
            await sub.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task HandleRoomMessageAsync(RoomLink r, ReadOnlyMemory<byte> message)
    {
        if (!ClusterWire.TryReadHeader(message.Span, out var kind, out var sequence, out var keyBytes, out var offset) || kind != ClusterWire.KindRoom)
        {
            Drop("malformed");
            return;
        }

        if (keyBytes.SequenceEqual(_nodeKey))
        {
            return; // our own
        }

        var node = r.NodeName(keyBytes);
        Interlocked.Increment(ref _messagesIn);
        Interlocked.Add(ref _bytesIn, message.Length);
        NodeHeard(node);
        if (r.Seen.TryGetValue(node, out var last) && sequence != last + 1)
        {
            if (sequence > last + 1)
            {
                var lost = (long)(sequence - last - 1);
                _dropped.AddOrUpdate("gap", lost, (_, n) => n + lost);
                if (ShouldLog())
                {
                    LogGap(_logger, lost, node, r.Room.Name);
                }

                AppendMembers(r, ClusterWire.MembersAnswer); // reconcile the membership; the lost packets stay lost (counted)
            }
        }

        r.Seen[node] = sequence;
        while (offset < message.Length)
        {
            var span = message.Span[offset..];
            switch (span[0])
            {
                case ClusterWire.RecordPacket when span.Length >= ClusterWire.PacketRecordHeader:
                {
                    var from = BinaryPrimitives.ReadInt32LittleEndian(span[1..]);
                    var to = BinaryPrimitives.ReadInt32LittleEndian(span[5..]);
                    var mode = (TransferModeEnum)span[9];
                    var channel = span[10];
                    var length = BinaryPrimitives.ReadInt32LittleEndian(span[11..]);
                    if (length < 0 || length > span.Length - ClusterWire.PacketRecordHeader)
                    {
                        Drop("malformed");
                        return;
                    }

                    var payload = message.Slice(offset + ClusterWire.PacketRecordHeader, length);
                    while (_router.RouteFromCluster(r.Room, node, from, to, payload.Span, mode, channel) == RouteResult.RetryLater)
                    {
                        if (r.Closed)
                        {
                            return;
                        }

                        await _router.WhenClusterRetryAsync(r.Room, length).ConfigureAwait(false);
                    }

                    offset += ClusterWire.PacketRecordHeader + length;
                    break;
                }

                case ClusterWire.RecordJoined when span.Length >= 5:
                    _router.ClusterPeerJoined(r.Room, node, BinaryPrimitives.ReadInt32LittleEndian(span[1..]));
                    offset += 5;
                    break;
                case ClusterWire.RecordLeft when span.Length >= 5:
                    _router.ClusterPeerLeft(r.Room, node, BinaryPrimitives.ReadInt32LittleEndian(span[1..]));
                    offset += 5;
                    break;
                case ClusterWire.RecordKick when span.Length >= 6 && span.Length >= 6 + span[5]:
                    _router.ClusterKick(r.Room, node, BinaryPrimitives.ReadInt32LittleEndian(span[1..]), Encoding.UTF8.GetString(span.Slice(6, span[5])));
                    offset += 6 + span[5];
                    break;
                case ClusterWire.RecordHost:
                    _router.ClusterHostMoved(r.Room);
                    offset += 1;
                    break;
                case ClusterWire.RecordMembers when span.Length >= 6:
                {
                    var flags = span[1];
                    var count = BinaryPrimitives.ReadInt32LittleEndian(span[2..]);
                    if (count < 0 || count > (span.Length - 6) / 4)
                    {
                        Drop("malformed");
                        return;
                    }

                    var ids = new int[count];
                    for (var i = 0; i < count; i++)
                    {
                        ids[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(6 + (4 * i))..]);
                    }

                    _router.ClusterSetMembers(r.Room, node, ids);
                    if ((flags & ClusterWire.MembersAnswer) != 0)
                    {
                        AppendMembers(r, 0);
                    }

                    offset += 6 + (4 * count);
                    break;
                }

                default:
                    Drop("malformed");
                    return;
            }
        }
    }

    // ------------------------------------------------------------------ nodes: heartbeats and failure

    private async Task ReadNodesAsync(INatsSub<NatsMemoryOwner<byte>> sub)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                using var data = msg.Data;
                if (!ClusterWire.TryReadHeader(data.Memory.Span, out var kind, out _, out var keyBytes, out _))
                {
                    Drop("malformed");
                    continue;
                }

                if (keyBytes.SequenceEqual(_nodeKey))
                {
                    continue;
                }

                var node = ClusterWire.NodeKeyString(keyBytes);
                if (kind == ClusterWire.KindGoodbye)
                {
                    if (_nodes.TryRemove(node, out _))
                    {
                        NodeGone(node, "left the cluster");
                    }
                }
                else
                {
                    NodeHeard(node);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void NodeHeard(string node)
    {
        var now = Environment.TickCount64;
        if (_nodes.TryGetValue(node, out _))
        {
            _nodes[node] = now;
            return;
        }

        if (_dead.ContainsKey(node) && !_connected)
        {
            return;
        }

        if (_nodes.TryAdd(node, now))
        {
            _dead.TryRemove(node, out _);
            LogNodeJoined(_logger, node);
            foreach (var r in _rooms.Values)
            {
                AppendMembers(r, ClusterWire.MembersAnswer); // a new (or returning) node: tell each other who is where
            }
        }
    }

    private void NodeGone(string node, string why)
    {
        Interlocked.Increment(ref _nodesLost);
        _dead[node] = Environment.TickCount64;
        var n = _router.ClusterNodeLost(node);
        LogNodeLost(_logger, node, why, n);
    }

    private async Task HeartbeatAsync()
    {
        var message = new byte[_headerLength];
        ulong sequence = 0;
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            do
            {
                if (!_connected)
                {
                    continue;
                }

                ClusterWire.WriteHeader(message, ClusterWire.KindHeartbeat, ++sequence, _nodeKey);
                try
                {
                    await _nats.PublishAsync(_prefix + ".nodes", message, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: _stop.Token).ConfigureAwait(false);
                }
                catch (NatsException)
                {
                    // the outage is reported by the connection events
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SweepAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(50, _options.HeartbeatInterval.TotalMilliseconds / 2)));
        var timeout = (long)_options.NodeTimeout.TotalMilliseconds;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                if (!_connected || now - Volatile.Read(ref _connectedSince) < timeout)
                {
                    continue; // we cannot hear anyone, or have not been listening long enough to judge
                }

                foreach (var (node, heard) in _nodes)
                {
                    if (now - heard > timeout && _nodes.TryRemove(new KeyValuePair<string, long>(node, heard)))
                    {
                        NodeGone(node, string.Create(CultureInfo.InvariantCulture, $"not heard for {(now - heard) / 1000.0:0.0} s"));
                    }
                }

                foreach (var (node, at) in _dead)
                {
                    if (now - at > 3_600_000)
                    {
                        _dead.TryRemove(node, out _);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Whether a node that holds a key (a lease, an id) is gone: declared dead, or never heard while we listened long enough.
    private bool IsGone(string node) =>
        node != NodeKey && (_dead.ContainsKey(node)
            || (!_nodes.ContainsKey(node) && _connected && Environment.TickCount64 - Volatile.Read(ref _connectedSince) > (long)_options.NodeTimeout.TotalMilliseconds));

    private ValueTask OnConnectedAsync(object? sender, NatsEventArgs e)
    {
        var was = _connected;
        Volatile.Write(ref _connectedSince, Environment.TickCount64);
        _connected = true;
        if (!was && _hosts is not null)
        {
            LogReconnected(_logger, _options.Url);
            _ = Task.Run(() => QuietlyTaskAsync(() => MakeBucketsAsync(_stop.Token)));
            foreach (var r in _rooms.Values)
            {
                if (!r.Subscribed)
                {
                    _ = Task.Run(() => QuietlyTaskAsync(() => SubscribeAsync(r)));
                }
                else
                {
                    AppendMembers(r, ClusterWire.MembersAnswer); // reconcile: members may have come and gone meanwhile
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    private ValueTask OnDisconnectedAsync(object? sender, NatsEventArgs e)
    {
        if (_connected && Volatile.Read(ref _disposed) == 0)
        {
            Interlocked.Increment(ref _outages);
            LogDisconnected(_logger, _options.Url, e.Message);
        }

        _connected = false;
        return ValueTask.CompletedTask;
    }

    private ValueTask OnMessageDroppedAsync(object? sender, NatsMessageDroppedEventArgs e)
    {
        Drop("slow_consumer");
        if (ShouldLog())
        {
            LogSlowConsumer(_logger, e.Subject, e.Pending);
        }

        return ValueTask.CompletedTask;
    }

    // ------------------------------------------------------------------ hosted logic leases and peer ids

    // This node won the room's lease: run its hosted logic here, and tell the room's other nodes, which send it the path
    // ids their members told a previous host (RelayRouter.ClusterHostMoved).
    private bool AttachHost(RoomLink r)
    {
        if (!_router.ClusterAttachHost(r.Room))
        {
            return false;
        }

        lock (r.Gate)
        {
            ReserveLocked(r, 1)[0] = ClusterWire.RecordHost;
            ScheduleLocked(r);
        }

        return true;
    }

    private async Task ClaimHostAsync(RoomLink r, CancellationToken cancellationToken)
    {
        var created = await _hosts!.TryCreateAsync(r.Room.Name, _nodeKey, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (created.Success && !r.Closed)
        {
            r.HostRevision = created.Value;
            r.HostHeld = AttachHost(r);
        }
    }

    private async Task LeaseAsync()
    {
        var tick = TimeSpan.FromMilliseconds(Math.Min(1000, _options.HostLease.TotalMilliseconds / 4));
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!_connected || _hosts is not { } hosts)
                {
                    continue;
                }

                foreach (var r in _rooms.Values)
                {
                    if (!r.WantsHost || r.Closed)
                    {
                        continue;
                    }

                    try
                    {
                        await KeepLeaseAsync(hosts, r).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is NatsException or TimeoutException)
                    {
                        // NATS is away: whoever holds a room keeps it; settled when it is back
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task KeepLeaseAsync(INatsKVStore hosts, RoomLink r)
    {
        var key = r.Room.Name;
        var raw = NatsRawSerializer<byte[]>.Default;
        if (r.HostHeld)
        {
            var renewed = await hosts.TryUpdateAsync(key, _nodeKey, r.HostRevision, raw, _stop.Token).ConfigureAwait(false);
            if (renewed.Success)
            {
                r.HostRevision = renewed.Value;
                return;
            }

            var again = await hosts.TryCreateAsync(key, _nodeKey, raw, _stop.Token).ConfigureAwait(false); // our lease ran out (an outage): take it back if free
            if (again.Success)
            {
                r.HostRevision = again.Value;
                return;
            }

            r.HostHeld = false;
            _router.ClusterDetachHost(r.Room); // another node holds it now
            return;
        }

        if (Environment.TickCount64 - Volatile.Read(ref _connectedSince) < Math.Min(2000, (long)_options.HostLease.TotalMilliseconds / 2))
        {
            return; // just reconnected: let the holder renew first
        }

        var entry = await hosts.TryGetEntryAsync(key, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: _stop.Token).ConfigureAwait(false);
        if (entry.Success && entry.Value.Value is { } holder)
        {
            if (!IsGone(Encoding.UTF8.GetString(holder)))
            {
                return;
            }

            // The holder is dead: end its lease now rather than waiting for it to run out (only if nobody renewed it meanwhile).
            await hosts.TryDeleteAsync(key, new NatsKVDeleteOpts { Revision = entry.Value.Revision }, _stop.Token).ConfigureAwait(false);
        }

        var created = await hosts.TryCreateAsync(key, _nodeKey, raw, _stop.Token).ConfigureAwait(false);
        if (created.Success && !r.Closed)
        {
            r.HostRevision = created.Value;
            r.HostHeld = AttachHost(r);
            LogHostTakenOver(_logger, key);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> ClaimPeerIdAsync(int peerId, CancellationToken cancellationToken)
    {
        if (!_connected || _ids is not { } ids)
        {
            Interlocked.Increment(ref _uncheckedIds);
            return true;
        }

        var key = peerId.ToString(CultureInfo.InvariantCulture);
        var raw = NatsRawSerializer<byte[]>.Default;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var created = await ids.TryCreateAsync(key, _nodeKey, raw, timeout.Token).ConfigureAwait(false);
                if (created.Success)
                {
                    _claimedIds[peerId] = created.Value;
                    return true;
                }

                var entry = await ids.TryGetEntryAsync(key, serializer: raw, cancellationToken: timeout.Token).ConfigureAwait(false);
                if (!entry.Success || entry.Value.Value is not { } holder)
                {
                    continue; // deleted meanwhile: try to create it again
                }

                if (!IsGone(Encoding.UTF8.GetString(holder)))
                {
                    return false;
                }

                var taken = await ids.TryUpdateAsync(key, _nodeKey, entry.Value.Revision, raw, timeout.Token).ConfigureAwait(false);
                if (taken.Success)
                {
                    _claimedIds[peerId] = taken.Value;
                    return true;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _uncheckedIds);
            LogIdUnchecked(_logger, peerId, ex.Message);
            return true;
        }
    }

    /// <inheritdoc/>
    public void ReleasePeerId(int peerId)
    {
        if (_claimedIds.TryRemove(peerId, out var revision) && _connected && _ids is { } ids)
        {
            _ = QuietlyResultAsync(() => ids.TryDeleteAsync(peerId.ToString(CultureInfo.InvariantCulture), new NatsKVDeleteOpts { Revision = revision }, _stop.Token));
        }
    }

    private static async Task QuietlyAsync(Func<ValueTask> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // best effort: a lease or id left behind runs out or is taken over
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static Task QuietlyTaskAsync(Func<Task> action) => QuietlyAsync(() => new ValueTask(action()));

    private static Task QuietlyResultAsync<T>(Func<ValueTask<T>> action) => QuietlyAsync(async () => { await action().ConfigureAwait(false); });

    // ------------------------------------------------------------------ statistics

    private void Drop(string reason) => _dropped.AddOrUpdate(reason, 1, static (_, n) => n + 1);

    private bool ShouldLog() => _logLimiter.TryTake(out _);

    /// <summary>The link's counters now.</summary>
    public NatsClusterStatistics GetStatistics() => new(
        NodeKey, _connected, _nodes.Count + 1, _router.RemotePeerCount, _router.ForwardedToCluster, _router.ReceivedFromCluster,
        Interlocked.Read(ref _messagesOut), Interlocked.Read(ref _messagesIn), Interlocked.Read(ref _bytesOut), Interlocked.Read(ref _bytesIn),
        Interlocked.Read(ref _nodesLost), Interlocked.Read(ref _outages), Interlocked.Read(ref _uncheckedIds), _router.ClusterUnannounced,
        _dropped.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    /// <summary>
    /// Adds the link's instruments to <paramref name="meter"/> (normally the <c>GdNet</c> meter of <see cref="RelayMetrics"/>):
    /// <c>gdnet.cluster.nodes</c>, <c>gdnet.cluster.connected</c>, <c>gdnet.cluster.remote_peers</c>,
    /// <c>gdnet.cluster.packets.forwarded/received</c>, <c>gdnet.cluster.messages.sent/received</c>,
    /// <c>gdnet.cluster.dropped</c> by <c>gdnet.reason</c>, <c>gdnet.cluster.nodes_lost</c>, <c>gdnet.cluster.outages</c>.
    /// </summary>
    public void AddMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        meter.CreateObservableUpDownCounter("gdnet.cluster.nodes", () => _nodes.Count + 1, "{node}", "Nodes of the cluster this node hears, itself included.");
        meter.CreateObservableUpDownCounter("gdnet.cluster.connected", () => _connected ? 1 : 0, "1", "Whether this node is connected to NATS (1) or not (0).");
        meter.CreateObservableUpDownCounter("gdnet.cluster.remote_peers", () => _router.RemotePeerCount, "{peer}", "Members of this node's rooms connected to other nodes.");
        meter.CreateObservableCounter("gdnet.cluster.packets.forwarded", () => _router.ForwardedToCluster, "{packet}", "Packets handed to the cluster for other nodes.");
        meter.CreateObservableCounter("gdnet.cluster.packets.received", () => _router.ReceivedFromCluster, "{packet}", "Packets from other nodes routed here.");
        meter.CreateObservableCounter("gdnet.cluster.messages.sent", () => Interlocked.Read(ref _messagesOut), "{message}", "NATS messages published (each a batch of records).");
        meter.CreateObservableCounter("gdnet.cluster.messages.received", () => Interlocked.Read(ref _messagesIn), "{message}", "NATS messages received from other nodes.");
        meter.CreateObservableCounter("gdnet.cluster.nodes_lost", () => Interlocked.Read(ref _nodesLost), "{node}", "Nodes declared gone (dead or left).");
        meter.CreateObservableCounter("gdnet.cluster.outages", () => Interlocked.Read(ref _outages), "{outage}", "Times this node lost its NATS connection.");
        meter.CreateObservableCounter("gdnet.cluster.dropped", () => _dropped.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("gdnet.reason", p.Key))),
            "{item}", "Cluster traffic not delivered, by reason (disconnected, gap, slow_consumer, too_large, publish_failed, malformed).");
    }

    /// <summary>Says goodbye to the cluster (the other nodes remove this node's peers at once), gives back leases and ids, and disconnects.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_connected)
        {
            // Best effort and bounded: NATS may have gone a moment ago without this node hearing of it yet, and a publish
            // then waits for a reconnection that may never come. The leases and ids left behind run out or are taken over.
            using var goodbye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var token = goodbye.Token;
            var bye = new byte[_headerLength];
            ClusterWire.WriteHeader(bye, ClusterWire.KindGoodbye, 0, _nodeKey);
            await QuietlyAsync(() => _nats.PublishAsync(_prefix + ".nodes", bye, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: token)).ConfigureAwait(false);
            foreach (var r in _rooms.Values)
            {
                if (r.HostHeld && _hosts is { } hosts && !token.IsCancellationRequested)
                {
                    await QuietlyResultAsync(() => hosts.TryDeleteAsync(r.Room.Name, new NatsKVDeleteOpts { Revision = r.HostRevision }, token)).ConfigureAwait(false);
                }
            }

            if (_ids is { } ids)
            {
                foreach (var (id, revision) in _claimedIds)
                {
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }

                    await QuietlyResultAsync(() => ids.TryDeleteAsync(id.ToString(CultureInfo.InvariantCulture), new NatsKVDeleteOpts { Revision = revision }, token)).ConfigureAwait(false);
                }
            }

            await QuietlyResultAsync(() => _nats.PingAsync(token)).ConfigureAwait(false); // flushes what was published
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var r in _rooms.Values)
        {
            await r.Cancel.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _connected = false;
        await _nats.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    // ------------------------------------------------------------------ logging

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "joined cluster {Cluster} as node {Node} through {Url}")]
    private static partial void LogJoinedCluster(ILogger logger, string node, string cluster, string url);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "node {Node} is in the cluster")]
    private static partial void LogNodeJoined(ILogger logger, string node);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "node {Node} is gone ({Why}); {Peers} of its peers left this node's rooms")]
    private static partial void LogNodeLost(ILogger logger, string node, string why, int peers);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "lost the NATS connection to {Url} ({Message}): local traffic goes on, traffic to other nodes is dropped and counted until it is back")]
    private static partial void LogDisconnected(ILogger logger, string url, string message);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "NATS connection to {Url} is back: re-exchanging room members")]
    private static partial void LogReconnected(ILogger logger, string url);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "NATS dropped a message on {Subject} ({Pending} pending): this node reads too slowly (slow consumer)")]
    private static partial void LogSlowConsumer(ILogger logger, string subject, int pending);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "{Lost} cluster messages from node {Node} in room {Room} were lost; re-exchanging members")]
    private static partial void LogGap(ILogger logger, long lost, string node, string room);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Warning, Message = "room {Room} could not be opened in the cluster ({Message}); it works on this node until NATS answers")]
    private static partial void LogRoomAlone(ILogger logger, string room, string message);

    [LoggerMessage(EventId = 7009, Level = LogLevel.Warning, Message = "publishing to the cluster for room {Room} failed: {Message}")]
    private static partial void LogPublishFailed(ILogger logger, string room, string message);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Error, Message = "the cluster reader of room {Room} failed")]
    private static partial void LogReaderFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Warning, Message = "room {Room}: this node took over its hosted logic (its holder is gone; the logic's state starts afresh)")]
    private static partial void LogHostTakenOver(ILogger logger, string room);

    [LoggerMessage(EventId = 7012, Level = LogLevel.Warning, Message = "peer id {PeerId} was not checked with the cluster ({Message}); it is unique on this node only")]
    private static partial void LogIdUnchecked(ILogger logger, int peerId, string message);
}

/// <summary>A cluster link's counters at one moment.</summary>
/// <param name="Node">This node's key (name/incarnation).</param>
/// <param name="Connected">Whether it is connected to NATS.</param>
/// <param name="Nodes">Nodes it hears, itself included.</param>
/// <param name="RemotePeers">Members of its rooms connected to other nodes.</param>
/// <param name="PacketsForwarded">Packets handed to the cluster.</param>
/// <param name="PacketsReceived">Packets from other nodes routed here.</param>
/// <param name="MessagesSent">NATS messages published (batches).</param>
/// <param name="MessagesReceived">NATS messages received from other nodes.</param>
/// <param name="BytesSent">Bytes published.</param>
/// <param name="BytesReceived">Bytes received.</param>
/// <param name="NodesLost">Nodes declared gone.</param>
/// <param name="Outages">Times the NATS connection was lost.</param>
/// <param name="UncheckedIds">Peer ids given out without the cluster's check (NATS away).</param>
/// <param name="Unannounced">Packets from a source its node had not announced (dropped).</param>
/// <param name="Dropped">Traffic not delivered, by reason.</param>
public sealed record NatsClusterStatistics(
    string Node, bool Connected, int Nodes, int RemotePeers, long PacketsForwarded, long PacketsReceived, long MessagesSent, long MessagesReceived,
    long BytesSent, long BytesReceived, long NodesLost, long Outages, long UncheckedIds, long Unannounced, IReadOnlyDictionary<string, long> Dropped);
