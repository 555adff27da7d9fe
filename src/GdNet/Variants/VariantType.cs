namespace GdNet.Variants;

/// <summary>Godot 3's <c>Variant::Type</c>; the numeric value is the type id on the wire (spec §1.2).</summary>
public enum VariantType : byte
{
    Nil = 0,
    Bool = 1,
    Int = 2,
    Real = 3,
    String = 4,
    Vector2 = 5,
    Rect2 = 6,
    Vector3 = 7,
    Transform2D = 8,
    Plane = 9,
    Quat = 10,
    AABB = 11,
    Basis = 12,
    Transform = 13,
    Color = 14,
    NodePath = 15,
    RID = 16,
    Object = 17,
    Dictionary = 18,
    Array = 19,
    PoolByteArray = 20,
    PoolIntArray = 21,
    PoolRealArray = 22,
    PoolStringArray = 23,
    PoolVector2Array = 24,
    PoolVector3Array = 25,
    PoolColorArray = 26,
}
