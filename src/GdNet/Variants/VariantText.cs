using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace GdNet.Variants;

/// <summary>
/// Godot 3's Variant text form: <see cref="Format(in Variant)"/> prints exactly what Godot 3.2.3's <c>var2str</c> prints, and
/// <see cref="Parse"/> reads it back like <c>str2var</c>.
/// </summary>
/// <remarks>
/// <para>The text form is lossy, as in Godot: every float is printed as a float32 with 6 significant digits (a Real
/// 1/3 prints <c>0.333333</c>, 1e300 prints <c>inf</c>, -0.0 prints <c>0.0</c>), an RID prints as nothing, and a null
/// Object prints <c>null</c> (read back as nil), and dictionary keys are printed sorted the way Godot sorts them (read
/// back in that order). Values whose floats have at most 6 significant digits and fit a float32 read back equal; a
/// Real beyond 1e22 or below 1e-22 may read back one ulp away, because str2var's strtod (mirrored here so that GdNet
/// reads the same doubles as Godot) does not always round correctly.</para>
/// <para>Parsing accepts everything Godot writes, the whitespace, line breaks, <c>;</c> comments and trailing commas in
/// arrays and dictionaries that Godot accepts, and the old type names (<c>Matrix32</c>, <c>Rect3</c>, <c>IntArray</c>,
/// ...). It is stricter than <c>str2var</c> where Godot silently returns something else: text after the value, numbers
/// out of range (Godot wraps them), pool elements of the wrong kind or count, and a lone <c>-</c> are errors. It is
/// more lenient where Godot cannot read its own output: <c>-inf.0</c>, <c>-nan.0</c>, and <c>inf</c>/<c>nan</c> inside
/// constructors such as <c>Vector2( inf, nan )</c> parse, and the escapes <c>\a</c> and <c>\v</c> that var2str writes
/// inside NodePaths and PoolStringArrays read back as BEL and VT (Godot reads the letters). <c>Object(Class,"prop":value,...)</c> becomes an
/// <see cref="ObjectData"/> (never an instance), or an <see cref="EncodedObjectAsId"/> for class
/// <c>EncodedObjectAsID</c>; <c>RID(n)</c> becomes an RID (Godot returns the int). Object property names are printed
/// escaped like Strings, and a class name that is not an identifier is printed (and read) quoted: Godot prints both
/// raw, which is the same text for the identifiers its classes have, but an object decoded from remote bytes may have
/// any names, and raw they could read back as other properties.</para>
/// <para>All members are thread-safe.</para>
/// </remarks>
public static partial class VariantText
{
    /// <summary>Godot's <c>var2str</c>: the text form of <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">The value nests deeper than <see cref="MaxDepth"/> (for example an array that contains itself).</exception>
    public static string Format(in Variant value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.ToString();
    }

    /// <summary>Appends Godot's <c>var2str</c> text of <paramref name="value"/> to <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The value nests deeper than <see cref="MaxDepth"/>.</exception>
    public static void Format(in Variant value, StringBuilder destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Write(destination, value, 0);
    }

    /// <summary>Godot's <c>str2var</c>: reads one Variant from <paramref name="text"/> (surrounding whitespace and comments allowed).</summary>
    /// <exception cref="VariantTextException">The text is not a Variant; the message gives the line, column and what was expected.</exception>
    public static Variant Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new TextParser(text).ParseDocument();
    }

    /// <summary>Like <see cref="Parse"/>, but reports a bad text through <paramref name="error"/> instead of throwing.</summary>
    /// <returns>True when <paramref name="text"/> held a Variant; otherwise false, with <paramref name="error"/> saying where and why.</returns>
    public static bool TryParse(string text, out Variant value, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            value = new TextParser(text).ParseDocument();
            error = null;
            return true;
        }
        catch (VariantTextException e)
        {
            value = default;
            error = e.Message;
            return false;
        }
    }
}
