using System.Collections.Immutable;
using System.Text;

namespace GdNet.Variants;

/// <summary>
/// Godot <c>NodePath</c>: names separated by <c>/</c>, subnames after <c>:</c>, optionally absolute (leading <c>/</c>).
/// Immutable; equality compares names, subnames and the absolute flag.
/// </summary>
public sealed class NodePath : IEquatable<NodePath>
{
    /// <summary>The empty path.</summary>
    public static NodePath Empty { get; } = new(ImmutableArray<string>.Empty, ImmutableArray<string>.Empty, false);

    private string? _text;

    /// <summary>Creates a path from its parts (the wire representation).</summary>
    public NodePath(ImmutableArray<string> names, ImmutableArray<string> subnames, bool absolute)
    {
        Names = names.IsDefault ? ImmutableArray<string>.Empty : names;
        Subnames = subnames.IsDefault ? ImmutableArray<string>.Empty : subnames;
        IsAbsolute = absolute;
    }

    /// <summary>Parses a path as GDScript's <c>NodePath("...")</c> does: <c>/root/a/b:prop:sub</c>.</summary>
    public NodePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var absolute = path.StartsWith('/');
        var body = absolute ? path[1..] : path;
        var colon = body.IndexOf(':', StringComparison.Ordinal);
        var namePart = colon >= 0 ? body[..colon] : body;
        var subPart = colon >= 0 ? body[(colon + 1)..] : null;
        Names = namePart.Length == 0
            ? ImmutableArray<string>.Empty
            : namePart.Split('/', StringSplitOptions.RemoveEmptyEntries).ToImmutableArray();
        Subnames = subPart is null
            ? ImmutableArray<string>.Empty
            : subPart.Split(':', StringSplitOptions.RemoveEmptyEntries).ToImmutableArray();
        IsAbsolute = absolute;
    }

    public ImmutableArray<string> Names { get; }

    public ImmutableArray<string> Subnames { get; }

    public bool IsAbsolute { get; }

    /// <summary>True for the empty path (no names, no subnames, not absolute), as Godot's <c>is_empty()</c>.</summary>
    public bool IsEmpty => Names.Length == 0 && Subnames.Length == 0 && !IsAbsolute;

    public int GetNameCount() => Names.Length;

    public string GetName(int index) => Names[index];

    public int GetSubnameCount() => Subnames.Length;

    public string GetSubname(int index) => Subnames[index];

    public static implicit operator NodePath(string path) => new(path);

    /// <summary>The textual form Godot prints: <c>/a/b:c</c>.</summary>
    public override string ToString()
    {
        if (_text is not null)
        {
            return _text;
        }

        var sb = new StringBuilder();
        if (IsAbsolute)
        {
            sb.Append('/');
        }

        for (var i = 0; i < Names.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('/');
            }

            sb.Append(Names[i]);
        }

        foreach (var s in Subnames)
        {
            sb.Append(':').Append(s);
        }

        return _text = sb.ToString();
    }

    public bool Equals(NodePath? other) =>
        other is not null && IsAbsolute == other.IsAbsolute &&
        Names.AsSpan().SequenceEqual(other.Names.AsSpan()) && Subnames.AsSpan().SequenceEqual(other.Subnames.AsSpan());

    public override bool Equals(object? obj) => obj is NodePath p && Equals(p);

    /// <summary>A hash of each name and subname and the absolute flag (see <see cref="Variant.GetHashCode"/>).</summary>
    public override int GetHashCode() => Variant.From(this).GetHashCode();

    public static bool operator ==(NodePath? a, NodePath? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(NodePath? a, NodePath? b) => !(a == b);
}
