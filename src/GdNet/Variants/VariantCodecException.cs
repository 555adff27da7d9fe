namespace GdNet.Variants;

/// <summary>
/// The one exception of the Variant codec: bytes that are not a valid Variant (throwing <c>Read</c>), or a value that
/// cannot be encoded (too deep, too large). <see cref="Offset"/> and <see cref="Reason"/> say where and why; the message
/// reads like <c>String length 1000000 exceeds the 12 bytes left at offset 8</c>.
/// </summary>
/// <remarks>Remote bytes should go through <see cref="VariantCodec.TryRead"/>, which reports the same
/// <see cref="VariantError"/> without throwing.</remarks>
public sealed class VariantCodecException : Exception
{
    public VariantCodecException()
        : this("The Variant could not be decoded or encoded.")
    {
    }

    public VariantCodecException(string message)
        : base(message)
    {
        Error = new VariantError(VariantErrorReason.Malformed, -1, GdNet.Error.InvalidData);
    }

    public VariantCodecException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new VariantError(VariantErrorReason.Malformed, -1, GdNet.Error.InvalidData);
    }

    /// <summary>Creates the exception for a codec error; the message is <see cref="VariantError.Message"/>.</summary>
    public VariantCodecException(VariantError error)
        : base(error.Message)
    {
        Error = error;
    }

    /// <summary>The full error: reason, offset, Godot's error code and the numbers involved.</summary>
    public VariantError Error { get; }

    /// <summary>The byte offset of the problem in the decoded buffer (−1 for encoding errors).</summary>
    public int Offset => Error.Offset;

    /// <summary>Why decoding or encoding failed.</summary>
    public VariantErrorReason Reason => Error.Reason;
}
