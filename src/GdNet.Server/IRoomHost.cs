using GdNet.Peers;

namespace GdNet.Server;

/// <summary>What a room's hosted logic did with a packet addressed to it.</summary>
public enum HostDelivery
{
    /// <summary>Taken (queued for the game thread).</summary>
    Accepted = 0,

    /// <summary>Its queue is full: the router answers <see cref="RouteResult.RetryLater"/> and the transport retries.</summary>
    Full,

    /// <summary>Refused for good (too large, unknown peer); the host has reported why.</summary>
    Rejected,
}

/// <summary>
/// A room's hosted server logic: Godot's peer 1 of that room (for example a <c>MultiplayerAPI</c> with the game's
/// nodes, see <see cref="MultiplayerRoomHost"/>). The router tells it who joins and leaves and hands it the packets
/// addressed to it; it sends through <see cref="Room.SendFromHost"/> and disconnects peers through <see cref="Room.Kick"/>.
/// </summary>
/// <remarks>The router calls these from transport threads (joins and leaves under its membership lock, in order with
/// the packets of each peer): implementations queue work for their own game thread and must not block.</remarks>
public interface IRoomHost : IDisposable
{
    /// <summary>Peer <paramref name="peerId"/> joined the room (before any of its packets).</summary>
    void PeerJoined(int peerId);

    /// <summary>Peer <paramref name="peerId"/> left the room (after its last packet).</summary>
    void PeerLeft(int peerId);

    /// <summary>A packet from <paramref name="from"/> to peer 1 (or a broadcast that includes it).</summary>
    HostDelivery Deliver(int from, ReadOnlySpan<byte> payload, TransferModeEnum mode);

    /// <summary>After <see cref="HostDelivery.Full"/>: completes when a packet of <paramref name="length"/> bytes may fit.</summary>
    Task WhenRoomAsync(int length);
}
