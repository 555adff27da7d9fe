using System.Runtime.InteropServices;

namespace GdNet.Variants;

// Godot 3's math value types. Components are float32 as on the wire (real_t = float in standard builds).
// Equality is component-wise with float.Equals semantics (NaN equals NaN), so every type is a proper
// equivalence relation usable as a dictionary key; Godot compares with == (NaN never equal).

/// <summary>Godot <c>Vector2</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Vector2(float X, float Y);

/// <summary>Godot <c>Vector3</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Vector3(float X, float Y, float Z);

/// <summary>Godot <c>Rect2</c>: position and size.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Rect2(Vector2 Position, Vector2 Size)
{
    public Rect2(float x, float y, float width, float height) : this(new Vector2(x, y), new Vector2(width, height)) { }
}

/// <summary>Godot <c>Transform2D</c>: the X and Y axis columns and the origin.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Transform2D(Vector2 X, Vector2 Y, Vector2 Origin)
{
    public static Transform2D Identity { get; } = new(new Vector2(1, 0), new Vector2(0, 1), default);
}

/// <summary>Godot <c>Plane</c>: normal and distance.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Plane(Vector3 Normal, float D)
{
    public Plane(float a, float b, float c, float d) : this(new Vector3(a, b, c), d) { }
}

/// <summary>Godot <c>Quat</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Quat(float X, float Y, float Z, float W)
{
    public static Quat Identity { get; } = new(0, 0, 0, 1);
}

/// <summary>Godot <c>AABB</c>: position and size.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct AABB(Vector3 Position, Vector3 Size);

/// <summary>
/// Godot <c>Basis</c>: a 3×3 matrix given by its column axes <see cref="X"/>, <see cref="Y"/>, <see cref="Z"/>
/// as in GDScript's <c>Basis(x, y, z)</c>. The wire carries the rows (spec §1.2).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Basis(Vector3 X, Vector3 Y, Vector3 Z)
{
    public static Basis Identity { get; } = new(new Vector3(1, 0, 0), new Vector3(0, 1, 0), new Vector3(0, 0, 1));

    /// <summary>Row 0: (X.x, Y.x, Z.x).</summary>
    public Vector3 Row0 => new(X.X, Y.X, Z.X);

    /// <summary>Row 1: (X.y, Y.y, Z.y).</summary>
    public Vector3 Row1 => new(X.Y, Y.Y, Z.Y);

    /// <summary>Row 2: (X.z, Y.z, Z.z).</summary>
    public Vector3 Row2 => new(X.Z, Y.Z, Z.Z);

    /// <summary>Builds a basis from its three rows (the wire order).</summary>
    public static Basis FromRows(Vector3 row0, Vector3 row1, Vector3 row2) =>
        new(new Vector3(row0.X, row1.X, row2.X), new Vector3(row0.Y, row1.Y, row2.Y), new Vector3(row0.Z, row1.Z, row2.Z));
}

/// <summary>Godot <c>Transform</c> (3D): basis and origin.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Transform(Basis Basis, Vector3 Origin)
{
    public static Transform Identity { get; } = new(Basis.Identity, default);
}

/// <summary>Godot <c>Color</c> (float RGBA).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Color(float R, float G, float B, float A = 1f);

/// <summary>
/// Godot <c>RID</c>. Its id is local to one process: the wire carries no payload and a decoded RID is empty (id 0).
/// </summary>
public readonly record struct RID(ulong Id);
