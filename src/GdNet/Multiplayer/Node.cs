using System.Text;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>
/// A minimal scene-tree node for networking: a name, a parent, children, a network master, and Godot 3's RPC methods.
/// Subclass it and declare RPCs with <see cref="RemoteAttribute"/> and friends.
/// </summary>
/// <remarks>
/// <para>A node reaches a <see cref="MultiplayerAPI"/> through its ancestors: the nearest ancestor (or itself) that is an
/// API's <see cref="MultiplayerAPI.RootNode"/>. Paths on the wire are relative to that root, as Godot sends them
/// (<c>Main/Lobby</c>).</para>
/// <para>Names are unique among siblings: adding a child whose name is taken renames it as Godot does with legible names
/// (<c>Player</c> → <c>Player2</c>). A name may not be empty, <c>.</c> or <c>..</c>, or contain <c>/ : " .</c> or NUL.</para>
/// <para>Threading: game thread only, like the rest of the high-level API.</para>
/// </remarks>
public partial class Node
{
    private static long s_lastTreeVersion;
    private string _name;
    private TreeStamp? _tree; // shared by every node of this node's tree; created on first use, always set once a node has a parent or a child
    private Node? _parent;
    private List<Node>? _children;
    private Dictionary<string, Node>? _childByName;

    /// <summary>Creates a node named after its type (e.g. <c>Lobby</c>).</summary>
    /// <exception cref="InvalidOperationException">The subclass declares an RPC member that cannot be bound (the message
    /// names it); the dispatch table of each type is built when its first instance is created.</exception>
    public Node()
    {
        _name = GetType().Name;
        TypeInfo = RpcTypeInfo.For(GetType());
    }

    /// <summary>
    /// The version of this node's tree (the nodes connected to its top node): changed by every edit of that tree's shape
    /// or names, and by nothing else. Caches of paths compare against it. Versions come from one process-wide sequence,
    /// so a value is never seen again: a cache stamped in one tree never matches another tree, or the same tree after an
    /// edit. One field read per call: each node holds its tree's shared <see cref="TreeStamp"/>.
    /// </summary>
    internal long TreeVersion => Tree.Version;

    /// <summary>The stamp shared by this node's tree (created on first use for a lone node).</summary>
    private TreeStamp Tree => _tree ??= new TreeStamp();

    internal RpcTypeInfo TypeInfo { get; }

    /// <summary>Set while this node is the root of a <see cref="MultiplayerAPI"/>.</summary>
    internal MultiplayerAPI? ApiAsRoot { get; set; }

    /// <summary>The node's name, unique among its siblings.</summary>
    /// <exception cref="ArgumentException">The name is empty or contains a character Godot does not allow.</exception>
    public string Name
    {
        get => _name;
        set
        {
            ValidateName(value);
            if (value == _name)
            {
                return;
            }

            if (_parent is { } parent)
            {
                parent._childByName!.Remove(_name);
                _name = parent.UniqueChildName(value);
                parent._childByName.Add(_name, this);
            }
            else
            {
                _name = value;
            }

            Tree.Bump();
        }
    }

    /// <summary>The parent node, or null for a top node.</summary>
    public Node? GetParent() => _parent;

    /// <summary>The number of children.</summary>
    public int GetChildCount() => _children?.Count ?? 0;

    /// <summary>The child at <paramref name="index"/>, in the order they were added.</summary>
    public Node GetChild(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, GetChildCount());
        return _children![index];
    }

    /// <summary>A copy of the children, in the order they were added.</summary>
    public IReadOnlyList<Node> GetChildren() => _children is null ? [] : [.. _children];

    /// <summary>Adds <paramref name="child"/> as the last child; renames it if its name is taken.</summary>
    /// <exception cref="InvalidOperationException">The child already has a parent, or is this node or one of its ancestors.</exception>
    public void AddChild(Node child)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (child._parent is not null)
        {
            throw new InvalidOperationException($"'{child.Name}' already has the parent '{child._parent.Name}'; call RemoveChild on it first.");
        }

        for (var n = this; n is not null; n = n._parent)
        {
            if (ReferenceEquals(n, child))
            {
                throw new InvalidOperationException($"'{child.Name}' is this node or one of its ancestors; a node cannot be its own descendant.");
            }
        }

        _children ??= [];
        _childByName ??= new Dictionary<string, Node>(StringComparer.Ordinal);
        child._name = UniqueChildName(child._name);
        _children.Add(child);
        _childByName.Add(child._name, child);
        child._parent = this;

        // The child's subtree leaves its own tree and joins this one: it takes this tree's stamp, which moves on. The
        // child's old stamp is no longer any node's, so whatever was stamped with it cannot match again.
        var tree = Tree;
        child.SetTree(tree);
        tree.Bump();
    }

    /// <summary>Removes <paramref name="child"/> (and its subtree) from this node.</summary>
    /// <exception cref="InvalidOperationException">It is not a child of this node.</exception>
    public void RemoveChild(Node child)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (!ReferenceEquals(child._parent, this))
        {
            throw new InvalidOperationException($"'{child.Name}' is not a child of '{Name}'.");
        }

        _children!.Remove(child);
        _childByName!.Remove(child._name);
        child._parent = null;

        // Two trees now: this one moves on, and the child's subtree gets a stamp of its own (a new version).
        Tree.Bump();
        child.SetTree(new TreeStamp());
    }

    /// <summary>
    /// Finds a node by path (Godot's <c>get_node</c>): relative to this node (<c>Lobby/Player</c>, <c>..</c>, <c>.</c>) or
    /// absolute from the top node (<c>/root/Main</c>). Subnames (after <c>:</c>) are ignored.
    /// </summary>
    /// <exception cref="InvalidOperationException">No node has that path.</exception>
    public Node GetNode(NodePath path) =>
        GetNodeOrNull(path) ?? throw new InvalidOperationException($"Node not found: '{path}' (relative to '{GetPath()}'); use GetNodeOrNull to test for it.");

    /// <summary>Like <see cref="GetNode(NodePath)"/>, cast to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">No node has that path.</exception>
    /// <exception cref="InvalidCastException">The node is not a <typeparamref name="T"/>.</exception>
    public T GetNode<T>(NodePath path)
        where T : Node => (T)GetNode(path);

    /// <summary>Like <see cref="GetNode(NodePath)"/>, but returns null when no node has that path.</summary>
    public Node? GetNodeOrNull(NodePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Node? n = this;
        if (path.IsAbsolute)
        {
            n = Top();
            if (path.Names.Length == 0 || path.Names[0] != n._name)
            {
                return null;
            }

            for (var i = 1; i < path.Names.Length && n is not null; i++)
            {
                n = n.Step(path.Names[i]);
            }

            return n;
        }

        if (path.Names.Length == 0)
        {
            return null;
        }

        foreach (var name in path.Names)
        {
            n = n.Step(name);
            if (n is null)
            {
                return null;
            }
        }

        return n;
    }

    /// <summary>True when <see cref="GetNodeOrNull"/> finds a node.</summary>
    public bool HasNode(NodePath path) => GetNodeOrNull(path) is not null;

    /// <summary>The absolute path from the top node, e.g. <c>/root/Main/Lobby</c> (Godot's <c>get_path()</c>).</summary>
    public NodePath GetPath()
    {
        var sb = new StringBuilder();
        AppendPath(sb, null);
        return new NodePath("/" + sb);
    }

    /// <summary>The relative path from this node to <paramref name="node"/> (Godot's <c>get_path_to()</c>).</summary>
    /// <exception cref="InvalidOperationException">The nodes are in different trees.</exception>
    public NodePath GetPathTo(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var mine = Ancestry(this);
        var theirs = Ancestry(node);
        if (!ReferenceEquals(mine[^1], theirs[^1]))
        {
            throw new InvalidOperationException($"'{Name}' and '{node.Name}' are not in the same tree.");
        }

        var i = mine.Count - 1;
        var j = theirs.Count - 1;
        while (i > 0 && j > 0 && ReferenceEquals(mine[i - 1], theirs[j - 1]))
        {
            i--;
            j--;
        }

        var parts = new List<string>();
        for (var k = 0; k < i; k++)
        {
            parts.Add("..");
        }

        for (var k = j - 1; k >= 0; k--)
        {
            parts.Add(theirs[k]._name);
        }

        return new NodePath(parts.Count == 0 ? "." : string.Join('/', parts));
    }

    /// <summary>True when <paramref name="node"/> is a descendant of this node.</summary>
    public bool IsAParentOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        for (var n = node._parent; n is not null; n = n._parent)
        {
            if (ReferenceEquals(n, this))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <see cref="MultiplayerAPI"/> this node belongs to: that of the nearest ancestor (or itself) which is
    /// an API's root node; null when there is none (Godot: not inside the tree).</summary>
    public MultiplayerAPI? Multiplayer
    {
        get
        {
            for (var n = this; n is not null; n = n._parent)
            {
                if (n.ApiAsRoot is { } api)
                {
                    return api;
                }
            }

            return null;
        }
    }

    /// <summary>True when the node belongs to a <see cref="MultiplayerAPI"/> (see <see cref="Multiplayer"/>).</summary>
    public bool IsInsideTree() => Multiplayer is not null;

    public override string ToString() => $"{GetType().Name}({GetPath()})";

    /// <summary>The path of this node relative to <paramref name="ancestor"/> ("" for the ancestor itself), e.g. <c>Main/Lobby</c>.</summary>
    internal string GetRelativePathFrom(Node ancestor)
    {
        if (ReferenceEquals(this, ancestor))
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        AppendPath(sb, ancestor);
        return sb.ToString();
    }

    /// <summary>
    /// Resolves a path received from the network, as Godot's <c>root.get_node(path)</c>, without allocating:
    /// <c>a/b</c>, <c>./a</c>, <c>../a</c>, absolute <c>/root/a</c>; subnames are ignored. Null when not found or empty.
    /// </summary>
    internal Node? ResolvePath(ReadOnlySpan<char> path)
    {
        var colon = path.IndexOf(':');
        if (colon >= 0)
        {
            path = path[..colon];
        }

        Node? n = this;
        var any = false;
        if (path.Length > 0 && path[0] == '/')
        {
            n = Top();
            path = path[1..];
            var first = NextSegment(ref path);
            if (!first.SequenceEqual(n._name))
            {
                return null;
            }

            any = true;
        }

        while (n is not null)
        {
            var segment = NextSegment(ref path);
            if (segment.IsEmpty)
            {
                if (path.IsEmpty)
                {
                    break;
                }

                continue;
            }

            any = true;
            n = n.Step(segment);
        }

        return any || !ReferenceEquals(n, this) ? n : null;
    }

    private static ReadOnlySpan<char> NextSegment(ref ReadOnlySpan<char> path)
    {
        var slash = path.IndexOf('/');
        ReadOnlySpan<char> segment;
        if (slash < 0)
        {
            segment = path;
            path = default;
        }
        else
        {
            segment = path[..slash];
            path = path[(slash + 1)..];
        }

        return segment;
    }

    private Node? Step(ReadOnlySpan<char> name)
    {
        if (name.SequenceEqual("."))
        {
            return this;
        }

        if (name.SequenceEqual(".."))
        {
            return _parent;
        }

        return _childByName is not null && _childByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var c) ? c : null;
    }

    private Node Top()
    {
        var n = this;
        while (n._parent is not null)
        {
            n = n._parent;
        }

        return n;
    }

    private void AppendPath(StringBuilder sb, Node? stopAt)
    {
        if (_parent is not null && !ReferenceEquals(_parent, stopAt))
        {
            _parent.AppendPath(sb, stopAt);
            sb.Append('/');
        }

        sb.Append(_name);
    }

    private static List<Node> Ancestry(Node node)
    {
        var list = new List<Node>();
        for (var n = node; n is not null; n = n._parent)
        {
            list.Add(n);
        }

        return list;
    }

    private string UniqueChildName(string name)
    {
        if (_childByName is null || !_childByName.ContainsKey(name))
        {
            return name;
        }

        var stem = name.TrimEnd("0123456789".ToCharArray());
        var number = stem.Length < name.Length && int.TryParse(name.AsSpan(stem.Length), out var parsed) ? parsed + 1 : 2;
        string candidate;
        do
        {
            candidate = stem + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            number++;
        }
        while (_childByName.ContainsKey(candidate));

        return candidate;
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is "." or ".." || name.AsSpan().IndexOfAny("/:\".\0") >= 0)
        {
            throw new ArgumentException($"'{name}' is not a valid node name: it may not contain / : \" . or NUL.", nameof(name));
        }
    }

    /// <summary>Marks this node's tree as changed without changing its shape (e.g. a MultiplayerAPI's root was set).</summary>
    internal void TreeChanged() => Tree.Bump();

    private static long NextTreeVersion() => Interlocked.Increment(ref s_lastTreeVersion);

    /// <summary>Gives every node of this subtree <paramref name="tree"/> (iteratively: trees may be deep).</summary>
    private void SetTree(TreeStamp tree)
    {
        _tree = tree;
        if (_children is null || _children.Count == 0)
        {
            return;
        }

        var pending = new Stack<Node>(_children);
        while (pending.TryPop(out var n))
        {
            n._tree = tree;
            if (n._children is not null)
            {
                foreach (var c in n._children)
                {
                    pending.Push(c);
                }
            }
        }
    }

    /// <summary>The version holder of one tree, shared by all its nodes, so that an edit invalidates the caches of that tree only.</summary>
    private sealed class TreeStamp
    {
        public long Version = NextTreeVersion();

        public void Bump() => Version = NextTreeVersion();
    }
}
