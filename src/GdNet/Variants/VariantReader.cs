using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace GdNet.Variants;

/// <summary>
/// Decodes Godot 3 binary Variants from a span (spec §1.8), applying Godot's checks in Godot's order. Never throws for
/// any input: every failure sets <see cref="Error"/> and returns false. Every length and count is checked against the
/// bytes left (in <see langword="long"/>) before anything is allocated, and recursion is bounded by the depth limit and
/// by the remaining stack.
/// </summary>
internal ref struct VariantReader
{
    internal const uint Flag64 = 1u << 16;
    internal const int TypeCount = 27;

    // Initial capacity cap for Array/Dictionary: the count is already checked against the bytes left, but a lying count
    // must not make us reserve memory for elements that are not there; real elements grow the list as they decode.
    private const int MaxInitialCapacity = 1024;

    // Strings up to this many bytes are checked for plain ASCII byte by byte before the general UTF-8 path.
    private const int ShortStringLimit = 32;

    private readonly ReadOnlySpan<byte> _source;
    private readonly bool _allowObjects;
    private readonly int _maxDepth;
    private readonly Func<string, bool>? _isKnownClass;
    private int _pos;
    private VariantError _error;
    private VariantKeyComparer? _keyComparer; // shared by every large Dictionary of one decode, for its hash cache

    public VariantReader(ReadOnlySpan<byte> source, in VariantReadOptions options)
    {
        _source = source;
        _allowObjects = options.AllowObjects;
        _maxDepth = options.MaxDepth;
        _isKnownClass = options.IsKnownClass;
    }

    /// <summary>Bytes read so far (after a successful read: the value's encoded length).</summary>
    public readonly int Position => _pos;

    /// <summary>Why the last read failed.</summary>
    public readonly VariantError Error => _error;

    private readonly int Remaining => _source.Length - _pos;

    /// <summary>Reads one value nested <paramref name="depth"/> containers deep (0 at top level).</summary>
    public bool TryReadValue(int depth, out Variant value)
    {
        value = default;
        if (depth > _maxDepth)
        {
            return Fail(VariantErrorReason.TooDeep, _pos, GdNet.Error.OutOfMemory, depth, _maxDepth);
        }

        var start = _pos;
        if (Remaining < 4)
        {
            return Fail(VariantErrorReason.Truncated, _pos, GdNet.Error.InvalidData, 4, Remaining);
        }

        // Only the low byte selects the type; the other bits are ignored except FLAG_64 for INT, REAL and OBJECT.
        var header = BinaryPrimitives.ReadUInt32LittleEndian(_source[_pos..]);
        var typeId = header & 0xFF;
        if (typeId >= TypeCount)
        {
            return Fail(VariantErrorReason.UnknownType, start, GdNet.Error.InvalidData, typeId);
        }

        _pos += 4;
        var type = (VariantType)typeId;
        var wide = (header & Flag64) != 0;
        switch (type)
        {
            case VariantType.Nil:
                return true;

            case VariantType.Bool:
                if (!Need(4, type))
                {
                    return false;
                }

                value = Variant.From(ReadUInt32() != 0);
                return true;

            case VariantType.Int:
                if (!Need(wide ? 8 : 4, type))
                {
                    return false;
                }

                value = Variant.From(wide ? ReadInt64() : ReadInt32());
                return true;

            case VariantType.Real:
                if (!Need(wide ? 8 : 4, type))
                {
                    return false;
                }

                value = Variant.From(wide ? ReadDouble() : ReadSingle());
                return true;

            case VariantType.String:
                if (!TryReadString(out var text))
                {
                    return false;
                }

                value = Variant.From(text);
                return true;

            case VariantType.NodePath:
                return TryReadNodePath(out value);

            case VariantType.RID:
                // No payload: an RID is process-local, so the decoded one is empty.
                value = Variant.From(default(RID));
                return true;

            case VariantType.Object:
                return wide ? TryReadObjectAsId(out value) : TryReadFullObject(start, depth, out value);

            case VariantType.Dictionary:
                return TryReadDictionary(depth, out value);

            case VariantType.Array:
                return TryReadArray(depth, out value);

            default:
                return TryReadFixedOrPool(type, out value);
        }
    }

    /// <summary>The math types (fixed-size float32 payloads) and the pools, kept out of the hot switch above.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReadFixedOrPool(VariantType type, out Variant value)
    {
        value = default;
        switch (type)
        {
            case VariantType.Vector2:
                if (!Need(8, type))
                {
                    return false;
                }

                value = Variant.From(ReadVector2());
                return true;

            case VariantType.Rect2:
                if (!Need(16, type))
                {
                    return false;
                }

                value = Variant.From(new Rect2(ReadVector2(), ReadVector2()));
                return true;

            case VariantType.Vector3:
                if (!Need(12, type))
                {
                    return false;
                }

                value = Variant.From(ReadVector3());
                return true;

            case VariantType.Transform2D:
                if (!Need(24, type))
                {
                    return false;
                }

                value = Variant.From(new Transform2D(ReadVector2(), ReadVector2(), ReadVector2()));
                return true;

            case VariantType.Plane:
                if (!Need(16, type))
                {
                    return false;
                }

                value = Variant.From(new Plane(ReadVector3(), ReadSingle()));
                return true;

            case VariantType.Quat:
                if (!Need(16, type))
                {
                    return false;
                }

                value = Variant.From(new Quat(ReadSingle(), ReadSingle(), ReadSingle(), ReadSingle()));
                return true;

            case VariantType.AABB:
                if (!Need(24, type))
                {
                    return false;
                }

                value = Variant.From(new AABB(ReadVector3(), ReadVector3()));
                return true;

            case VariantType.Basis:
                if (!Need(36, type))
                {
                    return false;
                }

                value = Variant.From(ReadBasis());
                return true;

            case VariantType.Transform:
                if (!Need(48, type))
                {
                    return false;
                }

                value = Variant.From(new Transform(ReadBasis(), ReadVector3()));
                return true;

            case VariantType.Color:
                if (!Need(16, type))
                {
                    return false;
                }

                value = Variant.From(new Color(ReadSingle(), ReadSingle(), ReadSingle(), ReadSingle()));
                return true;

            case VariantType.PoolByteArray:
                return TryReadPoolByteArray(out value);

            case VariantType.PoolIntArray:
                if (!TryReadPool<int>(type, out var ints))
                {
                    return false;
                }

                value = Variant.From(ints);
                return true;

            case VariantType.PoolRealArray:
                if (!TryReadPool<float>(type, out var reals))
                {
                    return false;
                }

                value = Variant.From(reals);
                return true;

            case VariantType.PoolStringArray:
                return TryReadPoolStringArray(out value);

            case VariantType.PoolVector2Array:
                if (!TryReadPool<Vector2>(type, out var v2))
                {
                    return false;
                }

                value = Variant.From(v2);
                return true;

            case VariantType.PoolVector3Array:
                if (!TryReadPool<Vector3>(type, out var v3))
                {
                    return false;
                }

                value = Variant.From(v3);
                return true;

            case VariantType.PoolColorArray:
                if (!TryReadPool<Color>(type, out var colors))
                {
                    return false;
                }

                value = Variant.From(colors);
                return true;

            default:
                return Fail(VariantErrorReason.UnknownType, _pos - 4, GdNet.Error.InvalidData, (long)type);
        }
    }

    // ---- strings ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Godot's string rule: u32 byte length, UTF-8 bytes, zero padding to a multiple of 4 that must be present (its
    /// content is not checked). A leading BOM is dropped and the text is cut at the first NUL, as Godot's UTF-8 parser does.
    /// </summary>
    private bool TryReadString(out string text)
    {
        text = string.Empty;
        if (Remaining < 4)
        {
            return Fail(VariantErrorReason.Truncated, _pos, GdNet.Error.InvalidData, 4, Remaining, VariantType.String);
        }

        var length = ReadInt32();
        if (length < 0)
        {
            return Fail(VariantErrorReason.InvalidLength, _pos, GdNet.Error.FileEof, length, Remaining, VariantType.String);
        }

        var padded = Pad4(length);
        if (padded > Remaining)
        {
            return Fail(VariantErrorReason.InvalidLength, _pos, GdNet.Error.FileEof, length, Remaining, VariantType.String);
        }

        if (!TryDecodeUtf8(_source.Slice(_pos, length), out text))
        {
            return Fail(VariantErrorReason.InvalidUtf8, _pos, GdNet.Error.InvalidData, length, Remaining, VariantType.String);
        }

        _pos += (int)padded;
        return true;
    }

    private static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, out string text)
    {
        // Fast path for short ASCII without NUL (names, keys): no BOM, nothing to cut, nothing to validate.
        if (bytes.Length <= ShortStringLimit)
        {
            var ascii = true;
            foreach (var b in bytes)
            {
                if ((uint)(b - 1) >= 0x7F)
                {
                    ascii = false;
                    break;
                }
            }

            if (ascii)
            {
                text = bytes.IsEmpty ? string.Empty : Encoding.Latin1.GetString(bytes);
                return true;
            }
        }

        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
        {
            bytes = bytes[3..];
        }

        var nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
        {
            bytes = bytes[..nul];
        }

        if (bytes.IsEmpty)
        {
            text = string.Empty;
            return true;
        }

        // Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). Godot 3.2.3 is laxer; see
        // docs on VariantCodec and the tests named *_GdNetRejects*.
        if (!Utf8.IsValid(bytes))
        {
            text = string.Empty;
            return false;
        }

        text = Encoding.UTF8.GetString(bytes);
        return true;
    }

    // ---- NodePath ---------------------------------------------------------------------------------------------

    private bool TryReadNodePath(out Variant value)
    {
        value = default;
        if (Remaining < 4)
        {
            return Fail(VariantErrorReason.Truncated, _pos, GdNet.Error.InvalidData, 4, Remaining, VariantType.NodePath);
        }

        var nameWord = BinaryPrimitives.ReadUInt32LittleEndian(_source[_pos..]);
        if ((nameWord & 0x8000_0000u) == 0)
        {
            return Fail(VariantErrorReason.InvalidNodePath, _pos, GdNet.Error.InvalidData, nameWord, 0, VariantType.NodePath);
        }

        if (Remaining < 12)
        {
            return Fail(VariantErrorReason.Truncated, _pos, GdNet.Error.InvalidData, 12, Remaining, VariantType.NodePath);
        }

        var nameCount = nameWord & 0x7FFF_FFFFu;
        var subnameCount = BinaryPrimitives.ReadUInt32LittleEndian(_source[(_pos + 4)..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(_source[(_pos + 8)..]);
        _pos += 12;

        // Godot's counts are unsigned 32-bit and wrap: flag bit 1 (an obsolete "property" part) adds one subname, and a
        // subname count of 0xFFFFFFFF with one name adds up to 0 strings.
        if ((flags & 2) != 0)
        {
            subnameCount = unchecked(subnameCount + 1);
        }

        var total = unchecked(nameCount + subnameCount);
        if ((long)total * 4 > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, total, Remaining, VariantType.NodePath);
        }

        var names = (int)Math.Min(nameCount, total);
        var subnames = (int)total - names;
        var nameArray = names == 0 ? [] : new string[names];
        var subnameArray = subnames == 0 ? [] : new string[subnames];
        for (var i = 0; i < (int)total; i++)
        {
            if (!TryReadString(out var part))
            {
                return false;
            }

            if (i < names)
            {
                nameArray[i] = part;
            }
            else
            {
                subnameArray[i - names] = part;
            }
        }

        // Godot's NodePath(names, subnames, absolute) with no parts is the empty path, even when flagged absolute.
        var path = total == 0
            ? NodePath.Empty
            : new NodePath(ImmutableCollectionsMarshal.AsImmutableArray(nameArray), ImmutableCollectionsMarshal.AsImmutableArray(subnameArray), (flags & 1) != 0);
        value = Variant.From(path);
        return true;
    }

    // ---- objects ----------------------------------------------------------------------------------------------

    private bool TryReadObjectAsId(out Variant value)
    {
        value = default;
        if (!Need(8, VariantType.Object))
        {
            return false;
        }

        var id = ReadUInt64();
        value = Variant.FromObject(id == 0 ? null : new EncodedObjectAsId(id));
        return true;
    }

    private bool TryReadFullObject(int start, int depth, out Variant value)
    {
        value = default;
        if (!_allowObjects)
        {
            return Fail(VariantErrorReason.ObjectsNotAllowed, start, GdNet.Error.Unauthorized, type: VariantType.Object);
        }

        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            return Fail(VariantErrorReason.TooDeep, start, GdNet.Error.OutOfMemory, depth, _maxDepth, VariantType.Object);
        }

        var classOffset = _pos;
        if (!TryReadString(out var className))
        {
            return false;
        }

        if (className.Length == 0)
        {
            value = Variant.FromObject(null);
            return true;
        }

        if (_isKnownClass is not null && !_isKnownClass(className))
        {
            return Fail(VariantErrorReason.UnknownClass, classOffset, GdNet.Error.Unavailable, type: VariantType.Object);
        }

        if (!Need(4, VariantType.Object))
        {
            return false;
        }

        // A negative count reads no properties, as in Godot.
        var count = ReadInt32();
        if (count > 0 && (long)count * VariantError.MinimumElementSize(VariantType.Object) > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, count, Remaining, VariantType.Object);
        }

        var properties = count > 0 ? new KeyValuePair<string, Variant>[count] : [];
        for (var i = 0; i < properties.Length; i++)
        {
            if (!TryReadString(out var name) || !TryReadValue(depth + 1, out var propertyValue))
            {
                return false;
            }

            properties[i] = new KeyValuePair<string, Variant>(name, propertyValue);
        }

        value = Variant.FromObject(new ObjectData(className, properties));
        return true;
    }

    // ---- containers -------------------------------------------------------------------------------------------

    private bool TryReadDictionary(int depth, out Variant value)
    {
        value = default;
        if (!TryReadContainerCount(VariantType.Dictionary, depth, out var count))
        {
            return false;
        }

        var dictionary = new VariantDictionary(Math.Min(count, MaxInitialCapacity));
        Dictionary<Variant, int>? index = null;
        var stackExhausted = false;
        for (var i = 0; i < count; i++)
        {
            var keyOffset = _pos;
            if (!TryReadValue(depth + 1, out var key) || !TryReadValue(depth + 1, out var item))
            {
                return false;
            }

            // A repeated key keeps its first position and takes the last value, as in Godot. Small dictionaries are
            // searched linearly; larger ones through an index whose hashes are seeded and cached per decoded container,
            // so crafted keys can neither collide on purpose nor make nested keys be hashed again at every level.
            int existing;
            if (index is null && dictionary.Count < VariantDictionary.IndexThreshold)
            {
                existing = LinearFind(dictionary.EntriesSpan, key, ref stackExhausted);
            }
            else
            {
                index ??= BuildKeyIndex(dictionary);
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(index, key, out var exists);
                existing = exists ? slot : -1;
                if (!exists)
                {
                    slot = dictionary.Count;
                }

                stackExhausted |= ((VariantKeyComparer)index.Comparer).StackExhausted;
            }

            if (stackExhausted)
            {
                return Fail(VariantErrorReason.TooDeep, keyOffset, GdNet.Error.OutOfMemory, depth + 1, _maxDepth, VariantType.Dictionary);
            }

            if (existing >= 0)
            {
                dictionary.SetValueAt(existing, item);
            }
            else
            {
                dictionary.AppendUnchecked(key, item);
            }
        }

        value = Variant.From(dictionary);
        return true;
    }

    private static int LinearFind(ReadOnlySpan<KeyValuePair<Variant, Variant>> entries, in Variant key, ref bool stackExhausted)
    {
        for (var i = 0; i < entries.Length; i++)
        {
            if (Variant.DeepEquals(entries[i].Key, key, ref stackExhausted))
            {
                return i;
            }
        }

        return -1;
    }

    private Dictionary<Variant, int> BuildKeyIndex(VariantDictionary dictionary)
    {
        _keyComparer ??= new VariantKeyComparer();
        var entries = dictionary.EntriesSpan;
        var index = new Dictionary<Variant, int>(Math.Max(entries.Length * 2, 16), _keyComparer);
        for (var i = 0; i < entries.Length; i++)
        {
            index.Add(entries[i].Key, i);
        }

        return index;
    }

    private bool TryReadArray(int depth, out Variant value)
    {
        value = default;
        if (!TryReadContainerCount(VariantType.Array, depth, out var count))
        {
            return false;
        }

        var array = new VariantArray(Math.Min(count, MaxInitialCapacity));
        for (var i = 0; i < count; i++)
        {
            if (!TryReadValue(depth + 1, out var item))
            {
                return false;
            }

            array.Add(item);
        }

        value = Variant.From(array);
        return true;
    }

    /// <summary>A Dictionary/Array count: 31 bits (bit 31, the old "shared" flag, is ignored), checked against the bytes left.</summary>
    private bool TryReadContainerCount(VariantType type, int depth, out int count)
    {
        count = 0;
        if (!Need(4, type))
        {
            return false;
        }

        count = (int)(ReadUInt32() & 0x7FFF_FFFFu);

        // Godot has no up-front check, but every element needs at least a 4-byte header (8 for a key and a value), so
        // a count beyond this fails in Godot too, only later.
        if ((long)count * VariantError.MinimumElementSize(type) > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, count, Remaining, type);
        }

        if (count > 0 && !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            return Fail(VariantErrorReason.TooDeep, _pos, GdNet.Error.OutOfMemory, depth, _maxDepth, type);
        }

        return true;
    }

    // ---- pools ------------------------------------------------------------------------------------------------

    private bool TryReadPoolByteArray(out Variant value)
    {
        value = default;
        if (!Need(4, VariantType.PoolByteArray))
        {
            return false;
        }

        var count = ReadInt32();
        if (count < 0 || count > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, count, Remaining, VariantType.PoolByteArray);
        }

        var bytes = _source.Slice(_pos, count).ToArray();

        // Godot does not require the padding, yet counts it as consumed. We never report more than the buffer holds.
        _pos += (int)Math.Min(Pad4(count), Remaining);
        value = Variant.From(bytes);
        return true;
    }

    /// <summary>A pool of fixed-size elements made of little-endian 32-bit words (int, float, Vector2/3, Color).</summary>
    private bool TryReadPool<T>(VariantType type, out T[] items)
        where T : unmanaged
    {
        items = [];
        if (!Need(4, type))
        {
            return false;
        }

        var count = ReadInt32();
        var byteCount = (long)count * Unsafe.SizeOf<T>();
        if (count < 0 || byteCount > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, count, Remaining, type);
        }

        if (count == 0)
        {
            return true;
        }

        items = new T[count];
        var destination = MemoryMarshal.AsBytes(items.AsSpan());
        _source.Slice(_pos, (int)byteCount).CopyTo(destination);
        if (!BitConverter.IsLittleEndian)
        {
            var words = MemoryMarshal.Cast<byte, int>(destination);
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        _pos += (int)byteCount;
        return true;
    }

    private bool TryReadPoolStringArray(out Variant value)
    {
        value = default;
        if (!Need(4, VariantType.PoolStringArray))
        {
            return false;
        }

        // A negative count gives an empty array, as in Godot.
        var count = ReadInt32();
        if (count > 0 && (long)count * 4 > Remaining)
        {
            return Fail(VariantErrorReason.InvalidCount, _pos, GdNet.Error.InvalidData, count, Remaining, VariantType.PoolStringArray);
        }

        var strings = count > 0 ? new string[count] : [];
        for (var i = 0; i < strings.Length; i++)
        {
            // Elements are written with a trailing NUL that the length counts; the string rule cuts it off.
            if (!TryReadString(out strings[i]))
            {
                return false;
            }
        }

        value = Variant.From(strings);
        return true;
    }

    // ---- primitives -------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Need(int bytes, VariantType type)
    {
        if (Remaining >= bytes)
        {
            return true;
        }

        return Fail(VariantErrorReason.Truncated, _pos, GdNet.Error.InvalidData, bytes, Remaining, type);
    }

    private bool Fail(VariantErrorReason reason, int offset, Error godotError, long value = 0, long limit = 0, VariantType type = VariantType.Nil)
    {
        _error = new VariantError(reason, offset, godotError, value, limit, type);
        return false;
    }

    private static long Pad4(long length) => (length + 3) & ~3L;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint ReadUInt32()
    {
        var v = BinaryPrimitives.ReadUInt32LittleEndian(_source[_pos..]);
        _pos += 4;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadInt32()
    {
        var v = BinaryPrimitives.ReadInt32LittleEndian(_source[_pos..]);
        _pos += 4;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long ReadInt64()
    {
        var v = BinaryPrimitives.ReadInt64LittleEndian(_source[_pos..]);
        _pos += 8;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadUInt64()
    {
        var v = BinaryPrimitives.ReadUInt64LittleEndian(_source[_pos..]);
        _pos += 8;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float ReadSingle()
    {
        var v = BinaryPrimitives.ReadSingleLittleEndian(_source[_pos..]);
        _pos += 4;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double ReadDouble()
    {
        var v = BinaryPrimitives.ReadDoubleLittleEndian(_source[_pos..]);
        _pos += 8;
        return v;
    }

    private Vector2 ReadVector2() => new(ReadSingle(), ReadSingle());

    private Vector3 ReadVector3() => new(ReadSingle(), ReadSingle(), ReadSingle());

    /// <summary>The wire carries the basis rows; <see cref="Basis"/> holds the column axes.</summary>
    private Basis ReadBasis() => Basis.FromRows(ReadVector3(), ReadVector3(), ReadVector3());
}
