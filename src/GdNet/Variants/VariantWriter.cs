using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace GdNet.Variants;

/// <summary>
/// Encodes Godot 3 binary Variants into a span without allocating (spec §1.2–§1.7), byte-exact with Godot 3.2.3 except
/// that padding is always zero. <see cref="Measure"/> gives the exact size of the same encoding.
/// </summary>
[SkipLocalsInit]
internal ref struct VariantWriter
{
    private const uint Flag64 = VariantReader.Flag64;
    private const uint ObjectAsIdHeader = (uint)VariantType.Object | Flag64;
    private const int MaxDepth = VariantCodec.DefaultMaxDepth;

    private readonly Span<byte> _destination;
    private readonly bool _fullObjects;
    private int _pos;

    public VariantWriter(Span<byte> destination, bool fullObjects)
    {
        _destination = destination;
        _fullObjects = fullObjects;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _pos;

    /// <summary>Set when writing failed because the value nests deeper than <see cref="VariantCodec.DefaultMaxDepth"/>.</summary>
    public bool TooDeep { get; private set; }

    private readonly int Free => _destination.Length - _pos;

    /// <summary>Writes one value; false when the destination is too small or (see <see cref="TooDeep"/>) the value too deep.</summary>
    public bool TryWriteValue(in Variant value, int depth)
    {
        if (depth > MaxDepth)
        {
            TooDeep = true;
            return false;
        }

        var type = value.Type;
        switch (type)
        {
            case VariantType.Nil:
                return TryWriteUInt32(0);

            case VariantType.Bool:
                return Ensure(8) && Put((uint)type) && Put(value.AsBool() ? 1u : 0u);

            case VariantType.Int:
                {
                    var v = value.AsInt64();
                    if (v is >= int.MinValue and <= int.MaxValue)
                    {
                        return Ensure(8) && Put((uint)type) && Put((uint)(int)v);
                    }

                    if (!Ensure(12))
                    {
                        return false;
                    }

                    Put((uint)type | Flag64);
                    BinaryPrimitives.WriteInt64LittleEndian(_destination[_pos..], v);
                    _pos += 8;
                    return true;
                }

            case VariantType.Real:
                {
                    // Godot writes a float when the double survives the round trip through float (so NaN never does).
                    var v = value.AsDouble();
                    var f = (float)v;
                    if ((double)f == v)
                    {
                        return Ensure(8) && Put((uint)type) && Put(f);
                    }

                    if (!Ensure(12))
                    {
                        return false;
                    }

                    Put((uint)type | Flag64);
                    BinaryPrimitives.WriteDoubleLittleEndian(_destination[_pos..], v);
                    _pos += 8;
                    return true;
                }

            case VariantType.String:
                return TryWriteUInt32((uint)type) && TryWriteString(value.AsString(), false);

            case VariantType.Vector2:
                {
                    var v = value.AsVector2();
                    return Ensure(12) && Put((uint)type) && Put(v);
                }

            case VariantType.Rect2:
                {
                    var v = value.AsRect2();
                    return Ensure(20) && Put((uint)type) && Put(v.Position) && Put(v.Size);
                }

            case VariantType.Vector3:
                {
                    var v = value.AsVector3();
                    return Ensure(16) && Put((uint)type) && Put(v);
                }

            case VariantType.Transform2D:
                {
                    var v = value.AsTransform2D();
                    return Ensure(28) && Put((uint)type) && Put(v.X) && Put(v.Y) && Put(v.Origin);
                }

            case VariantType.Plane:
                {
                    var v = value.AsPlane();
                    return Ensure(20) && Put((uint)type) && Put(v.Normal) && Put(v.D);
                }

            case VariantType.Quat:
                {
                    var v = value.AsQuat();
                    return Ensure(20) && Put((uint)type) && Put(v.X) && Put(v.Y) && Put(v.Z) && Put(v.W);
                }

            case VariantType.AABB:
                {
                    var v = value.AsAABB();
                    return Ensure(28) && Put((uint)type) && Put(v.Position) && Put(v.Size);
                }

            case VariantType.Basis:
                return Ensure(40) && Put((uint)type) && Put(value.AsBasis());

            case VariantType.Transform:
                {
                    var v = value.AsTransform();
                    return Ensure(52) && Put((uint)type) && Put(v.Basis) && Put(v.Origin);
                }

            case VariantType.Color:
                {
                    var v = value.AsColor();
                    return Ensure(20) && Put((uint)type) && Put(v.R) && Put(v.G) && Put(v.B) && Put(v.A);
                }

            case VariantType.NodePath:
                return TryWriteNodePath(value.AsNodePath());

            case VariantType.RID:
                return TryWriteUInt32((uint)type);

            case VariantType.Object:
                return TryWriteObject(value.AsObject(), depth);

            case VariantType.Dictionary:
                return TryWriteDictionary(value.AsDictionary(), depth);

            case VariantType.Array:
                return TryWriteArray(value.AsArray(), depth);

            case VariantType.PoolByteArray:
                {
                    var bytes = value.AsByteArray();
                    var padded = Pad4(bytes.Length);
                    if (!Ensure(8 + padded))
                    {
                        return false;
                    }

                    Put((uint)type);
                    Put((uint)bytes.Length);
                    bytes.CopyTo(_destination[_pos..]);
                    _destination.Slice(_pos + bytes.Length, padded - bytes.Length).Clear();
                    _pos += padded;
                    return true;
                }

            case VariantType.PoolIntArray:
                return TryWritePool(type, value.AsIntArray());

            case VariantType.PoolRealArray:
                return TryWritePool(type, value.AsRealArray());

            case VariantType.PoolStringArray:
                {
                    var strings = value.AsStringArray();
                    if (!Ensure(8))
                    {
                        return false;
                    }

                    Put((uint)type);
                    Put((uint)strings.Length);
                    foreach (var s in strings)
                    {
                        if (!TryWriteString(s, true))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            case VariantType.PoolVector2Array:
                return TryWritePool(type, value.AsVector2Array());

            case VariantType.PoolVector3Array:
                return TryWritePool(type, value.AsVector3Array());

            case VariantType.PoolColorArray:
                return TryWritePool(type, value.AsColorArray());

            default:
                return false;
        }
    }

    // ---- compound types ---------------------------------------------------------------------------------------

    /// <summary>u32 byte length + UTF-8 + zero padding; pool elements carry a trailing NUL that the length counts.</summary>
    private bool TryWriteString(string text, bool withNul)
    {
        if (!Ensure(4))
        {
            return false;
        }

        var body = _destination[(_pos + 4)..];
        var status = Utf8.FromUtf16(text, body, out _, out var written, replaceInvalidSequences: true);
        if (status != OperationStatus.Done)
        {
            return false;
        }

        var length = withNul ? written + 1 : written;
        var padded = Pad4(length);
        if (padded > body.Length)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(_destination[_pos..], (uint)length);
        body[written..padded].Clear();
        _pos += 4 + padded;
        return true;
    }

    private bool TryWriteNodePath(NodePath path)
    {
        if (!Ensure(16))
        {
            return false;
        }

        Put((uint)VariantType.NodePath);
        Put((uint)path.Names.Length | 0x8000_0000u);
        Put((uint)path.Subnames.Length);
        Put(path.IsAbsolute ? 1u : 0u);
        foreach (var name in path.Names)
        {
            if (!TryWriteString(name, false))
            {
                return false;
            }
        }

        foreach (var name in path.Subnames)
        {
            if (!TryWriteString(name, false))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryWriteObject(GodotObjectValue? obj, int depth)
    {
        switch (obj)
        {
            case null:
                // Godot 3.2.3 writes a null (or freed) object as NIL, in both modes.
                return TryWriteUInt32((uint)VariantType.Nil);

            case EncodedObjectAsId asId:
                return TryWriteObjectId(asId.ObjectId);

            case ObjectData data when _fullObjects:
                {
                    if (!TryWriteUInt32((uint)VariantType.Object) || !TryWriteString(data.ClassName, false) || !TryWriteUInt32((uint)data.Properties.Count))
                    {
                        return false;
                    }

                    var properties = data.Properties;
                    for (var i = 0; i < properties.Count; i++)
                    {
                        var property = properties[i];
                        if (!TryWriteString(property.Key, false) || !TryWriteValue(property.Value, depth + 1))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            default:
                // Not in full mode, an object is sent as its instance id; ObjectData has none, so it goes as id 0 (null).
                return TryWriteObjectId(0);
        }
    }

    private bool TryWriteObjectId(ulong id)
    {
        if (!Ensure(12))
        {
            return false;
        }

        Put(ObjectAsIdHeader);
        BinaryPrimitives.WriteUInt64LittleEndian(_destination[_pos..], id);
        _pos += 8;
        return true;
    }

    private bool TryWriteDictionary(VariantDictionary dictionary, int depth)
    {
        if (!Ensure(8))
        {
            return false;
        }

        Put((uint)VariantType.Dictionary);
        Put((uint)dictionary.Count);
        if (dictionary.Count > 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            TooDeep = true;
            return false;
        }

        foreach (var entry in dictionary)
        {
            if (!TryWriteValue(entry.Key, depth + 1) || !TryWriteValue(entry.Value, depth + 1))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryWriteArray(VariantArray array, int depth)
    {
        if (!Ensure(8))
        {
            return false;
        }

        Put((uint)VariantType.Array);
        Put((uint)array.Count);
        if (array.Count > 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            TooDeep = true;
            return false;
        }

        foreach (var item in array)
        {
            if (!TryWriteValue(item, depth + 1))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryWritePool<T>(VariantType type, T[] items)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(items.AsSpan());
        if (!Ensure(8 + (long)bytes.Length))
        {
            return false;
        }

        Put((uint)type);
        Put((uint)items.Length);
        var target = _destination.Slice(_pos, bytes.Length);
        bytes.CopyTo(target);
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<byte, int>(target);
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        _pos += bytes.Length;
        return true;
    }

    // ---- primitives (Put* assume Ensure was called) -----------------------------------------------------------

    private readonly bool Ensure(long bytes) => Free >= bytes;

    private bool TryWriteUInt32(uint value) => Ensure(4) && Put(value);

    private bool Put(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_destination[_pos..], value);
        _pos += 4;
        return true;
    }

    private bool Put(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_destination[_pos..], value);
        _pos += 4;
        return true;
    }

    private bool Put(Vector2 v) => Put(v.X) && Put(v.Y);

    private bool Put(Vector3 v) => Put(v.X) && Put(v.Y) && Put(v.Z);

    /// <summary>The basis rows, as on the wire.</summary>
    private bool Put(Basis b) => Put(b.Row0) && Put(b.Row1) && Put(b.Row2);

    private static int Pad4(int length) => (length + 3) & ~3;

    // ---- measuring --------------------------------------------------------------------------------------------

    /// <summary>
    /// The exact size <see cref="TryWriteValue"/> writes, or −1 when the value nests deeper than the limit. Stops adding
    /// once past <see cref="int.MaxValue"/> (the result is then just "too large").
    /// </summary>
    public static long Measure(in Variant value, bool fullObjects, int depth)
    {
        if (depth > MaxDepth)
        {
            return -1;
        }

        switch (value.Type)
        {
            case VariantType.Nil:
            case VariantType.RID:
                return 4;
            case VariantType.Bool:
                return 8;
            case VariantType.Int:
                return value.AsInt64() is >= int.MinValue and <= int.MaxValue ? 8 : 12;
            case VariantType.Real:
                {
                    var v = value.AsDouble();
                    return (double)(float)v == v ? 8 : 12;
                }

            case VariantType.String:
                return 4 + StringSize(value.AsString(), false);
            case VariantType.Vector2:
                return 12;
            case VariantType.Rect2:
            case VariantType.Plane:
            case VariantType.Quat:
            case VariantType.Color:
                return 20;
            case VariantType.Vector3:
                return 16;
            case VariantType.Transform2D:
            case VariantType.AABB:
                return 28;
            case VariantType.Basis:
                return 40;
            case VariantType.Transform:
                return 52;
            case VariantType.NodePath:
                {
                    var path = value.AsNodePath();
                    long size = 16;
                    foreach (var name in path.Names)
                    {
                        size += StringSize(name, false);
                    }

                    foreach (var name in path.Subnames)
                    {
                        size += StringSize(name, false);
                    }

                    return size;
                }

            case VariantType.Object:
                return MeasureObject(value.AsObject(), fullObjects, depth);
            case VariantType.Dictionary:
                {
                    var dictionary = value.AsDictionary();
                    if (dictionary.Count > 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack())
                    {
                        return -1;
                    }

                    long size = 8;
                    foreach (var entry in dictionary)
                    {
                        var key = Measure(entry.Key, fullObjects, depth + 1);
                        var item = key < 0 ? -1 : Measure(entry.Value, fullObjects, depth + 1);
                        if (item < 0)
                        {
                            return -1;
                        }

                        size += key + item;
                        if (size > int.MaxValue)
                        {
                            return size;
                        }
                    }

                    return size;
                }

            case VariantType.Array:
                {
                    var array = value.AsArray();
                    if (array.Count > 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack())
                    {
                        return -1;
                    }

                    long size = 8;
                    foreach (var item in array)
                    {
                        var itemSize = Measure(item, fullObjects, depth + 1);
                        if (itemSize < 0)
                        {
                            return -1;
                        }

                        size += itemSize;
                        if (size > int.MaxValue)
                        {
                            return size;
                        }
                    }

                    return size;
                }

            case VariantType.PoolByteArray:
                return 8 + (((long)value.AsByteArray().Length + 3) & ~3L);
            case VariantType.PoolIntArray:
                return 8 + (4L * value.AsIntArray().Length);
            case VariantType.PoolRealArray:
                return 8 + (4L * value.AsRealArray().Length);
            case VariantType.PoolStringArray:
                {
                    long size = 8;
                    foreach (var s in value.AsStringArray())
                    {
                        size += StringSize(s, true);
                    }

                    return size;
                }

            case VariantType.PoolVector2Array:
                return 8 + (8L * value.AsVector2Array().Length);
            case VariantType.PoolVector3Array:
                return 8 + (12L * value.AsVector3Array().Length);
            case VariantType.PoolColorArray:
                return 8 + (16L * value.AsColorArray().Length);
            default:
                return 4;
        }
    }

    private static long MeasureObject(GodotObjectValue? obj, bool fullObjects, int depth)
    {
        if (obj is null)
        {
            return 4;
        }

        if (obj is not ObjectData data || !fullObjects)
        {
            return 12;
        }

        var size = 4 + StringSize(data.ClassName, false) + 4;
        var properties = data.Properties;
        for (var i = 0; i < properties.Count; i++)
        {
            var property = properties[i];
            var valueSize = Measure(property.Value, fullObjects, depth + 1);
            if (valueSize < 0)
            {
                return -1;
            }

            size += StringSize(property.Key, false) + valueSize;
            if (size > int.MaxValue)
            {
                return size;
            }
        }

        return size;
    }

    /// <summary>Length word + UTF-8 bytes (+ NUL) + padding.</summary>
    private static long StringSize(string text, bool withNul)
    {
        long length = Encoding.UTF8.GetByteCount(text) + (withNul ? 1 : 0);
        return 4 + ((length + 3) & ~3L);
    }
}
