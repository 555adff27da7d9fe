namespace GdNet.Variants;

// var2str writes Dictionary keys sorted with Godot 3's Variant "<" and Godot's introsort. Both are reproduced here
// (behaviour observed with the real engine; see tests/GdNet.Tests/Variants/Data/var2str.json, "dict_order_*"):
// - keys of different types are ordered by type id (nil < bool < int < float < String < Vector2 < ...);
// - bool, int, float (NaN is never less), String (by code point), Vector2/Vector3 (x, then y, then z) and RID order
//   naturally;
// - PoolByteArray, PoolIntArray, PoolRealArray, PoolStringArray, PoolVector3Array and PoolColorArray use Godot's
//   peculiar rule "a < b when a is shorter, or when any element differs" (so [1, 2] < [2, 1] and [2, 1] < [1, 2]);
//   when a is longer and its first elements equal b, Godot reads past the end of b (undefined); GdNet compares those
//   extra elements with zero;
// - Array uses another peculiar rule: "a < b unless b is shorter, when any element of a is not less than b's";
// - Dictionary and Object keys compare by memory address in Godot, which cannot be reproduced: GdNet treats them as
//   never less (a Dictionary or Object used as a key may therefore print in another order than Godot's);
// - every other type (Rect2, Transform2D, Plane, Quat, AABB, Basis, Transform, Color, NodePath, PoolVector2Array)
//   never compares less, so such keys keep their insertion order for up to 16 keys and are moved around by the
//   introsort's partitioning beyond that, exactly as Godot does.
public static partial class VariantText
{
    private const int IntrosortThreshold = 16;

    /// <summary>Godot 3's <c>Variant::operator&lt;</c>.</summary>
    internal static bool GodotLess(in Variant a, in Variant b)
    {
        if (a.Type != b.Type)
        {
            return a.Type < b.Type;
        }

        switch (a.Type)
        {
            case VariantType.Bool:
                return !a.AsBool() && b.AsBool();
            case VariantType.Int:
                return a.AsInt64() < b.AsInt64();
            case VariantType.Real:
                return a.AsDouble() < b.AsDouble();
            case VariantType.String:
                return CompareCodePoints(a.AsString(), b.AsString()) < 0;
            case VariantType.Vector2:
                return Less(a.AsVector2(), b.AsVector2());
            case VariantType.Vector3:
                return Less(a.AsVector3(), b.AsVector3());
            case VariantType.RID:
                return a.AsRID().Id < b.AsRID().Id;
            case VariantType.Array:
                return ArrayLess(a.AsArray(), b.AsArray());
            case VariantType.PoolByteArray:
                return PoolLess<byte>(a.AsByteArray(), b.AsByteArray(), static (x, y) => x != y);
            case VariantType.PoolIntArray:
                return PoolLess<int>(a.AsIntArray(), b.AsIntArray(), static (x, y) => x != y);
            case VariantType.PoolRealArray:
                return PoolLess<float>(a.AsRealArray(), b.AsRealArray(), static (x, y) => x != y);
            case VariantType.PoolStringArray:
                return PoolLess<string?>(a.AsStringArray(), b.AsStringArray(), static (x, y) => !string.Equals(x ?? "", y ?? "", StringComparison.Ordinal));
            case VariantType.PoolVector3Array:
                return PoolLess<Vector3>(a.AsVector3Array(), b.AsVector3Array(), static (x, y) => x.X != y.X || x.Y != y.Y || x.Z != y.Z);
            case VariantType.PoolColorArray:
                return PoolLess<Color>(a.AsColorArray(), b.AsColorArray(), static (x, y) => x.R != y.R || x.G != y.G || x.B != y.B || x.A != y.A);
            default:
                return false;
        }
    }

    private static bool Less(Vector2 a, Vector2 b) => a.X == b.X ? a.Y < b.Y : a.X < b.X;

    private static bool Less(Vector3 a, Vector3 b) => a.X == b.X ? (a.Y == b.Y ? a.Z < b.Z : a.Y < b.Y) : a.X < b.X;

    // Godot's Array "<": false when b is shorter, else true as soon as an element of a is NOT less than b's.
    private static bool ArrayLess(VariantArray a, VariantArray b)
    {
        if (b.Count < a.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!GodotLess(a[i], b[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool PoolLess<T>(T[] a, T[] b, Func<T, T, bool> differ)
    {
        if (a.Length < b.Length)
        {
            return true;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (differ(a[i], i < b.Length ? b[i] : default!))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Ordinal comparison by Unicode code point (Godot strings hold code points, not UTF-16 units).</summary>
    internal static int CompareCodePoints(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x != y)
            {
                return FixUp(x) - FixUp(y);
            }
        }

        return a.Length - b.Length;

        // Moves surrogates above U+E000..U+FFFF so that UTF-16 order equals code point order.
        static int FixUp(char c) => c >= 0xE000 ? c - 0x800 : c >= 0xD800 ? c + 0x2000 : c;
    }

    /// <summary>Sorts the positions of <paramref name="keys"/> as Godot's <c>List&lt;Variant&gt;::sort()</c> does.</summary>
    internal static void SortKeysLikeGodot(Variant[] keys)
    {
        if (keys.Length < 2)
        {
            return;
        }

        new KeySorter(keys).Sort();
    }

    /// <summary>The introsort of Godot's <c>SortArray</c> (the classic STL algorithm), including its comparator guards.</summary>
    private readonly struct KeySorter(Variant[] a)
    {
        public void Sort()
        {
            Introsort(0, a.Length, BitLog(a.Length) * 2);
            FinalInsertionSort(0, a.Length);
        }

        private bool Less(int i, in Variant v) => GodotLess(a[i], v);

        private static int BitLog(int n)
        {
            var r = 0;
            while (n != 1)
            {
                n >>= 1;
                r++;
            }

            return r;
        }

        private Variant MedianOf3(int ia, int ib, int ic)
        {
            ref var x = ref a[ia];
            ref var y = ref a[ib];
            ref var z = ref a[ic];
            if (GodotLess(x, y))
            {
                if (GodotLess(y, z))
                {
                    return y;
                }

                return GodotLess(x, z) ? z : x;
            }

            if (GodotLess(x, z))
            {
                return x;
            }

            return GodotLess(y, z) ? z : y;
        }

        private int Partition(int first, int last, in Variant pivot)
        {
            // The guards (Godot's "bad comparison function" checks) use the original bounds.
            var lowest = first;
            var highest = last;
            while (true)
            {
                while (Less(first, pivot))
                {
                    if (first == highest - 1)
                    {
                        break;
                    }

                    first++;
                }

                last--;
                while (GodotLess(pivot, a[last]))
                {
                    if (last == lowest)
                    {
                        break;
                    }

                    last--;
                }

                if (!(first < last))
                {
                    return first;
                }

                (a[first], a[last]) = (a[last], a[first]);
                first++;
            }
        }

        private void Introsort(int first, int last, int maxDepth)
        {
            while (last - first > IntrosortThreshold)
            {
                if (maxDepth == 0)
                {
                    HeapSort(first, last);
                    return;
                }

                maxDepth--;
                var pivot = MedianOf3(first, first + ((last - first) / 2), last - 1);
                var cut = Partition(first, last, pivot);
                Introsort(cut, last, maxDepth);
                last = cut;
            }
        }

        private void FinalInsertionSort(int first, int last)
        {
            if (last - first > IntrosortThreshold)
            {
                InsertionSort(first, first + IntrosortThreshold);
                for (var i = first + IntrosortThreshold; i != last; i++)
                {
                    UnguardedLinearInsert(i, a[i]);
                }
            }
            else
            {
                InsertionSort(first, last);
            }
        }

        private void InsertionSort(int first, int last)
        {
            if (first == last)
            {
                return;
            }

            for (var i = first + 1; i != last; i++)
            {
                var val = a[i];
                if (GodotLess(val, a[first]))
                {
                    Array.Copy(a, first, a, first + 1, i - first);
                    a[first] = val;
                }
                else
                {
                    UnguardedLinearInsert(i, val);
                }
            }
        }

        private void UnguardedLinearInsert(int last, Variant val)
        {
            var next = last - 1;
            while (GodotLess(val, a[next]))
            {
                if (next == 0)
                {
                    break; // Godot's guard against an inconsistent comparison
                }

                a[last] = a[next];
                last = next;
                next--;
            }

            a[last] = val;
        }

        // partial_sort(first, last, last): make a max-heap, then pop it.
        private void HeapSort(int first, int last)
        {
            var len = last - first;
            if (len >= 2)
            {
                for (var parent = (len - 2) / 2; ; parent--)
                {
                    AdjustHeap(first, parent, len, a[first + parent]);
                    if (parent == 0)
                    {
                        break;
                    }
                }
            }

            while (last - first > 1)
            {
                last--;
                var value = a[last];
                a[last] = a[first];
                AdjustHeap(first, 0, last - first, value);
            }
        }

        private void AdjustHeap(int first, int hole, int len, Variant value)
        {
            var top = hole;
            var second = (2 * hole) + 2;
            while (second < len)
            {
                if (GodotLess(a[first + second], a[first + second - 1]))
                {
                    second--;
                }

                a[first + hole] = a[first + second];
                hole = second;
                second = 2 * (second + 1);
            }

            if (second == len)
            {
                a[first + hole] = a[first + second - 1];
                hole = second - 1;
            }

            // push_heap
            var parent = (hole - 1) / 2;
            while (hole > top && GodotLess(a[first + parent], value))
            {
                a[first + hole] = a[first + parent];
                hole = parent;
                parent = (hole - 1) / 2;
            }

            a[first + hole] = value;
        }
    }
}
