using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>Converts a Variant to a typed value; false when Godot's rules do not allow it.</summary>
/// <typeparam name="T">The target type.</typeparam>
/// <param name="value">The received value.</param>
/// <param name="result">The converted value (default when the conversion fails).</param>
/// <returns>True when <paramref name="value"/> converts.</returns>
[EditorBrowsable(EditorBrowsableState.Never)]
public delegate bool TryConvertFunc<T>(Variant value, out T result);

/// <summary>
/// Binds received Variants to typed handler parameters and properties with Godot 3's strict call conversions
/// (<c>Variant::can_convert_strict</c>), the rules a typed GDScript function applies to <c>call</c>/RPC arguments.
/// </summary>
/// <remarks>
/// <para>Observed on godot3-server 3.2.3 by calling typed functions with every argument type:</para>
/// <list type="bullet">
/// <item><c>bool</c> and every integer and floating-point type accept INT, REAL and BOOL (REAL to integer truncates toward
/// zero and saturates; integers narrower than 64 bits are truncated as Godot truncates to int32).</item>
/// <item><c>string</c> accepts STRING and NODE_PATH; <see cref="NodePath"/> accepts NODE_PATH and STRING.</item>
/// <item><see cref="VariantArray"/> accepts ARRAY and every pool array; a pool array (<c>byte[]</c>, <c>int[]</c>, …) accepts
/// itself and ARRAY. GdNet requires every element of such an ARRAY to convert (Godot silently writes 0 for an element it
/// cannot convert).</item>
/// <item>Every other type (vectors, matrices, Color, RID, Dictionary) accepts only itself.</item>
/// <item>NIL is accepted only by <see cref="Variant"/>, <see cref="GodotObjectValue"/> (as null) and <c>Nullable&lt;T&gt;</c>.
/// An <see cref="GodotObjectValue"/> parameter accepts only OBJECT or NIL (Godot turns any other value into null; GdNet
/// rejects it).</item>
/// <item>Enums bind like their underlying integer type. <see cref="Variant"/> accepts anything.</item>
/// </list>
/// <para>Public only for the RPC dispatch tables that GdNet.Generators writes into user assemblies: they call the
/// <c>TryToX</c> converters directly, with no reflection and no boxing. Not meant for hand-written code.</para>
/// <para>The members that pick a converter for a <see cref="Type"/> at run time (<c>GetConverterMethod</c>,
/// <c>TryConvert</c>) use reflection and serve only the reflection fallback of <see cref="RpcTypeInfo"/>.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class VariantBinder
{
    private static readonly Dictionary<Type, string> Converters = new()
    {
        [typeof(Variant)] = nameof(TryToVariant),
        [typeof(bool)] = nameof(TryToBool),
        [typeof(sbyte)] = nameof(TryToSByte),
        [typeof(byte)] = nameof(TryToByte),
        [typeof(short)] = nameof(TryToInt16),
        [typeof(ushort)] = nameof(TryToUInt16),
        [typeof(int)] = nameof(TryToInt32),
        [typeof(uint)] = nameof(TryToUInt32),
        [typeof(long)] = nameof(TryToInt64),
        [typeof(ulong)] = nameof(TryToUInt64),
        [typeof(float)] = nameof(TryToSingle),
        [typeof(double)] = nameof(TryToDouble),
        [typeof(string)] = nameof(TryToString),
        [typeof(NodePath)] = nameof(TryToNodePath),
        [typeof(Vector2)] = nameof(TryToVector2),
        [typeof(Rect2)] = nameof(TryToRect2),
        [typeof(Vector3)] = nameof(TryToVector3),
        [typeof(Transform2D)] = nameof(TryToTransform2D),
        [typeof(Plane)] = nameof(TryToPlane),
        [typeof(Quat)] = nameof(TryToQuat),
        [typeof(AABB)] = nameof(TryToAABB),
        [typeof(Basis)] = nameof(TryToBasis),
        [typeof(Transform)] = nameof(TryToTransform),
        [typeof(Color)] = nameof(TryToColor),
        [typeof(RID)] = nameof(TryToRID),
        [typeof(GodotObjectValue)] = nameof(TryToObject),
        [typeof(EncodedObjectAsId)] = nameof(TryToEncodedObjectAsId),
        [typeof(ObjectData)] = nameof(TryToObjectData),
        [typeof(VariantDictionary)] = nameof(TryToDictionary),
        [typeof(VariantArray)] = nameof(TryToArray),
        [typeof(byte[])] = nameof(TryToByteArray),
        [typeof(int[])] = nameof(TryToIntArray),
        [typeof(float[])] = nameof(TryToRealArray),
        [typeof(string[])] = nameof(TryToStringArray),
        [typeof(Vector2[])] = nameof(TryToVector2Array),
        [typeof(Vector3[])] = nameof(TryToVector3Array),
        [typeof(Color[])] = nameof(TryToColorArray),
    };

    /// <summary>True when a parameter or property of type <paramref name="type"/> can be bound.</summary>
    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    internal static bool IsSupported(Type type) => GetConverterMethod(type) is not null;

    /// <summary>The static <c>bool TryToX(Variant, out T)</c> method for <paramref name="type"/>, or null if unsupported.</summary>
    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    internal static MethodInfo? GetConverterMethod(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        const BindingFlags flags = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        if (Converters.TryGetValue(type, out var name))
        {
            return typeof(VariantBinder).GetMethod(name, flags);
        }

        if (type.IsEnum && IsSupported(Enum.GetUnderlyingType(type)))
        {
            return typeof(VariantBinder).GetMethod(nameof(TryToEnum), flags)!.MakeGenericMethod(type);
        }

        if (Nullable.GetUnderlyingType(type) is { } inner && IsSupported(inner))
        {
            return typeof(VariantBinder).GetMethod(nameof(TryToNullableByReflection), flags)!.MakeGenericMethod(inner);
        }

        return null;
    }

    /// <summary>Converts with the rules above, the converter found by reflection (used by the reflection fallback's
    /// <c>Nullable</c> converter and by tests).</summary>
    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    public static bool TryConvert<T>(Variant value, out T result) => Cache<T>.Func(value, out result);

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    private static class Cache<T>
    {
        public static readonly TryConvertFunc<T> Func = GetConverterMethod(typeof(T)) is { } m
            ? m.CreateDelegate<TryConvertFunc<T>>()
            : static (Variant _, out T r) =>
            {
                r = default!;
                return false;
            };
    }

    // ---- numbers -----------------------------------------------------------------------------------------------

    private static bool TryNumber(in Variant v, out long integer, out double real, out bool isReal)
    {
        switch (v.Type)
        {
            case VariantType.Int:
                integer = v.AsInt64();
                real = integer;
                isReal = false;
                return true;
            case VariantType.Real:
                real = v.AsDouble();
                integer = (long)real; // saturating, NaN -> 0 (.NET 9+)
                isReal = true;
                return true;
            case VariantType.Bool:
                integer = v.AsBool() ? 1 : 0;
                real = integer;
                isReal = false;
                return true;
            default:
                integer = 0;
                real = 0;
                isReal = false;
                return false;
        }
    }

    public static bool TryToVariant(Variant v, out Variant r)
    {
        r = v;
        return true;
    }

    public static bool TryToBool(Variant v, out bool r)
    {
        var ok = TryNumber(v, out var i, out var d, out var isReal);
        r = isReal ? d != 0 : i != 0;
        return ok;
    }

    public static bool TryToInt64(Variant v, out long r)
    {
        if (v.Type == VariantType.Int)
        {
            r = v.AsInt64();
            return true;
        }

        var ok = TryNumber(v, out r, out _, out _);
        return ok;
    }

    public static bool TryToSByte(Variant v, out sbyte r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((sbyte)l);
        return ok;
    }

    public static bool TryToByte(Variant v, out byte r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((byte)l);
        return ok;
    }

    public static bool TryToInt16(Variant v, out short r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((short)l);
        return ok;
    }

    public static bool TryToUInt16(Variant v, out ushort r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((ushort)l);
        return ok;
    }

    public static bool TryToInt32(Variant v, out int r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((int)l);
        return ok;
    }

    public static bool TryToUInt32(Variant v, out uint r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((uint)l);
        return ok;
    }

    public static bool TryToUInt64(Variant v, out ulong r)
    {
        var ok = TryToInt64(v, out var l);
        r = unchecked((ulong)l);
        return ok;
    }

    public static bool TryToDouble(Variant v, out double r)
    {
        if (v.Type == VariantType.Real)
        {
            r = v.AsDouble();
            return true;
        }

        return TryNumber(v, out _, out r, out _);
    }

    public static bool TryToSingle(Variant v, out float r)
    {
        var ok = TryToDouble(v, out var d);
        r = (float)d;
        return ok;
    }

    public static bool TryToEnum<T>(Variant v, out T r)
        where T : struct, Enum
    {
        var ok = TryToInt64(v, out var l);
        switch (Unsafe.SizeOf<T>())
        {
            case 1:
                var b = unchecked((byte)l);
                r = Unsafe.As<byte, T>(ref b);
                break;
            case 2:
                var s = unchecked((ushort)l);
                r = Unsafe.As<ushort, T>(ref s);
                break;
            case 4:
                var i = unchecked((uint)l);
                r = Unsafe.As<uint, T>(ref i);
                break;
            default:
                r = Unsafe.As<long, T>(ref l);
                break;
        }

        return ok;
    }

    [RequiresUnreferencedCode(RpcReflection.Message)]
    [RequiresDynamicCode(RpcReflection.Message)]
    internal static bool TryToNullableByReflection<T>(Variant v, out T? r)
        where T : struct
    {
        if (v.IsNil)
        {
            r = null;
            return true;
        }

        var ok = Cache<T>.Func(v, out var value);
        r = ok ? value : null;
        return ok;
    }

    /// <summary>NIL to null, anything else through <paramref name="convert"/> (the converter of <typeparamref name="T"/>).</summary>
    public static bool TryToNullable<T>(Variant v, out T? r, TryConvertFunc<T> convert)
        where T : struct
    {
        ArgumentNullException.ThrowIfNull(convert);
        if (v.IsNil)
        {
            r = null;
            return true;
        }

        var ok = convert(v, out var value);
        r = ok ? value : null;
        return ok;
    }

    // ---- strings -----------------------------------------------------------------------------------------------

    public static bool TryToString(Variant v, out string r)
    {
        switch (v.Type)
        {
            case VariantType.String:
                r = v.AsString();
                return true;
            case VariantType.NodePath:
                r = v.AsNodePath().ToString();
                return true;
            default:
                r = null!;
                return false;
        }
    }

    public static bool TryToNodePath(Variant v, out NodePath r)
    {
        switch (v.Type)
        {
            case VariantType.NodePath:
                r = v.AsNodePath();
                return true;
            case VariantType.String:
                r = new NodePath(v.AsString());
                return true;
            default:
                r = null!;
                return false;
        }
    }

    // ---- exact types -------------------------------------------------------------------------------------------

    private static bool Exact<T>(in Variant v, VariantType type, Func<Variant, T> read, out T r)
    {
        if (v.Type == type)
        {
            r = read(v);
            return true;
        }

        r = default!;
        return false;
    }

    public static bool TryToVector2(Variant v, out Vector2 r) => Exact(v, VariantType.Vector2, static x => x.AsVector2(), out r);

    public static bool TryToRect2(Variant v, out Rect2 r) => Exact(v, VariantType.Rect2, static x => x.AsRect2(), out r);

    public static bool TryToVector3(Variant v, out Vector3 r) => Exact(v, VariantType.Vector3, static x => x.AsVector3(), out r);

    public static bool TryToTransform2D(Variant v, out Transform2D r) => Exact(v, VariantType.Transform2D, static x => x.AsTransform2D(), out r);

    public static bool TryToPlane(Variant v, out Plane r) => Exact(v, VariantType.Plane, static x => x.AsPlane(), out r);

    public static bool TryToQuat(Variant v, out Quat r) => Exact(v, VariantType.Quat, static x => x.AsQuat(), out r);

    public static bool TryToAABB(Variant v, out AABB r) => Exact(v, VariantType.AABB, static x => x.AsAABB(), out r);

    public static bool TryToBasis(Variant v, out Basis r) => Exact(v, VariantType.Basis, static x => x.AsBasis(), out r);

    public static bool TryToTransform(Variant v, out Transform r) => Exact(v, VariantType.Transform, static x => x.AsTransform(), out r);

    public static bool TryToColor(Variant v, out Color r) => Exact(v, VariantType.Color, static x => x.AsColor(), out r);

    public static bool TryToRID(Variant v, out RID r) => Exact(v, VariantType.RID, static x => x.AsRID(), out r);

    public static bool TryToDictionary(Variant v, out VariantDictionary r) => Exact(v, VariantType.Dictionary, static x => x.AsDictionary(), out r);

    // ---- objects -----------------------------------------------------------------------------------------------

    public static bool TryToObject(Variant v, out GodotObjectValue? r)
    {
        switch (v.Type)
        {
            case VariantType.Nil:
                r = null;
                return true;
            case VariantType.Object:
                r = v.AsObject();
                return true;
            default:
                r = null;
                return false;
        }
    }

    public static bool TryToEncodedObjectAsId(Variant v, out EncodedObjectAsId? r)
    {
        var ok = TryToObject(v, out var o);
        r = o as EncodedObjectAsId;
        return ok && (o is null || r is not null);
    }

    public static bool TryToObjectData(Variant v, out ObjectData? r)
    {
        var ok = TryToObject(v, out var o);
        r = o as ObjectData;
        return ok && (o is null || r is not null);
    }

    // ---- containers --------------------------------------------------------------------------------------------

    public static bool TryToArray(Variant v, out VariantArray r)
    {
        switch (v.Type)
        {
            case VariantType.Array:
                r = v.AsArray();
                return true;
            case VariantType.PoolByteArray:
                r = ToArray(v.AsByteArray(), static x => (long)x);
                return true;
            case VariantType.PoolIntArray:
                r = ToArray(v.AsIntArray(), static x => (long)x);
                return true;
            case VariantType.PoolRealArray:
                r = ToArray(v.AsRealArray(), static x => (double)x);
                return true;
            case VariantType.PoolStringArray:
                r = ToArray(v.AsStringArray(), static x => x);
                return true;
            case VariantType.PoolVector2Array:
                r = ToArray(v.AsVector2Array(), static x => x);
                return true;
            case VariantType.PoolVector3Array:
                r = ToArray(v.AsVector3Array(), static x => x);
                return true;
            case VariantType.PoolColorArray:
                r = ToArray(v.AsColorArray(), static x => x);
                return true;
            default:
                r = null!;
                return false;
        }
    }

    private static VariantArray ToArray<T>(T[] items, Func<T, Variant> convert)
    {
        var a = new VariantArray(items.Length);
        foreach (var x in items)
        {
            a.Add(convert(x));
        }

        return a;
    }

    private static bool FromArray<T>(in Variant v, VariantType poolType, Func<Variant, T[]> readPool, TryConvertFunc<T> element, out T[] r)
    {
        if (v.Type == poolType)
        {
            r = readPool(v);
            return true;
        }

        if (v.Type != VariantType.Array)
        {
            r = null!;
            return false;
        }

        var a = v.AsArray();
        var result = new T[a.Count];
        for (var i = 0; i < result.Length; i++)
        {
            if (!element(a[i], out result[i]))
            {
                r = null!;
                return false;
            }
        }

        r = result;
        return true;
    }

    public static bool TryToByteArray(Variant v, out byte[] r) => FromArray(v, VariantType.PoolByteArray, static x => x.AsByteArray(), TryToByte, out r);

    public static bool TryToIntArray(Variant v, out int[] r) => FromArray(v, VariantType.PoolIntArray, static x => x.AsIntArray(), TryToInt32, out r);

    public static bool TryToRealArray(Variant v, out float[] r) => FromArray(v, VariantType.PoolRealArray, static x => x.AsRealArray(), TryToSingle, out r);

    public static bool TryToStringArray(Variant v, out string[] r) =>
        FromArray(v, VariantType.PoolStringArray, static x => x.AsStringArray(), static (Variant e, out string s) => TryToString(e, out s), out r);

    public static bool TryToVector2Array(Variant v, out Vector2[] r) => FromArray(v, VariantType.PoolVector2Array, static x => x.AsVector2Array(), TryToVector2, out r);

    public static bool TryToVector3Array(Variant v, out Vector3[] r) => FromArray(v, VariantType.PoolVector3Array, static x => x.AsVector3Array(), TryToVector3, out r);

    public static bool TryToColorArray(Variant v, out Color[] r) => FromArray(v, VariantType.PoolColorArray, static x => x.AsColorArray(), TryToColor, out r);
}
