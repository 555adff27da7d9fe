using System.Net;
using GdNet.Peers;

namespace GdNet.Server;

/// <summary>What a connection's transport did with a packet the router asked it to send.</summary>
public enum SendResult
{
    /// <summary>Queued or handed to the transport.</summary>
    Sent = 0,

    /// <summary>The connection is closing or closed; the packet was dropped (no fault of anyone).</summary>
    Closing,

    /// <summary>The connection's own send budget is exhausted: it reads too slowly. The router disconnects it.</summary>
    Full,
}

/// <summary>Why the router (or the operator, or the room's hosted logic) closes a connection. Transports map it to their own codes.</summary>
public enum CloseReason
{
    /// <summary>Disconnected on purpose by the room's hosted logic or the operator (WebSocket close 1000 with the reason).</summary>
    Kicked = 0,

    /// <summary>The peer did not read what was sent to it fast enough (its send queue hit its budget; WebSocket 1008).</summary>
    SlowReader,

    /// <summary>The peer kept exceeding its packet or byte rate (WebSocket 1008).</summary>
    RateLimited,

    /// <summary>The peer sent too many invalid packets (WebSocket 1008).</summary>
    ProtocolViolation,

    /// <summary>The server is shutting down (WebSocket 1001 "going away", ENet disconnect).</summary>
    ServerShutdown,

    /// <summary>The room was closed by the operator (WebSocket 1000).</summary>
    RoomClosed,
}

/// <summary>
/// One packet as the router hands it to a connection: Godot's source and target ids, the MultiplayerAPI bytes (no
/// transport header) and how it should travel. Valid during the call only; a transport that keeps the bytes copies them.
/// </summary>
/// <param name="From">The source peer id (1 for the room's hosted logic).</param>
/// <param name="To">The target as the sender gave it (a peer id, 0 everyone, −id everyone but id).</param>
/// <param name="Payload">The MultiplayerAPI packet.</param>
/// <param name="Mode">Godot's transfer mode (a WebSocket source sends everything reliably).</param>
/// <param name="Channel">The ENet channel it came on (Godot: 1 reliable, 2 unreliable, 3+ custom), or 0 when the source has none.</param>
/// <param name="Source">The connection it came from, or null when it comes from the room's hosted logic. A transport may
/// use it to forward its own framing unchanged when the source is one of its own connections.</param>
public readonly ref struct RelayPacket(int From, int To, ReadOnlySpan<byte> Payload, TransferModeEnum Mode, int Channel, RelayConnection? Source)
{
    public int From { get; } = From;

    public int To { get; } = To;

    public ReadOnlySpan<byte> Payload { get; } = Payload;

    public TransferModeEnum Mode { get; } = Mode;

    public int Channel { get; } = Channel;

    public RelayConnection? Source { get; } = Source;
}

/// <summary>
/// A player's connection as a transport hands it to the <see cref="RelayRouter"/> (the Kestrel <c>ConnectionContext</c>
/// idea): the transport accepts it, parses its framing, and calls <see cref="RelayRouter.Route"/> for each packet; the
/// router calls back the abstract members to send packets, announce peers and close. The relay rules live in the router
/// only.
/// </summary>
/// <remarks>
/// <para>Threads: the router calls <see cref="Send"/>, <see cref="SendPeerAdded"/>, <see cref="SendPeerRemoved"/> and
/// <see cref="Close"/> from any thread (the sender's receive thread, the hosted logic's game thread), possibly at once:
/// implementations must be thread-safe and must not block. <see cref="Welcome"/> and the announcements of a join or
/// leave are called under the router's membership lock, in the order clients must see them.</para>
/// <para>A transport calls <see cref="RelayRouter.Route"/> for one connection from one thread at a time (its receive loop),
/// and <see cref="RelayRouter.Leave"/> once the connection has ended (after its last <see cref="RelayRouter.Route"/>).</para>
/// </remarks>
public abstract class RelayConnection
{
    internal long PacketsInCount;
    internal long BytesInCount;
    internal TokenBucket? PacketBucket;
    internal TokenBucket? ByteBucket;
    internal long RateExceededSince = -1;
    internal long RateLastExceeded;

    // The slow-reader check (RelayRouter.CheckSlowReaders): the queue seen last time, and since when it has not shrunk.
    internal long QueueSeen;
    internal long QueueStuckSince = -1;
    private int _cut;

    /// <summary>
    /// In a cluster: the SIMPLIFY_PATH packets this peer sent to the room's hosted logic (peer 1), copy-on-write (written
    /// by its receive loop, read by whoever replays them), so a lobby taken over by another node learns the paths the
    /// peer believes peer 1 has confirmed. Bounded by <see cref="RelayRouter.MaxRecordedPaths"/> and in bytes.
    /// </summary>
    internal volatile byte[][] PathsToHost = [];

    /// <summary>The bytes of <see cref="PathsToHost"/> (bounded by <see cref="RelayRouter.MaxRecordedPathBytesPerPeer"/>).</summary>
    internal int PathBytesToHost;

    /// <param name="transport">The transport's short name, e.g. <c>ws</c> or <c>enet</c> (shown in status and logs).</param>
    /// <param name="remoteEndPoint">The player's address, when known.</param>
    protected RelayConnection(string transport, IPEndPoint? remoteEndPoint)
    {
        ArgumentException.ThrowIfNullOrEmpty(transport);
        Transport = transport;
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>
    /// Marks the peer cut by the router (slow reader, rate limit); true only for the first call, so a cut is reported and
    /// closed once while the transport ends the connection.
    /// </summary>
    internal bool TryCut() => Interlocked.Exchange(ref _cut, 1) == 0;

    /// <summary>The transport's short name (<c>ws</c>, <c>enet</c>, …).</summary>
    public string Transport { get; }

    /// <summary>The player's address, when the transport knows it.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>The Godot peer id (2…2147483647), unique in the server; 0 before <see cref="RelayRouter.Join"/>.</summary>
    public int PeerId { get; internal set; }

    /// <summary>The room joined; null before the join and after the leave.</summary>
    public Room? Room { get; internal set; }

    /// <summary>The name admission gave the peer (a token's <c>sub</c>), or null.</summary>
    public string? Name { get; internal set; }

    /// <summary>When the peer joined (UTC).</summary>
    public DateTimeOffset ConnectedAt { get; internal set; }

    /// <summary>Packets the router received from this peer (refused ones included).</summary>
    public long PacketsIn => Volatile.Read(ref PacketsInCount);

    /// <summary>Bytes of those packets (MultiplayerAPI bytes, no transport header).</summary>
    public long BytesIn => Volatile.Read(ref BytesInCount);

    /// <summary>Packets sent to this peer, as the transport counts them (its system messages included).</summary>
    public virtual long PacketsOut => 0;

    /// <summary>Bytes sent to this peer, as the transport counts them.</summary>
    public virtual long BytesOut => 0;

    /// <summary>Bytes queued for sending to this peer now, as the transport counts them.</summary>
    public virtual long QueuedBytes => 0;

    /// <summary>The round-trip time the transport measures to this peer (ENet's), or null when it measures none.</summary>
    public virtual TimeSpan? RoundTripTime => null;

    /// <summary>
    /// The share of reliable packets to this peer the transport had to send again, 0 to 1 (ENet's mean packet loss,
    /// recomputed every 10 s), or null when the transport measures none.
    /// </summary>
    public virtual double? PacketLoss => null;

    /// <summary>
    /// Called once, under the membership lock, when the peer has joined and before any announcement: a WebSocket
    /// connection sends Godot's SYS_ID (its id) and SYS_ADD(1) here; ENet, whose clients chose their id, sends nothing.
    /// </summary>
    protected internal abstract void Welcome();

    /// <summary>Sends one packet to this peer with the transport's framing. Any thread; must not block.</summary>
    protected internal abstract SendResult Send(in RelayPacket packet);

    /// <summary>Tells this peer that peer <paramref name="peerId"/> joined its room (WebSocket SYS_ADD, ENet ADD_PEER).</summary>
    protected internal abstract void SendPeerAdded(int peerId);

    /// <summary>Tells this peer that peer <paramref name="peerId"/> left its room (WebSocket SYS_DEL, ENet REMOVE_PEER).</summary>
    protected internal abstract void SendPeerRemoved(int peerId);

    /// <summary>
    /// Closes the connection (after what is already queued, where the transport can). The transport then calls
    /// <see cref="RelayRouter.Leave"/> when it has ended. Idempotent; any thread.
    /// </summary>
    protected internal abstract void Close(CloseReason reason, string detail);

    /// <summary>
    /// The router refused a packet from this peer. <paramref name="misbehaviour"/> is true when the peer broke a rule (as
    /// opposed to a race such as a target that just left): a transport may count it and close the connection past a
    /// limit. Called on the thread that routed the packet.
    /// </summary>
    protected internal virtual void OnRejected(PacketRejection rejection, bool misbehaviour)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Transport} peer {PeerId} ({RemoteEndPoint})";
}
