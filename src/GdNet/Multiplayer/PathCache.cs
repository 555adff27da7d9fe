using System.Text;

namespace GdNet.Multiplayer;

/// <summary>
/// Send side of the path cache (spec §3.4): one node path, the id this machine gave it, and which peers were offered it
/// (false) or confirmed it (true).
/// </summary>
internal sealed class PathSendEntry
{
    public PathSendEntry(int id, string path)
    {
        Id = id;
        Path = path;
        var utf8 = Encoding.UTF8.GetBytes(path);
        PathUtf8WithNul = new byte[utf8.Length + 1];
        utf8.CopyTo(PathUtf8WithNul, 0);
        SimplifyPacket = RpcPacket.BuildSimplifyPath(id, utf8);
    }

    public int Id { get; }

    /// <summary>The path relative to the API root, e.g. <c>Main/Lobby</c>.</summary>
    public string Path { get; }

    /// <summary>The path as appended to a full-path packet: UTF-8 and a NUL.</summary>
    public byte[] PathUtf8WithNul { get; }

    /// <summary>The SIMPLIFY_PATH packet offering this path.</summary>
    public byte[] SimplifyPacket { get; }

    /// <summary>Peer → confirmed. A peer is absent until it is offered the path.</summary>
    public Dictionary<int, bool> Confirmed { get; } = [];
}

/// <summary>Receive side of the path cache: the paths one remote peer announced, and what they count against the byte bounds.</summary>
internal sealed class PeerPathCache
{
    public Dictionary<int, PathReceiveEntry> Entries { get; } = [];

    /// <summary>The sum of the entries' <see cref="PathReceiveEntry.Cost"/>.</summary>
    public long Bytes { get; set; }
}

/// <summary>Receive side of the path cache: a path a remote peer announced, with the node it resolved to.</summary>
internal sealed class PathReceiveEntry(string path, long cost)
{
    /// <summary>What an entry counts against the path-cache byte bounds besides its path: the entry, its key, its string's header.</summary>
    public const int Overhead = 96;

    /// <summary>What the entry counts against the byte bounds: <see cref="Overhead"/> plus twice the path's UTF-8 length (an upper bound of its UTF-16 string).</summary>
    public long Cost { get; } = cost;

    private Node? _node;
    private Node? _root;
    private long _version = -1;

    public string Path { get; } = path;

    /// <summary>The node at <see cref="Path"/> under <paramref name="root"/>, re-resolved only when the root's tree
    /// changed (a path never leaves the root's tree); <paramref name="lookups"/> counts the re-resolutions.</summary>
    public Node? Resolve(Node root, ref int lookups)
    {
        var version = root.TreeVersion;
        if (_version != version || !ReferenceEquals(_root, root))
        {
            lookups++;
            _node = root.ResolvePath(Path);
            _root = root;
            _version = version;
        }

        return _node;
    }
}
