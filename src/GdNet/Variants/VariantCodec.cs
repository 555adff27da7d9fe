namespace GdNet.Variants;

// CONTRACT STUB — to be implemented by the codec work (issue #2 §3). Signatures are fixed; other layers code against them.

/// <summary>Options for decoding remote bytes.</summary>
public readonly record struct VariantReadOptions
{
    public VariantReadOptions() { }

    /// <summary>Decode full objects (class name + properties) as <see cref="ObjectData"/>. Off by default (secure).</summary>
    public bool AllowObjects { get; init; }

    /// <summary>Maximum container nesting; deeper input is an error. Default 1024 (Godot 3.5's limit).</summary>
    public int MaxDepth { get; init; } = 1024;
}

/// <summary>Godot 3 <c>var2bytes</c>/<c>bytes2var</c> binary codec (spec §1).</summary>
public static partial class VariantCodec
{
    /// <summary>Decodes one Variant from the start of <paramref name="source"/>. Never throws for any input bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, in VariantReadOptions options, out Variant value, out int bytesConsumed, out VariantError error)
        => throw new NotImplementedException();

    /// <summary>The exact number of bytes <see cref="TryWrite"/> writes for <paramref name="value"/>.</summary>
    public static int GetEncodedSize(in Variant value, bool fullObjects = false) => throw new NotImplementedException();

    /// <summary>Encodes into <paramref name="destination"/>; false only when it is too small. Padding is zeroed.</summary>
    public static bool TryWrite(in Variant value, Span<byte> destination, out int bytesWritten, bool fullObjects = false)
        => throw new NotImplementedException();
}

/// <summary>Why a decode failed, where, and Godot's error code for it.</summary>
public readonly record struct VariantError(VariantErrorReason Reason, int Offset, Error GodotError, long Value = 0, long Limit = 0)
{
    public string Message => $"{Reason} at offset {Offset}";
}

public enum VariantErrorReason
{
    None = 0,
    Truncated,
    UnknownType,
    InvalidLength,
    InvalidUtf8,
    ObjectsNotAllowed,
    TooDeep,
    Malformed,
}
