using System.Globalization;

namespace GdNet.Variants;

/// <summary>
/// Why a decode (or encode) failed, where, and Godot's error code for it. A plain value: the readable
/// <see cref="Message"/> is only formatted when asked for.
/// </summary>
/// <param name="Reason">What went wrong.</param>
/// <param name="Offset">The byte offset in the decoded buffer the problem is reported at: for a length or count, just
/// after the field (where the bytes it describes would start); for truncation, where the missing bytes should start;
/// for a bad header, the header. −1 for encoding errors.</param>
/// <param name="GodotError">The <see cref="Error"/> Godot's <c>decode_variant</c> returns for this input.</param>
/// <param name="Value">The offending number: a length, count, type id or byte count needed (see <see cref="Reason"/>).</param>
/// <param name="Limit">The limit it broke: the bytes left, or the maximum depth.</param>
/// <param name="Type">The Variant type being decoded when it failed (Nil when not known yet).</param>
public readonly record struct VariantError(
    VariantErrorReason Reason,
    int Offset,
    Error GodotError,
    long Value = 0,
    long Limit = 0,
    VariantType Type = VariantType.Nil)
{
    /// <summary>
    /// A readable description, e.g. <c>String length 1000000 exceeds the 12 bytes left at offset 8</c>.
    /// </summary>
    public string Message => Reason switch
    {
        VariantErrorReason.None => "No error",
        VariantErrorReason.Truncated when Type == VariantType.Nil =>
            string.Create(Inv, $"A Variant header needs {Value} bytes but only {Limit} are left at offset {Offset}"),
        VariantErrorReason.Truncated =>
            string.Create(Inv, $"{Type} needs {Value} bytes but only {Limit} are left at offset {Offset}"),
        VariantErrorReason.UnknownType =>
            string.Create(Inv, $"Unknown Variant type {Value} at offset {Offset} (Godot 3 types are 0 to 26)"),
        VariantErrorReason.InvalidLength when Value < 0 =>
            string.Create(Inv, $"String length {Value} is negative at offset {Offset}"),
        VariantErrorReason.InvalidLength when Padded(Value) != Value =>
            string.Create(Inv, $"String length {Value} ({Padded(Value)} with padding) exceeds the {Limit} bytes left at offset {Offset}"),
        VariantErrorReason.InvalidLength =>
            string.Create(Inv, $"String length {Value} exceeds the {Limit} bytes left at offset {Offset}"),
        VariantErrorReason.InvalidCount when Value < 0 =>
            string.Create(Inv, $"{Type} count {Value} is negative at offset {Offset}"),
        VariantErrorReason.InvalidCount =>
            string.Create(Inv, $"{Type} count {Value} needs at least {Value * MinimumElementSize(Type)} bytes but only {Limit} are left at offset {Offset}"),
        VariantErrorReason.InvalidUtf8 =>
            string.Create(Inv, $"String of {Value} bytes at offset {Offset} is not valid UTF-8"),
        VariantErrorReason.InvalidNodePath =>
            string.Create(Inv, $"NodePath at offset {Offset} uses the old format (bit 31 of its name count is clear), which Godot 3 rejects"),
        VariantErrorReason.ObjectsNotAllowed =>
            string.Create(Inv, $"Full object at offset {Offset} refused: object decoding is not allowed (set AllowObjects to accept it)"),
        VariantErrorReason.UnknownClass =>
            string.Create(Inv, $"Object class at offset {Offset} was refused by IsKnownClass (Godot: class not registered)"),
        VariantErrorReason.TooDeep when Offset < 0 =>
            string.Create(Inv, $"The value nests deeper than {Limit} levels (does a container contain itself?) and cannot be encoded"),
        VariantErrorReason.TooDeep =>
            string.Create(Inv, $"Variant nesting deeper than {Limit} levels at offset {Offset}"),
        VariantErrorReason.TooLarge =>
            string.Create(Inv, $"The value would encode to {Value} bytes, more than the {Limit} allowed"),
        VariantErrorReason.NoPacket => "No packet is available to decode",
        _ => string.Create(Inv, $"{Reason} at offset {Offset}"),
    };

    /// <inheritdoc/>
    public override string ToString() => Message;

    private static long Padded(long length) => (length + 3) & ~3L;

    /// <summary>The fewest bytes one element of a counted type occupies (used to check counts before allocating).</summary>
    internal static int MinimumElementSize(VariantType type) => type switch
    {
        VariantType.PoolByteArray => 1,
        VariantType.PoolIntArray or VariantType.PoolRealArray => 4,
        VariantType.PoolVector2Array => 8,
        VariantType.PoolVector3Array => 12,
        VariantType.PoolColorArray => 16,
        VariantType.Dictionary => 8, // key header + value header
        VariantType.Object => 8,     // property name length + value header
        _ => 4,                      // Array items, PoolStringArray elements, NodePath names: at least a 4-byte word each
    };

    private static CultureInfo Inv => CultureInfo.InvariantCulture;
}

/// <summary>Why a Variant could not be decoded or encoded.</summary>
public enum VariantErrorReason
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Fewer bytes are left than the header or the value needs (<c>Value</c> needed, <c>Limit</c> left).</summary>
    Truncated,

    /// <summary>The header's type byte is not a Godot 3 type (27 or more; <c>Value</c> is the type byte).</summary>
    UnknownType,

    /// <summary>A string length is negative, or it (with padding) exceeds the bytes left (<c>Value</c>, <c>Limit</c>).</summary>
    InvalidLength,

    /// <summary>String bytes are not valid UTF-8 (<c>Value</c> is the byte length).</summary>
    InvalidUtf8,

    /// <summary>A full object arrived while object decoding is off (Godot's <c>ERR_UNAUTHORIZED</c>).</summary>
    ObjectsNotAllowed,

    /// <summary>Nesting deeper than the limit (<c>Limit</c>); Godot 3.5's <c>ERR_OUT_OF_MEMORY</c> "Variant is too deep".</summary>
    TooDeep,

    /// <summary>Any other malformation.</summary>
    Malformed,

    /// <summary>A pool, container or path count is negative, or needs more bytes than are left (<c>Value</c>, <c>Limit</c>).</summary>
    InvalidCount,

    /// <summary>A NodePath in the old format (bit 31 of the name count clear), which Godot 3 rejects.</summary>
    InvalidNodePath,

    /// <summary>A full object's class was refused by <see cref="VariantReadOptions.IsKnownClass"/> (Godot's <c>ERR_UNAVAILABLE</c>).</summary>
    UnknownClass,

    /// <summary>Encoding only: the value would take more than <see cref="int.MaxValue"/> bytes.</summary>
    TooLarge,

    /// <summary><c>PacketPeer.TryGetVar</c> only: no packet was queued (Godot's <c>ERR_UNAVAILABLE</c>).</summary>
    NoPacket,
}
