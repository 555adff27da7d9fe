namespace GdNet.Server;

/// <summary>
/// The relay's limits and rules. Every limit is a budget with one meaning; 0 turns a rate limit off. Set before the
/// router handles connections (the router copies nothing: changing a value later applies to later checks).
/// </summary>
public sealed class RelayOptions
{
    /// <summary>Most peers in the whole server (all rooms and transports). Default 4096.</summary>
    public int MaxPeers { get; set; } = 4096;

    /// <summary>Most peers in one room. Default 4096.</summary>
    public int MaxPeersPerRoom { get; set; } = 4096;

    /// <summary>Most rooms at once. Default 1024.</summary>
    public int MaxRooms { get; set; } = 1024;

    /// <summary>Most connections from one IP address at once (admitted or joined). Default 64; 0 = no limit.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 64;

    /// <summary>
    /// New connections one IP address may open per second, on average (a token bucket with a burst of
    /// <see cref="ConnectionBurstPerAddress"/>). Default 10; 0 = no limit.
    /// </summary>
    public double ConnectionsPerSecondPerAddress { get; set; } = 10;

    /// <summary>The burst of <see cref="ConnectionsPerSecondPerAddress"/>. Default 20.</summary>
    public int ConnectionBurstPerAddress { get; set; } = 20;

    /// <summary>
    /// Packets a peer may send per second (all targets), on average, with a burst of twice this. Excess packets are
    /// dropped with <see cref="GdNet.Peers.PacketRejectReason.RateLimited"/>. Default 20,000 (a 60 fps game sending 10
    /// RPCs a frame sends 600); 0 = no limit.
    /// </summary>
    public double MaxPacketsPerSecond { get; set; } = 20_000;

    /// <summary>Bytes (MultiplayerAPI bytes) a peer may send per second, with a burst of twice this. Default 8 MiB; 0 = no limit.</summary>
    public double MaxBytesPerSecond { get; set; } = 8 << 20;

    /// <summary>A peer still exceeding its rate after this long (continuously, within a second of each excess) is disconnected. Default 5 s.</summary>
    public TimeSpan RateLimitGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The server-wide budget of bytes queued for sending over all connections (a broadcast to N peers queues N copies).
    /// While it is exhausted, relaying waits: WebSocket senders stop being read (TCP back-pressure), ENet holds its
    /// reliable packets. Default 256 MiB.
    /// </summary>
    public long MaxQueuedBytesTotal { get; set; } = 256L << 20;

    /// <summary>
    /// While the send budget is exhausted and no queued byte has been written for this long (nobody holding it reads),
    /// the peer holding the most of it is disconnected as a slow reader, so that one deaf client cannot stall every room.
    /// Default 2 s.
    /// </summary>
    public TimeSpan SendStallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A peer with bytes queued for it that has read none of them for this long is disconnected as a slow reader (its
    /// queue never shrank between the router's checks, four a second), whatever the server-wide budget: a client that
    /// stops reading must not hold its queue, its slot and its memory forever. Default 10 s; <see cref="TimeSpan.Zero"/>
    /// turns the check off (then only the per-peer queue cap and <see cref="SendStallTimeout"/> cut slow readers). A
    /// transport's queue shrinks a write at a time: with very large packets, allow the time one takes to be written.
    /// </summary>
    public TimeSpan SlowReaderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Godot's <c>server_relay</c>: whether clients' packets to other clients (and broadcasts) are forwarded, and peers
    /// announced to each other. Off, only the hosted logic (peer 1) receives packets. Default true.
    /// </summary>
    public bool RelayBetweenClients { get; set; } = true;

    /// <summary>How long a packet to a peer that just left counts as a race (dropped and counted) rather than misbehaviour. Default 30 s.</summary>
    public TimeSpan DepartureGrace { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPeers, 1, nameof(MaxPeers));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPeersPerRoom, 1, nameof(MaxPeersPerRoom));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRooms, 1, nameof(MaxRooms));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxConnectionsPerAddress, nameof(MaxConnectionsPerAddress));
        ArgumentOutOfRangeException.ThrowIfNegative(ConnectionsPerSecondPerAddress, nameof(ConnectionsPerSecondPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThan(ConnectionBurstPerAddress, 1, nameof(ConnectionBurstPerAddress));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPacketsPerSecond, nameof(MaxPacketsPerSecond));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBytesPerSecond, nameof(MaxBytesPerSecond));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedBytesTotal, 1, nameof(MaxQueuedBytesTotal));
        ArgumentOutOfRangeException.ThrowIfLessThan(SendStallTimeout, TimeSpan.Zero, nameof(SendStallTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(SlowReaderTimeout, TimeSpan.Zero, nameof(SlowReaderTimeout));
    }
}
