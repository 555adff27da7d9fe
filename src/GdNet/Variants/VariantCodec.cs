using GdNet.Internal;

namespace GdNet.Variants;

/// <summary>Options for decoding remote bytes with <see cref="VariantCodec"/>.</summary>
/// <remarks><c>default(VariantReadOptions)</c> equals <c>new VariantReadOptions()</c>: objects off, depth 1024.</remarks>
public readonly record struct VariantReadOptions
{
    // Stored relative to the default so that default(VariantReadOptions) (for example an optional parameter's
    // "= default") still means a depth limit of 1024, not 0.
    private readonly int _maxDepthOffset;

    public VariantReadOptions() { }

    /// <summary>
    /// Decode full objects (class name + properties) as <see cref="ObjectData"/>. Off by default (secure). Objects sent
    /// as instance ids decode to <see cref="EncodedObjectAsId"/> whatever this says, as in Godot.
    /// </summary>
    public bool AllowObjects { get; init; }

    /// <summary>
    /// Maximum nesting: a value nested more than this many containers deep is an error
    /// (<see cref="VariantErrorReason.TooDeep"/>). Default 1024, Godot 3.5's limit. Must not be negative.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int MaxDepth
    {
        get => VariantCodec.DefaultMaxDepth + _maxDepthOffset;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxDepthOffset = value - VariantCodec.DefaultMaxDepth;
        }
    }

    /// <summary>
    /// Optional check of a full object's class name, only used when <see cref="AllowObjects"/> is true. When it returns
    /// false, decoding fails with <see cref="VariantErrorReason.UnknownClass"/> (Godot's <c>ERR_UNAVAILABLE</c> for a class
    /// that is not registered). Null (the default) accepts every non-empty class name: GdNet never instantiates objects,
    /// so it does not need Godot's class list.
    /// </summary>
    public Func<string, bool>? IsKnownClass { get; init; }
}

/// <summary>
/// Godot 3's binary Variant codec: <c>var2bytes</c>/<c>bytes2var</c>, <c>encode_variant</c>/<c>decode_variant</c>
/// (spec §1). Byte-exact with Godot 3.2.3 for every type; the decoder applies Godot's checks in Godot's order and adds a
/// depth limit.
/// </summary>
/// <remarks>
/// <para><b>Decoding</b>: remote bytes go through <see cref="TryRead"/>, which never throws for any input bytes, never
/// allocates more than the input can justify (every length and count is checked against the bytes left before anything
/// is allocated) and bounds recursion by <see cref="VariantReadOptions.MaxDepth"/>. <see cref="Read(ReadOnlySpan{byte}, VariantReadOptions)"/>
/// is the throwing wrapper (<see cref="VariantCodecException"/>).</para>
/// <para><b>Encoding</b>: <see cref="GetEncodedSize"/> is exact; <see cref="TryWrite"/> allocates nothing and returns
/// false only when the destination is too small. Padding is always zeroed (Godot 3.2.3 leaves NodePath padding
/// uninitialised; decoders ignore it). A value nested deeper than <see cref="DefaultMaxDepth"/> (for example an array
/// that contains itself) cannot be encoded: <see cref="GetEncodedSize"/>, <see cref="TryWrite"/>,
/// <see cref="Write"/> and <see cref="Encode"/> throw <see cref="VariantCodecException"/> with
/// <see cref="VariantErrorReason.TooDeep"/>, as Godot 3.4+ refuses it.</para>
/// <para><b>Objects</b>: a null object is written as NIL (Godot 3.2.3). An <see cref="EncodedObjectAsId"/> is always written
/// as an instance id (<c>0x00010011</c> + u64). An <see cref="ObjectData"/> is written in full (class name and properties)
/// when <c>fullObjects</c> is true, and otherwise as instance id 0, which Godot reads as a null object: it has no instance
/// id to send.</para>
/// <para><b>Deliberate differences from Godot 3.2.3's decoder</b> (everything else, including its quirks, is kept):
/// nesting deeper than <see cref="VariantReadOptions.MaxDepth"/> fails (3.2.3 has no limit and crashes on very deep
/// input; 3.5 fails the same way); UTF-8 is decoded strictly, so overlong forms, encoded surrogates, 5- and 6-byte
/// sequences and code points above U+10FFFF fail (3.2.3 accepts them; it never writes them); a full object of a class
/// Godot does not know is returned as <see cref="ObjectData"/> unless <see cref="VariantReadOptions.IsKnownClass"/>
/// refuses it (GdNet never instantiates anything); and the bytes reported as consumed never exceed the input (3.2.3 counts
/// the missing padding of a PoolByteArray at the very end of the buffer).</para>
/// <para><b>Cost</b>: decoding is linear in the input. Dictionary keys are de-duplicated (a repeated key keeps its first
/// position and its last value, as in Godot) with seeded hashes that cover the whole key, so crafted keys cannot make it
/// quadratic.</para>
/// <para>Thread safety: every member is stateless and may be called from any thread. A value must not be mutated while it
/// is being encoded.</para>
/// </remarks>
public static partial class VariantCodec
{
    /// <summary>Godot 3.5's nesting limit (<c>Variant::MAX_RECURSION_DEPTH</c>), used for encoding and by default for decoding.</summary>
    public const int DefaultMaxDepth = 1024;

    /// <summary>
    /// Decodes one Variant from the start of <paramref name="source"/>. Never throws for any input bytes (only an
    /// <see cref="VariantReadOptions.IsKnownClass"/> callback that throws could). Bytes after the value are ignored;
    /// <paramref name="bytesConsumed"/> says where the value ended (at most <c>source.Length</c>).
    /// </summary>
    /// <returns>True with the value, or false with <paramref name="error"/> saying why and where (value nil, 0 consumed).</returns>
    public static bool TryRead(ReadOnlySpan<byte> source, in VariantReadOptions options, out Variant value, out int bytesConsumed, out VariantError error)
    {
        var reader = new VariantReader(source, options);
        if (reader.TryReadValue(0, out value))
        {
            bytesConsumed = reader.Position;
            error = default;
            return true;
        }

        value = default;
        bytesConsumed = 0;
        error = reader.Error;
        return false;
    }

    /// <summary>Decodes one Variant from the start of <paramref name="source"/>; bytes after it are ignored.</summary>
    /// <exception cref="VariantCodecException">The bytes are not a valid Variant; the exception says why and at which offset.</exception>
    public static Variant Read(ReadOnlySpan<byte> source, VariantReadOptions options = default) => Read(source, out _, options);

    /// <summary>Decodes one Variant from the start of <paramref name="source"/> and reports how many bytes it used.</summary>
    /// <exception cref="VariantCodecException">The bytes are not a valid Variant; the exception says why and at which offset.</exception>
    public static Variant Read(ReadOnlySpan<byte> source, out int bytesConsumed, VariantReadOptions options = default)
    {
        if (!TryRead(source, options, out var value, out bytesConsumed, out var error))
        {
            ThrowHelper.ThrowVariantCodecException(error);
        }

        return value;
    }

    /// <summary>The exact number of bytes <see cref="TryWrite"/> writes for <paramref name="value"/>.</summary>
    /// <exception cref="VariantCodecException">The value nests deeper than <see cref="DefaultMaxDepth"/> (reason
    /// <see cref="VariantErrorReason.TooDeep"/>) or would encode to more than <see cref="int.MaxValue"/> bytes
    /// (<see cref="VariantErrorReason.TooLarge"/>).</exception>
    public static int GetEncodedSize(in Variant value, bool fullObjects = false)
    {
        if (!TryGetEncodedSize(value, fullObjects, out var size))
        {
            ThrowHelper.ThrowVariantCodecException(new VariantError(VariantErrorReason.TooDeep, -1, Error.OutOfMemory, DefaultMaxDepth + 1, DefaultMaxDepth));
        }

        if (size > int.MaxValue)
        {
            ThrowHelper.ThrowVariantCodecException(new VariantError(VariantErrorReason.TooLarge, -1, Error.OutOfMemory, size, int.MaxValue));
        }

        return (int)size;
    }

    /// <summary>
    /// Encodes <paramref name="value"/> into <paramref name="destination"/> without allocating. Padding is zeroed.
    /// </summary>
    /// <returns>True with the byte count, or false (0 written, destination contents unspecified) only when
    /// <paramref name="destination"/> is too small.</returns>
    /// <exception cref="VariantCodecException">The value nests deeper than <see cref="DefaultMaxDepth"/> (reason
    /// <see cref="VariantErrorReason.TooDeep"/>).</exception>
    public static bool TryWrite(in Variant value, Span<byte> destination, out int bytesWritten, bool fullObjects = false)
    {
        var writer = new VariantWriter(destination, fullObjects);
        if (writer.TryWriteValue(value, 0))
        {
            bytesWritten = writer.Position;
            return true;
        }

        if (writer.TooDeep)
        {
            ThrowHelper.ThrowVariantCodecException(new VariantError(VariantErrorReason.TooDeep, -1, Error.OutOfMemory, DefaultMaxDepth + 1, DefaultMaxDepth));
        }

        bytesWritten = 0;
        return false;
    }

    /// <summary>Encodes <paramref name="value"/> into <paramref name="destination"/> and returns the byte count.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small; <see cref="GetEncodedSize"/> gives the size needed.</exception>
    /// <exception cref="VariantCodecException">The value nests deeper than <see cref="DefaultMaxDepth"/>.</exception>
    public static int Write(in Variant value, Span<byte> destination, bool fullObjects = false)
    {
        if (!TryWrite(value, destination, out var written, fullObjects))
        {
            ThrowHelper.ThrowDestinationTooSmall(GetEncodedSize(value, fullObjects), destination.Length, nameof(destination));
        }

        return written;
    }

    /// <summary>Encodes <paramref name="value"/> into a new array (Godot's <c>var2bytes(value, fullObjects)</c>).</summary>
    /// <exception cref="VariantCodecException">The value nests deeper than <see cref="DefaultMaxDepth"/> or is too large for an array.</exception>
    public static byte[] Encode(in Variant value, bool fullObjects = false)
    {
        var buffer = new byte[GetEncodedSize(value, fullObjects)];
        var writer = new VariantWriter(buffer, fullObjects);
        if (!writer.TryWriteValue(value, 0) || writer.Position != buffer.Length)
        {
            ThrowHelper.ThrowEncodedSizeMismatch();
        }

        return buffer;
    }

    /// <summary>
    /// Measures without throwing: false when the value nests deeper than <see cref="DefaultMaxDepth"/>. The size may
    /// exceed <see cref="int.MaxValue"/>.
    /// </summary>
    internal static bool TryGetEncodedSize(in Variant value, bool fullObjects, out long size)
    {
        size = VariantWriter.Measure(value, fullObjects, 0);
        return size >= 0;
    }
}
