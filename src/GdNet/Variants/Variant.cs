using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GdNet.Variants;

/// <summary>
/// A Godot 3 Variant: one value of any <see cref="VariantType"/>. A small immutable struct: bool, int, float and the
/// math types up to 16 bytes (Vector2, Vector3, Rect2, Plane, Quat, Color, RID) are stored inline without boxing;
/// larger math types, strings, paths, objects, containers and pool arrays are held by reference.
/// </summary>
/// <remarks>
/// <para><c>default(Variant)</c> is nil. Int is 64-bit and Real is 64-bit (double), as in Godot 3's Variant.</para>
/// <para>Equality is deep and type-strict: <c>1</c> (Int) differs from <c>1.0</c> (Real); arrays, dictionaries
/// (order-sensitive) and pool arrays compare by content; floats compare with <see cref="double.Equals(double)"/>, so NaN
/// equals NaN and equality is a proper equivalence relation (usable for dictionary keys, as Godot's hash_compare).</para>
/// <para>Containers and pool arrays are held by reference: mutating a <see cref="VariantArray"/> after wrapping it is
/// visible through the Variant.</para>
/// </remarks>
public readonly partial struct Variant : IEquatable<Variant>
{
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    private struct Inline
    {
        [FieldOffset(0)] public long Int;
        [FieldOffset(0)] public double Real;
        [FieldOffset(0)] public Vector2 Vector2;
        [FieldOffset(0)] public Vector3 Vector3;
        [FieldOffset(0)] public Rect2 Rect2;
        [FieldOffset(0)] public Plane Plane;
        [FieldOffset(0)] public Quat Quat;
        [FieldOffset(0)] public Color Color;
        [FieldOffset(0)] public ulong Rid;
    }

    private readonly object? _ref;
    private readonly Inline _inline;
    private readonly VariantType _type;

    private Variant(VariantType type, Inline inline, object? reference)
    {
        _type = type;
        _inline = inline;
        _ref = reference;
    }

    private Variant(VariantType type, object? reference)
    {
        _type = type;
        _ref = reference;
    }

    /// <summary>The nil Variant (same as <c>default</c>).</summary>
    public static Variant Nil => default;

    /// <summary>This value's type.</summary>
    public VariantType Type => _type;

    /// <summary>True for nil.</summary>
    public bool IsNil => _type == VariantType.Nil;

    // ---- construction -------------------------------------------------------------------------------------------

    public static Variant From(bool value) => new(VariantType.Bool, new Inline { Int = value ? 1 : 0 }, null);

    public static Variant From(long value) => new(VariantType.Int, new Inline { Int = value }, null);

    public static Variant From(double value) => new(VariantType.Real, new Inline { Real = value }, null);

    public static Variant From(string value) => new(VariantType.String, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(Vector2 value) => new(VariantType.Vector2, new Inline { Vector2 = value }, null);

    public static Variant From(Rect2 value) => new(VariantType.Rect2, new Inline { Rect2 = value }, null);

    public static Variant From(Vector3 value) => new(VariantType.Vector3, new Inline { Vector3 = value }, null);

    public static Variant From(Transform2D value) => new(VariantType.Transform2D, new StrongBox<Transform2D>(value));

    public static Variant From(Plane value) => new(VariantType.Plane, new Inline { Plane = value }, null);

    public static Variant From(Quat value) => new(VariantType.Quat, new Inline { Quat = value }, null);

    public static Variant From(AABB value) => new(VariantType.AABB, new StrongBox<AABB>(value));

    public static Variant From(Basis value) => new(VariantType.Basis, new StrongBox<Basis>(value));

    public static Variant From(Transform value) => new(VariantType.Transform, new StrongBox<Transform>(value));

    public static Variant From(Color value) => new(VariantType.Color, new Inline { Color = value }, null);

    public static Variant From(NodePath value) => new(VariantType.NodePath, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(RID value) => new(VariantType.RID, new Inline { Rid = value.Id }, null);

    /// <summary>An OBJECT variant; <paramref name="value"/> null is Godot's null object.</summary>
    public static Variant FromObject(GodotObjectValue? value) => new(VariantType.Object, value);

    public static Variant From(VariantDictionary value) => new(VariantType.Dictionary, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(VariantArray value) => new(VariantType.Array, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(byte[] value) => new(VariantType.PoolByteArray, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(int[] value) => new(VariantType.PoolIntArray, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(float[] value) => new(VariantType.PoolRealArray, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(string[] value) => new(VariantType.PoolStringArray, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(Vector2[] value) => new(VariantType.PoolVector2Array, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(Vector3[] value) => new(VariantType.PoolVector3Array, value ?? throw new ArgumentNullException(nameof(value)));

    public static Variant From(Color[] value) => new(VariantType.PoolColorArray, value ?? throw new ArgumentNullException(nameof(value)));

    public static implicit operator Variant(bool value) => From(value);

    public static implicit operator Variant(int value) => From((long)value);

    public static implicit operator Variant(long value) => From(value);

    public static implicit operator Variant(float value) => From((double)value);

    public static implicit operator Variant(double value) => From(value);

    public static implicit operator Variant(string value) => From(value);

    public static implicit operator Variant(Vector2 value) => From(value);

    public static implicit operator Variant(Rect2 value) => From(value);

    public static implicit operator Variant(Vector3 value) => From(value);

    public static implicit operator Variant(Transform2D value) => From(value);

    public static implicit operator Variant(Plane value) => From(value);

    public static implicit operator Variant(Quat value) => From(value);

    public static implicit operator Variant(AABB value) => From(value);

    public static implicit operator Variant(Basis value) => From(value);

    public static implicit operator Variant(Transform value) => From(value);

    public static implicit operator Variant(Color value) => From(value);

    public static implicit operator Variant(NodePath value) => From(value);

    public static implicit operator Variant(RID value) => From(value);

    public static implicit operator Variant(VariantDictionary value) => From(value);

    public static implicit operator Variant(VariantArray value) => From(value);

    public static implicit operator Variant(byte[] value) => From(value);

    public static implicit operator Variant(int[] value) => From(value);

    public static implicit operator Variant(float[] value) => From(value);

    public static implicit operator Variant(string[] value) => From(value);

    public static implicit operator Variant(Vector2[] value) => From(value);

    public static implicit operator Variant(Vector3[] value) => From(value);

    public static implicit operator Variant(Color[] value) => From(value);

    // ---- strict accessors (throw InvalidCastException naming both types) ---------------------------------------

    public bool AsBool() => Expect(VariantType.Bool)._inline.Int != 0;

    public long AsInt64() => Expect(VariantType.Int)._inline.Int;

    /// <summary>The Int value truncated to 32 bits, as Godot does when an int argument is bound to a 32-bit parameter.</summary>
    public int AsInt32() => unchecked((int)Expect(VariantType.Int)._inline.Int);

    public double AsDouble() => Expect(VariantType.Real)._inline.Real;

    public float AsSingle() => (float)Expect(VariantType.Real)._inline.Real;

    public string AsString() => (string)Expect(VariantType.String)._ref!;

    public Vector2 AsVector2() => Expect(VariantType.Vector2)._inline.Vector2;

    public Rect2 AsRect2() => Expect(VariantType.Rect2)._inline.Rect2;

    public Vector3 AsVector3() => Expect(VariantType.Vector3)._inline.Vector3;

    public Transform2D AsTransform2D() => ((StrongBox<Transform2D>)Expect(VariantType.Transform2D)._ref!).Value;

    public Plane AsPlane() => Expect(VariantType.Plane)._inline.Plane;

    public Quat AsQuat() => Expect(VariantType.Quat)._inline.Quat;

    public AABB AsAABB() => ((StrongBox<AABB>)Expect(VariantType.AABB)._ref!).Value;

    public Basis AsBasis() => ((StrongBox<Basis>)Expect(VariantType.Basis)._ref!).Value;

    public Transform AsTransform() => ((StrongBox<Transform>)Expect(VariantType.Transform)._ref!).Value;

    public Color AsColor() => Expect(VariantType.Color)._inline.Color;

    public NodePath AsNodePath() => (NodePath)Expect(VariantType.NodePath)._ref!;

    public RID AsRID() => new(Expect(VariantType.RID)._inline.Rid);

    /// <summary>The object of an OBJECT variant (null for Godot's null object).</summary>
    public GodotObjectValue? AsObject() => (GodotObjectValue?)Expect(VariantType.Object)._ref;

    public VariantDictionary AsDictionary() => (VariantDictionary)Expect(VariantType.Dictionary)._ref!;

    public VariantArray AsArray() => (VariantArray)Expect(VariantType.Array)._ref!;

    public byte[] AsByteArray() => (byte[])Expect(VariantType.PoolByteArray)._ref!;

    public int[] AsIntArray() => (int[])Expect(VariantType.PoolIntArray)._ref!;

    public float[] AsRealArray() => (float[])Expect(VariantType.PoolRealArray)._ref!;

    public string[] AsStringArray() => (string[])Expect(VariantType.PoolStringArray)._ref!;

    public Vector2[] AsVector2Array() => (Vector2[])Expect(VariantType.PoolVector2Array)._ref!;

    public Vector3[] AsVector3Array() => (Vector3[])Expect(VariantType.PoolVector3Array)._ref!;

    public Color[] AsColorArray() => (Color[])Expect(VariantType.PoolColorArray)._ref!;

    private Variant Expect(VariantType type)
    {
        if (_type != type)
        {
            ThrowWrongType(type, _type);
        }

        return this;
    }

    [DoesNotReturn]
    private static void ThrowWrongType(VariantType wanted, VariantType actual) =>
        throw new InvalidCastException($"The Variant holds {actual}, not {wanted}; check Variant.Type before reading it.");

    // ---- equality -------------------------------------------------------------------------------------------

    public bool Equals(Variant other)
    {
        if (_type != other._type)
        {
            return false;
        }

        return _type switch
        {
            VariantType.Nil => true,
            VariantType.Bool or VariantType.Int or VariantType.RID => _inline.Int == other._inline.Int,
            VariantType.Real => _inline.Real.Equals(other._inline.Real),
            VariantType.Vector2 => _inline.Vector2.Equals(other._inline.Vector2),
            VariantType.Vector3 => _inline.Vector3.Equals(other._inline.Vector3),
            VariantType.Rect2 => _inline.Rect2.Equals(other._inline.Rect2),
            VariantType.Plane => _inline.Plane.Equals(other._inline.Plane),
            VariantType.Quat => _inline.Quat.Equals(other._inline.Quat),
            VariantType.Color => _inline.Color.Equals(other._inline.Color),
            VariantType.Transform2D => AsTransform2D().Equals(other.AsTransform2D()),
            VariantType.AABB => AsAABB().Equals(other.AsAABB()),
            VariantType.Basis => AsBasis().Equals(other.AsBasis()),
            VariantType.Transform => AsTransform().Equals(other.AsTransform()),
            VariantType.PoolByteArray => AsByteArray().AsSpan().SequenceEqual(other.AsByteArray()),
            VariantType.PoolIntArray => AsIntArray().AsSpan().SequenceEqual(other.AsIntArray()),
            VariantType.PoolRealArray => SequenceEquals(AsRealArray(), other.AsRealArray()),
            VariantType.PoolStringArray => SequenceEquals(AsStringArray(), other.AsStringArray()),
            VariantType.PoolVector2Array => SequenceEquals(AsVector2Array(), other.AsVector2Array()),
            VariantType.PoolVector3Array => SequenceEquals(AsVector3Array(), other.AsVector3Array()),
            VariantType.PoolColorArray => SequenceEquals(AsColorArray(), other.AsColorArray()),
            _ => Equals(_ref, other._ref),
        };
    }

    private static bool SequenceEquals<T>(T[] a, T[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        var cmp = EqualityComparer<T>.Default;
        for (var i = 0; i < a.Length; i++)
        {
            if (!cmp.Equals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is Variant v && Equals(v);

    /// <summary>
    /// A hash of the whole value (deep for containers, up to 1024 levels), consistent with <see cref="Equals(Variant)"/> and
    /// seeded per process, so keys from remote peers cannot be made to collide.
    /// </summary>
    public override int GetHashCode() => DeepHash(this, null, 0);

    public static bool operator ==(Variant left, Variant right) => left.Equals(right);

    public static bool operator !=(Variant left, Variant right) => !left.Equals(right);

    /// <summary>A short debugging form; use <c>VariantText</c> for Godot's exact <c>var2str</c> text.</summary>
    public override string ToString() => _type switch
    {
        VariantType.Nil => "Null",
        VariantType.Bool => AsBool() ? "True" : "False",
        VariantType.Int => AsInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        VariantType.Real => AsDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        VariantType.String => AsString(),
        VariantType.Vector2 => _inline.Vector2.ToString(),
        VariantType.Vector3 => _inline.Vector3.ToString(),
        VariantType.Rect2 => _inline.Rect2.ToString(),
        VariantType.Plane => _inline.Plane.ToString(),
        VariantType.Quat => _inline.Quat.ToString(),
        VariantType.Color => _inline.Color.ToString(),
        VariantType.RID => $"RID({_inline.Rid})",
        _ => _ref?.ToString() ?? $"[{_type}]",
    };
}
