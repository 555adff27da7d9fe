using GdNet.Peers;

namespace GdNet.Server;

/// <summary>
/// The router's link to the other servers of a cluster (for example GdNet.Cluster's NATS link): one more way out of the
/// router, next to the transports. The router decides who sees whom and where a packet goes (local members first, the
/// link only for members on other nodes); the link carries announcements and packets to the nodes that have members in
/// the same room, in order, and hands what it receives back through <see cref="RelayRouter"/>'s <c>Cluster…</c> methods.
/// </summary>
/// <remarks>
/// <para>Order: the router calls <see cref="PeerJoined"/>, <see cref="PeerLeft"/> and <see cref="Forward"/> for one room
/// in the order they happened (joins and leaves under its membership lock; a sender's packets from its receive loop), and
/// the link keeps that order per room on the way to every other node. None of these may block.</para>
/// <para>Ids: a peer id is unique in the cluster. The router draws or takes an id, then asks <see cref="ClaimPeerIdAsync"/>;
/// a drawn id that another node holds is drawn again, a chosen one (ENet) is refused.</para>
/// </remarks>
public interface IClusterLink
{
    /// <summary>
    /// A room was created here (its first local admission): start receiving the room's cluster traffic, ask the other
    /// nodes for their members in it, and, when <paramref name="wantsHost"/>, take the room's hosted logic if no node holds
    /// it (then call <see cref="RelayRouter.ClusterAttachHost"/>). Admissions to the room wait for the returned task (the
    /// link bounds it; a failure is logged by the link and the room works locally).
    /// </summary>
    Task OpenRoomAsync(Room room, bool wantsHost);

    /// <summary>The room was removed here (no local member left): stop receiving its traffic; give up its hosted logic if held here.</summary>
    void CloseRoom(Room room);

    /// <summary>Local peer <paramref name="peerId"/> joined <paramref name="room"/> (under the membership lock).</summary>
    void PeerJoined(Room room, int peerId);

    /// <summary>Local peer <paramref name="peerId"/> left <paramref name="room"/> (under the membership lock).</summary>
    void PeerLeft(Room room, int peerId);

    /// <summary>
    /// Sends one packet to the room's other nodes: <paramref name="to"/> as Godot's target (1 the host, N a member, 0 all,
    /// −N all but N). The bytes are copied before the call returns.
    /// </summary>
    /// <returns>False when it was not sent (the cluster is unreachable, or the packet is over the cluster's size limit):
    /// the link has counted and reported it.</returns>
    bool Forward(Room room, int from, int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel);

    /// <summary>
    /// Asks the node that holds member <paramref name="peerId"/> of <paramref name="room"/> to disconnect it with
    /// <paramref name="reason"/> (the hosted logic or an operator kicked a peer of another node). False when it was not sent.
    /// </summary>
    bool Kick(Room room, int peerId, string reason);

    /// <summary>Whether the link's outgoing queue is over its budget: the router asks the sender to retry later.</summary>
    bool IsBackedUp { get; }

    /// <summary>Completes when <see cref="IsBackedUp"/> may be false again.</summary>
    Task WhenNotBackedUpAsync();

    /// <summary>
    /// Claims <paramref name="peerId"/> for a local peer, cluster-wide. True when it is ours (or the cluster cannot be asked
    /// now: ids are then unique on this node only, and the link reports it); false when another node holds it.
    /// </summary>
    ValueTask<bool> ClaimPeerIdAsync(int peerId, CancellationToken cancellationToken);

    /// <summary>Gives back an id claimed with <see cref="ClaimPeerIdAsync"/> (its peer left, or its admission was abandoned).</summary>
    void ReleasePeerId(int peerId);
}

/// <summary>A peer of a room that is connected to another node of the cluster.</summary>
public sealed class RemotePeer
{
    internal RemotePeer(int peerId, string node, Room room)
    {
        PeerId = peerId;
        Node = node;
        Room = room;
    }

    /// <summary>Its Godot peer id (unique in the cluster).</summary>
    public int PeerId { get; }

    /// <summary>The node it is connected to, as the cluster link names nodes.</summary>
    public string Node { get; }

    /// <summary>The room it is in.</summary>
    public Room Room { get; }

    /// <inheritdoc/>
    public override string ToString() => $"peer {PeerId} on node {Node}";
}
