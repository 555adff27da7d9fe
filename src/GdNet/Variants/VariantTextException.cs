namespace GdNet.Variants;

/// <summary>
/// Text given to <see cref="VariantText.Parse"/> is not a Variant in Godot 3's text form. The message says where
/// (line and column, both 1-based) and what was expected, e.g.
/// <c>Expected ',' or ')' but found '3' at line 1, column 12.</c>
/// </summary>
public sealed class VariantTextException : FormatException
{
    public VariantTextException()
    {
    }

    public VariantTextException(string message)
        : base(message)
    {
    }

    public VariantTextException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal VariantTextException(string reason, int line, int column)
        : base($"{reason} at line {line}, column {column}.")
    {
        Reason = reason;
        Line = line;
        Column = column;
    }

    /// <summary>What went wrong, without the position.</summary>
    public string Reason { get; } = "";

    /// <summary>The 1-based line of the offending character.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in UTF-16 characters) of the offending character.</summary>
    public int Column { get; }
}
