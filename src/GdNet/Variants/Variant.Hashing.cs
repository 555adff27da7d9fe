using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GdNet.Variants;

// Deep, seeded hashing consistent with Variant.Equals. Dictionary keys come from remote peers, so a hash an attacker
// can make collide (a 64-bit value folded to 32 bits, an unseeded combine, a hash of only the first items) would let one
// packet turn key lookups quadratic. Every hash here covers the whole content and goes through System.HashCode, whose
// seed is random per process; strings use the runtime's randomized string hash.
public readonly partial struct Variant
{
    /// <summary>Containers deeper than this below the hashed value only add their type and count (keeps cycles finite).</summary>
    internal const int HashDepthLimit = 1024;

    private const int CanonicalFloatNaN = 0x7FC0_0000;
    private const long CanonicalDoubleNaN = 0x7FF8_0000_0000_0000;

    /// <summary>
    /// The hash of <paramref name="value"/>. With <paramref name="context"/> null (user code) containers are hashed up to
    /// <see cref="HashDepthLimit"/> levels; with a context (the decoder) container hashes are cached by reference, so
    /// nested keys are hashed once, and running out of stack is reported through the context instead.
    /// </summary>
    internal static int DeepHash(in Variant value, VariantKeyComparer? context, int depth)
    {
        var type = value._type;
        switch (type)
        {
            case VariantType.Nil:
                return (int)type;
            case VariantType.Bool:
            case VariantType.Int:
            case VariantType.RID:
                return Halves(type, value._inline.Int);
            case VariantType.Real:
                {
                    var d = value._inline.Real;
                    var bits = d == 0 ? 0 : double.IsNaN(d) ? CanonicalDoubleNaN : BitConverter.DoubleToInt64Bits(d);
                    return Halves(type, bits);
                }

            case VariantType.String:
                return HashCode.Combine(type, (string)value._ref!);
            case VariantType.Vector2:
                return HashCode.Combine(type, F(value._inline.Vector2.X), F(value._inline.Vector2.Y));
            case VariantType.Vector3:
                {
                    var v = value._inline.Vector3;
                    return HashCode.Combine(type, F(v.X), F(v.Y), F(v.Z));
                }

            case VariantType.Rect2:
                {
                    var v = value._inline.Rect2;
                    return HashCode.Combine(type, F(v.Position.X), F(v.Position.Y), F(v.Size.X), F(v.Size.Y));
                }

            case VariantType.Plane:
                {
                    var v = value._inline.Plane;
                    return HashCode.Combine(type, F(v.Normal.X), F(v.Normal.Y), F(v.Normal.Z), F(v.D));
                }

            case VariantType.Quat:
                {
                    var v = value._inline.Quat;
                    return HashCode.Combine(type, F(v.X), F(v.Y), F(v.Z), F(v.W));
                }

            case VariantType.Color:
                {
                    var v = value._inline.Color;
                    return HashCode.Combine(type, F(v.R), F(v.G), F(v.B), F(v.A));
                }

            case VariantType.Transform2D:
                {
                    var v = value.AsTransform2D();
                    var h = Start(type);
                    Add(ref h, v.X);
                    Add(ref h, v.Y);
                    Add(ref h, v.Origin);
                    return h.ToHashCode();
                }

            case VariantType.AABB:
                {
                    var v = value.AsAABB();
                    var h = Start(type);
                    Add(ref h, v.Position);
                    Add(ref h, v.Size);
                    return h.ToHashCode();
                }

            case VariantType.Basis:
                {
                    var h = Start(type);
                    Add(ref h, value.AsBasis());
                    return h.ToHashCode();
                }

            case VariantType.Transform:
                {
                    var v = value.AsTransform();
                    var h = Start(type);
                    Add(ref h, v.Basis);
                    Add(ref h, v.Origin);
                    return h.ToHashCode();
                }

            case VariantType.PoolByteArray:
                {
                    var h = Start(type);
                    h.AddBytes((byte[])value._ref!);
                    return h.ToHashCode();
                }

            case VariantType.PoolIntArray:
                {
                    var h = Start(type);
                    h.AddBytes(MemoryMarshal.AsBytes(((int[])value._ref!).AsSpan()));
                    return h.ToHashCode();
                }

            case VariantType.PoolRealArray:
                {
                    var items = (float[])value._ref!;
                    var h = Start(type);
                    h.Add(items.Length);
                    foreach (var f in items)
                    {
                        h.Add(F(f));
                    }

                    return h.ToHashCode();
                }

            case VariantType.PoolStringArray:
                {
                    var items = (string[])value._ref!;
                    var h = Start(type);
                    h.Add(items.Length);
                    foreach (var s in items)
                    {
                        h.Add(s);
                    }

                    return h.ToHashCode();
                }

            case VariantType.PoolVector2Array:
                {
                    var items = (Vector2[])value._ref!;
                    var h = Start(type);
                    h.Add(items.Length);
                    foreach (var v in items)
                    {
                        Add(ref h, v);
                    }

                    return h.ToHashCode();
                }

            case VariantType.PoolVector3Array:
                {
                    var items = (Vector3[])value._ref!;
                    var h = Start(type);
                    h.Add(items.Length);
                    foreach (var v in items)
                    {
                        Add(ref h, v);
                    }

                    return h.ToHashCode();
                }

            case VariantType.PoolColorArray:
                {
                    var items = (Color[])value._ref!;
                    var h = Start(type);
                    h.Add(items.Length);
                    foreach (var c in items)
                    {
                        h.Add(F(c.R));
                        h.Add(F(c.G));
                        h.Add(F(c.B));
                        h.Add(F(c.A));
                    }

                    return h.ToHashCode();
                }

            case VariantType.NodePath:
                {
                    var path = (NodePath)value._ref!;
                    var h = Start(type);
                    h.Add(path.IsAbsolute);
                    h.Add(path.Names.Length);
                    foreach (var name in path.Names)
                    {
                        h.Add(name);
                    }

                    h.Add(path.Subnames.Length);
                    foreach (var name in path.Subnames)
                    {
                        h.Add(name);
                    }

                    return h.ToHashCode();
                }

            case VariantType.Object:
            case VariantType.Dictionary:
            case VariantType.Array:
                return CompositeHash(value, context, depth);

            default:
                return (int)type;
        }
    }

    private static int CompositeHash(in Variant value, VariantKeyComparer? context, int depth)
    {
        var type = value._type;
        var reference = value._ref;
        if (reference is null)
        {
            return (int)type; // null object
        }

        if (reference is EncodedObjectAsId asId)
        {
            return Halves(type, unchecked((long)asId.ObjectId));
        }

        if (context is not null)
        {
            if (context.TryGetCachedHash(reference, out var cached))
            {
                return cached;
            }

            if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            {
                context.StackExhausted = true;
                return (int)type;
            }
        }
        else if (depth >= HashDepthLimit)
        {
            return HashCode.Combine(type, Count(reference));
        }

        var h = Start(type);
        switch (reference)
        {
            case VariantArray array:
                h.Add(array.Count);
                foreach (var item in array)
                {
                    h.Add(DeepHash(item, context, depth + 1));
                }

                break;

            case VariantDictionary dictionary:
                h.Add(dictionary.Count);
                foreach (var entry in dictionary.EntriesSpan)
                {
                    h.Add(DeepHash(entry.Key, context, depth + 1));
                    h.Add(DeepHash(entry.Value, context, depth + 1));
                }

                break;

            case ObjectData data:
                h.Add(data.ClassName);
                h.Add(data.Properties.Count);
                for (var i = 0; i < data.Properties.Count; i++)
                {
                    var property = data.Properties[i];
                    h.Add(property.Key);
                    h.Add(DeepHash(property.Value, context, depth + 1));
                }

                break;
        }

        var hash = h.ToHashCode();
        context?.CacheHash(reference, hash);
        return hash;
    }

    /// <summary>
    /// <see cref="Equals(Variant)"/> without unbounded recursion: when the stack runs low it returns false and sets
    /// <paramref name="stackExhausted"/> (the decoder then fails the input as too deep).
    /// </summary>
    internal static bool DeepEquals(in Variant a, in Variant b, ref bool stackExhausted)
    {
        if (a._type != b._type)
        {
            return false;
        }

        if (a._type is not (VariantType.Array or VariantType.Dictionary or VariantType.Object) || ReferenceEquals(a._ref, b._ref))
        {
            return a.Equals(b);
        }

        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            stackExhausted = true;
            return false;
        }

        switch (a._ref)
        {
            case VariantArray x when b._ref is VariantArray y:
                {
                    if (x.Count != y.Count)
                    {
                        return false;
                    }

                    for (var i = 0; i < x.Count; i++)
                    {
                        if (!DeepEquals(x[i], y[i], ref stackExhausted))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            case VariantDictionary x when b._ref is VariantDictionary y:
                {
                    var xs = x.EntriesSpan;
                    var ys = y.EntriesSpan;
                    if (xs.Length != ys.Length)
                    {
                        return false;
                    }

                    for (var i = 0; i < xs.Length; i++)
                    {
                        if (!DeepEquals(xs[i].Key, ys[i].Key, ref stackExhausted) || !DeepEquals(xs[i].Value, ys[i].Value, ref stackExhausted))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            case ObjectData x when b._ref is ObjectData y:
                {
                    if (x.ClassName != y.ClassName || x.Properties.Count != y.Properties.Count)
                    {
                        return false;
                    }

                    for (var i = 0; i < x.Properties.Count; i++)
                    {
                        if (x.Properties[i].Key != y.Properties[i].Key || !DeepEquals(x.Properties[i].Value, y.Properties[i].Value, ref stackExhausted))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            default:
                return a.Equals(b);
        }
    }

    private static int Count(object reference) => reference switch
    {
        VariantArray a => a.Count,
        VariantDictionary d => d.Count,
        ObjectData o => o.Properties.Count,
        _ => 0,
    };

    /// <summary>Float equality here is <see cref="float.Equals(float)"/>: 0 equals −0 and every NaN equals every NaN.</summary>
    private static int F(float f) => f == 0 ? 0 : float.IsNaN(f) ? CanonicalFloatNaN : BitConverter.SingleToInt32Bits(f);

    private static int Halves(VariantType type, long bits) => HashCode.Combine(type, (int)bits, (int)(bits >> 32));

    private static HashCode Start(VariantType type)
    {
        var h = default(HashCode);
        h.Add(type);
        return h;
    }

    private static void Add(ref HashCode h, Vector2 v)
    {
        h.Add(F(v.X));
        h.Add(F(v.Y));
    }

    private static void Add(ref HashCode h, Vector3 v)
    {
        h.Add(F(v.X));
        h.Add(F(v.Y));
        h.Add(F(v.Z));
    }

    private static void Add(ref HashCode h, Basis b)
    {
        Add(ref h, b.X);
        Add(ref h, b.Y);
        Add(ref h, b.Z);
    }
}

/// <summary>
/// The decoder's key comparer for de-duplicating Dictionary keys: deep equality and hashing that never recurse
/// unboundedly, with container hashes cached by reference so each decoded node is hashed about once however deeply keys
/// nest. Only for values nobody mutates while it is in use (freshly decoded ones).
/// </summary>
internal sealed class VariantKeyComparer : IEqualityComparer<Variant>
{
    private readonly Dictionary<object, int> _hashes = new(ReferenceEqualityComparer.Instance);
    private bool _stackExhausted;

    /// <summary>Set when a comparison or hash ran out of stack; the results are then unreliable.</summary>
    public bool StackExhausted
    {
        get => _stackExhausted;
        set => _stackExhausted = value;
    }

    public bool Equals(Variant x, Variant y) => Variant.DeepEquals(x, y, ref _stackExhausted);

    public int GetHashCode(Variant obj) => Variant.DeepHash(obj, this, 0);

    internal bool TryGetCachedHash(object reference, out int hash) => _hashes.TryGetValue(reference, out hash);

    internal void CacheHash(object reference, int hash) => _hashes[reference] = hash;
}
