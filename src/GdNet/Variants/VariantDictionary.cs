using System.Collections;
using System.Runtime.InteropServices;

namespace GdNet.Variants;

/// <summary>
/// Godot <c>Dictionary</c>: Variant keys and values kept in insertion order (the order they are written on the wire).
/// Setting an existing key replaces its value in place. Equality is deep and order-sensitive.
/// </summary>
public sealed class VariantDictionary : IEnumerable<KeyValuePair<Variant, Variant>>, IEquatable<VariantDictionary>
{
    // Small dictionaries (the usual RPC argument) are searched linearly; larger ones build a hash index on first lookup.
    internal const int IndexThreshold = 8;

    private readonly List<KeyValuePair<Variant, Variant>> _entries;
    private Dictionary<Variant, int>? _index;

    public VariantDictionary() => _entries = [];

    public VariantDictionary(int capacity) => _entries = new List<KeyValuePair<Variant, Variant>>(capacity);

    public int Count => _entries.Count;

    public IEnumerable<Variant> Keys => _entries.Select(e => e.Key);

    public IEnumerable<Variant> Values => _entries.Select(e => e.Value);

    /// <summary>Gets or sets a value; getting a missing key throws <see cref="KeyNotFoundException"/>.</summary>
    public Variant this[Variant key]
    {
        get
        {
            var i = IndexOf(key);
            return i >= 0 ? _entries[i].Value : throw new KeyNotFoundException($"The key {key} is not in the dictionary.");
        }

        set
        {
            var i = IndexOf(key);
            if (i >= 0)
            {
                _entries[i] = new KeyValuePair<Variant, Variant>(_entries[i].Key, value);
                return;
            }

            _entries.Add(new KeyValuePair<Variant, Variant>(key, value));
            _index?.Add(key, _entries.Count - 1);
        }
    }

    /// <summary>Adds an entry, or replaces the value of an existing key keeping its position.</summary>
    public void Add(Variant key, Variant value) => this[key] = value;

    public bool ContainsKey(Variant key) => IndexOf(key) >= 0;

    public bool TryGetValue(Variant key, out Variant value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            value = _entries[i].Value;
            return true;
        }

        value = default;
        return false;
    }

    public bool Remove(Variant key)
    {
        var i = IndexOf(key);
        if (i < 0)
        {
            return false;
        }

        _entries.RemoveAt(i);
        if (_index is not null)
        {
            _index.Remove(key);
            for (var j = i; j < _entries.Count; j++)
            {
                _index[_entries[j].Key] = j;
            }
        }

        return true;
    }

    public void Clear()
    {
        _entries.Clear();
        _index = null;
    }

    private int IndexOf(in Variant key)
    {
        if (_index is null && _entries.Count > IndexThreshold)
        {
            BuildIndex();
        }

        if (_index is not null)
        {
            return _index.TryGetValue(key, out var i) ? i : -1;
        }

        var entries = CollectionsMarshal.AsSpan(_entries);
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].Key.Equals(key))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The entries in insertion order, for the codec (valid until the next change).</summary>
    internal ReadOnlySpan<KeyValuePair<Variant, Variant>> EntriesSpan => CollectionsMarshal.AsSpan(_entries);

    /// <summary>Appends an entry whose key the caller knows is not present (the decoder, which de-duplicates itself).</summary>
    internal void AppendUnchecked(in Variant key, in Variant value)
    {
        _entries.Add(new KeyValuePair<Variant, Variant>(key, value));
        _index?.Add(key, _entries.Count - 1);
    }

    /// <summary>Replaces the value at a position, keeping the key.</summary>
    internal void SetValueAt(int position, in Variant value) =>
        _entries[position] = new KeyValuePair<Variant, Variant>(_entries[position].Key, value);

    private void BuildIndex()
    {
        var index = new Dictionary<Variant, int>(_entries.Count * 2);
        for (var i = 0; i < _entries.Count; i++)
        {
            index.Add(_entries[i].Key, i);
        }

        _index = index;
    }

    /// <summary>The entry at a position in insertion order.</summary>
    public KeyValuePair<Variant, Variant> GetEntry(int position) => _entries[position];

    public List<KeyValuePair<Variant, Variant>>.Enumerator GetEnumerator() => _entries.GetEnumerator();

    IEnumerator<KeyValuePair<Variant, Variant>> IEnumerable<KeyValuePair<Variant, Variant>>.GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    public bool Equals(VariantDictionary? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other.Count != Count)
        {
            return false;
        }

        for (var i = 0; i < _entries.Count; i++)
        {
            if (!_entries[i].Key.Equals(other._entries[i].Key) || !_entries[i].Value.Equals(other._entries[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is VariantDictionary d && Equals(d);

    /// <summary>A hash of every key and value in order (see <see cref="Variant.GetHashCode"/>).</summary>
    public override int GetHashCode() => Variant.From(this).GetHashCode();
}
