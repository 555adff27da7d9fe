using GdNet.Peers;

namespace GdNet.Server;

/// <summary>
/// One isolated Godot game in the relay: its members see only each other (ADD/REMOVE announcements), packets never
/// leave it, and it has its own hosted logic (peer 1) or none. Created by the router on the first join, removed (hosted
/// logic disposed) when the last member leaves.
/// </summary>
public sealed class Room
{
    /// <summary>The name of the default room (a WebSocket URL with no path, an ENet client without <c>--enet-room</c>).</summary>
    public const string DefaultName = "default";

    /// <summary>The longest room name.</summary>
    public const int MaxNameLength = 64;

    private readonly RelayRouter _router;
    internal volatile RelayConnection[] MemberArray = [];
    internal volatile RemotePeer[] RemoteArray = [];
    internal int Reserved;
    internal volatile bool Closed;

    // Clustered: completes when the cluster link has opened the room (subscribed, asked for members, host claimed).
    internal Task Opened = Task.CompletedTask;

    internal Room(RelayRouter router, string name)
    {
        _router = router;
        Name = name;
        CreatedAt = DateTimeOffset.UtcNow;
    }

    public string Name { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The room's hosted logic (peer 1), or null when the server only relays.</summary>
    public IRoomHost? Host { get; internal set; }

    /// <summary>The members now (a snapshot). Any thread.</summary>
    public IReadOnlyList<RelayConnection> Members => MemberArray;

    /// <summary>How many peers are in the room now, on this server.</summary>
    public int PeerCount => MemberArray.Length;

    /// <summary>The members connected to other nodes of the cluster now (a snapshot; empty when not clustered). Any thread.</summary>
    public IReadOnlyList<RemotePeer> RemoteMembers => RemoteArray;

    /// <summary>Whether the room has been removed (empty, or closed by the operator).</summary>
    public bool IsClosed => Closed;

    /// <summary>
    /// Whether <paramref name="name"/> is a valid room name: 1–64 characters of <c>A–Z a–z 0–9 _ -</c>.
    /// </summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.Length is < 1 or > MaxNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Sends from the hosted logic (peer 1): <paramref name="to"/> &gt; 1 that member, 0 every member, −id every member but
    /// id; 1 (itself) sends nothing. Any thread (normally the host's game thread).
    /// </summary>
    /// <returns><see cref="Error.Ok"/>, or <see cref="Error.InvalidParameter"/> when <paramref name="to"/> is not a member.</returns>
    public Error SendFromHost(int to, ReadOnlySpan<byte> payload, TransferModeEnum mode, int channel = 0) =>
        _router.SendFromHost(this, to, payload, mode, channel);

    /// <summary>
    /// Disconnects member <paramref name="peerId"/> (WebSocket close 1000 with <paramref name="reason"/>); a member on
    /// another node of the cluster is disconnected by its node. False when it is not a member.
    /// </summary>
    public bool Kick(int peerId, string reason) => KickLocal(peerId, reason) || _router.KickRemote(this, peerId, reason);

    // Disconnects member peerId of this node; false when it is not one.
    internal bool KickLocal(int peerId, string reason)
    {
        foreach (var m in MemberArray)
        {
            if (m.PeerId == peerId)
            {
                m.Close(CloseReason.Kicked, reason);
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"room {Name} ({PeerCount} peers)";
}
