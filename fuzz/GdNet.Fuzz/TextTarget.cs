using System.Text;
using GdNet.Variants;

namespace GdNet.Fuzz;

/// <summary>
/// <c>str2var</c>: Godot's Variant text form parser (<see cref="VariantText.TryParse"/>), input as UTF-8 (invalid
/// sequences become U+FFFD). Malformed input: TryParse returns false with a message (Parse throws
/// <see cref="VariantTextException"/>). Checks: a parsed value prints (var2str), the printed text parses again and
/// prints the same text, and the value encodes to binary and decodes back.
/// </summary>
internal sealed class TextTarget : FuzzTarget
{
    private static readonly VariantReadOptions Objects = new() { AllowObjects = true };



    public override void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (!VariantText.TryParse(text, out var value, out var error))
        {
            FuzzCheckException.Check(!string.IsNullOrEmpty(error), "a failed parse says why");
            return;
        }

        // The text form is lossy by design (floats print with 6 digits, an RID prints as nothing, a null object as null)
        // and Godot's key sort is not a total order for every key type (Colors, pools, arrays: var2str keeps or reverses
        // their order depending on the insertion order). So: var2str's output parses; after one print/parse the value is
        // a fixed point up to the order of dictionary keys.
        var printed = VariantText.Format(value);
        if (ContainsRid(value))
        {
            return;
        }

        var a = ParsePrinted(printed);
        var b = ParsePrinted(VariantText.Format(a));
        FuzzCheckException.Check(string.Equals(Canonical(a), Canonical(b), StringComparison.Ordinal),
            $"str2var(var2str(v)) is not a fixed point:\n{VariantText.Format(a)}\n{VariantText.Format(b)}");

        // The binary form of a parsed value (strings with NULs or leading BOMs change on the way, as in Godot).
        var stable = VariantTarget.ToFixedPoint(value, Objects, fullObjects: true);
        _ = VariantText.Format(stable);
    }

    private static Variant ParsePrinted(string printed) => VariantText.TryParse(printed, out var v, out var error)
        ? v
        : throw new FuzzCheckException($"var2str output does not parse: {error}\n{printed}");

    private static bool ContainsRid(in Variant v) => v.Type switch
    {
        VariantType.RID => true,
        VariantType.Array => v.AsArray().Any(e => ContainsRid(e)),
        VariantType.Dictionary => v.AsDictionary().Any(e => ContainsRid(e.Key) || ContainsRid(e.Value)),
        VariantType.Object => v.AsObject() is ObjectData o && o.Properties.Any(p => ContainsRid(p.Value)),
        _ => false,
    };

    // The text of a value with every dictionary's entries sorted by their own text.
    private static string Canonical(in Variant v)
    {
        switch (v.Type)
        {
            case VariantType.Array:
                return "[" + string.Join(",", v.AsArray().Select(e => Canonical(e))) + "]";
            case VariantType.Dictionary:
                return "{" + string.Join(",", v.AsDictionary().Select(e => Canonical(e.Key) + ":" + Canonical(e.Value)).Order(StringComparer.Ordinal)) + "}";
            case VariantType.Object when v.AsObject() is ObjectData o:
                return "Object(" + o.ClassName + string.Concat(o.Properties.Select(p => "," + p.Key + ":" + Canonical(p.Value))) + ")";
            default:
                return VariantText.Format(v);
        }
    }
}
