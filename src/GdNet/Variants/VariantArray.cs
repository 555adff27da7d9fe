using System.Collections;

namespace GdNet.Variants;

/// <summary>
/// Godot <c>Array</c>: an ordered list of Variants. Equality is deep (element by element), as GDScript's <c>==</c> on arrays.
/// </summary>
public sealed class VariantArray : IList<Variant>, IReadOnlyList<Variant>, IEquatable<VariantArray>
{
    private readonly List<Variant> _items;

    public VariantArray() => _items = [];

    public VariantArray(int capacity) => _items = new List<Variant>(capacity);

    public VariantArray(IEnumerable<Variant> items) => _items = [.. items];

    public int Count => _items.Count;

    bool ICollection<Variant>.IsReadOnly => false;

    public Variant this[int index]
    {
        get => _items[index];
        set => _items[index] = value;
    }

    public void Add(Variant item) => _items.Add(item);

    public void Clear() => _items.Clear();

    public bool Contains(Variant item) => _items.Contains(item);

    public void CopyTo(Variant[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    public int IndexOf(Variant item) => _items.IndexOf(item);

    public void Insert(int index, Variant item) => _items.Insert(index, item);

    public bool Remove(Variant item) => _items.Remove(item);

    public void RemoveAt(int index) => _items.RemoveAt(index);

    public List<Variant>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<Variant> IEnumerable<Variant>.GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(VariantArray? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other.Count != Count)
        {
            return false;
        }

        for (var i = 0; i < _items.Count; i++)
        {
            if (!_items[i].Equals(other._items[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is VariantArray a && Equals(a);

    /// <summary>A hash of every item (see <see cref="Variant.GetHashCode"/>).</summary>
    public override int GetHashCode() => Variant.From(this).GetHashCode();
}
