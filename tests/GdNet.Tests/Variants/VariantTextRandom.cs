using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using GdNet.Variants;

namespace GdNet.Tests.Variants;

/// <summary>FsCheck generators of Variants of every type, for the var2str round-trip properties.</summary>
internal static class RandomVariants
{
    private const int MaxDepth = 3;

    /// <summary>
    /// Any Variant except an RID (printed as nothing) and a null Object (read back as nil). With
    /// <paramref name="exactFloats"/>, floats have at most 6 significant digits and fit a float32, so that the lossy
    /// text form reads back the same value; otherwise they are arbitrary bit patterns.
    /// </summary>
    public static Gen<Variant> Value(bool exactFloats) => Any(exactFloats, 0);

    private static Gen<Variant> Any(bool exact, int depth)
    {
        var real = exact ? ExactDouble() : AnyDouble();
        var f32 = exact ? ExactFloat() : AnyFloat();
        var scalars = new List<(int, Gen<Variant>)>
        {
            (1, Gen.Constant(Variant.Nil)),
            (1, Gen.Elements(true, false).Select(b => (Variant)b)),
            (3, Int64().Select(i => (Variant)i)),
            (3, real.Select(d => (Variant)d)),
            (3, Text().Select(s => (Variant)s)),
            (1, Floats(f32, 2).Select(f => (Variant)new Vector2(f[0], f[1]))),
            (1, Floats(f32, 4).Select(f => (Variant)new Rect2(f[0], f[1], f[2], f[3]))),
            (1, Floats(f32, 3).Select(f => (Variant)new Vector3(f[0], f[1], f[2]))),
            (1, Floats(f32, 6).Select(f => (Variant)new Transform2D(new(f[0], f[1]), new(f[2], f[3]), new(f[4], f[5])))),
            (1, Floats(f32, 4).Select(f => (Variant)new Plane(f[0], f[1], f[2], f[3]))),
            (1, Floats(f32, 4).Select(f => (Variant)new Quat(f[0], f[1], f[2], f[3]))),
            (1, Floats(f32, 6).Select(f => (Variant)new AABB(new(f[0], f[1], f[2]), new(f[3], f[4], f[5])))),
            (1, Floats(f32, 9).Select(f => (Variant)new Basis(new(f[0], f[1], f[2]), new(f[3], f[4], f[5]), new(f[6], f[7], f[8])))),
            (1, Floats(f32, 12).Select(f => (Variant)new Transform(
                new Basis(new(f[0], f[1], f[2]), new(f[3], f[4], f[5]), new(f[6], f[7], f[8])), new(f[9], f[10], f[11])))),
            (1, Floats(f32, 4).Select(f => (Variant)new Color(f[0], f[1], f[2], f[3]))),
            (1, Path().Select(p => (Variant)p)),
            (1, Gen.Choose(0, int.MaxValue).Select(i => Variant.FromObject(new EncodedObjectAsId((ulong)i * 2654435761UL)))),
            (1, Small(Gen.Choose(0, 255).Select(b => (byte)b)).Select(a => (Variant)a)),
            (1, Small(Int32()).Select(a => (Variant)a)),
            (1, Small(f32).Select(a => (Variant)a)),
            (1, Small(Text()).Select(a => (Variant)a)),
            (1, Small(Floats(f32, 2)).Select(a => (Variant)a.Select(f => new Vector2(f[0], f[1])).ToArray())),
            (1, Small(Floats(f32, 3)).Select(a => (Variant)a.Select(f => new Vector3(f[0], f[1], f[2])).ToArray())),
            (1, Small(Floats(f32, 4)).Select(a => (Variant)a.Select(f => new Color(f[0], f[1], f[2], f[3])).ToArray())),
        };
        if (depth < MaxDepth)
        {
            var inner = Any(exact, depth + 1);
            scalars.Add((2, Small(inner).Select(items => (Variant)new VariantArray(items))));
            scalars.Add((2, Small(Gen.Zip(inner, inner)).Select(pairs =>
            {
                var d = new VariantDictionary();
                foreach (var (k, v) in pairs)
                {
                    d[k] = v;
                }

                return (Variant)d;
            })));
            scalars.Add((1, Gen.Zip(Identifier(), Small(Gen.Zip(Identifier(), inner))).Select(o =>
                Variant.FromObject(new ObjectData(o.Item1, [.. o.Item2.Select(p => new KeyValuePair<string, Variant>(p.Item1, p.Item2))])))));
        }

        return Gen.Frequency(scalars.ToArray());
    }

    private static Gen<T[]> Small<T>(Gen<T> item) => Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(item, n));

    private static Gen<float[]> Floats(Gen<float> f, int n) => Gen.ArrayOf(f, n);

    private static Gen<long> Int64() => Gen.OneOf(
        Gen.Choose(-1000, 1000).Select(i => (long)i),
        Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue)).Select(p => ((long)p.Item1 << 32) ^ (uint)p.Item2),
        Gen.Elements(long.MinValue, long.MaxValue, 0L, -1L));

    private static Gen<int> Int32() => Gen.OneOf(Gen.Choose(int.MinValue, int.MaxValue), Gen.Elements(int.MinValue, int.MaxValue, 0));

    /// <summary>
    /// A decimal with 1 to 6 significant digits whose nearest float32 is normal or zero, or inf or NaN. Doubles
    /// (<paramref name="forReal"/>) stay within 1e-22..1e22, where Godot's strtod (which str2var uses and GdNet
    /// mirrors) rounds correctly; beyond, it may land one ulp away from the nearest double.
    /// </summary>
    private static Gen<double> ExactDouble(bool forReal = true) => Gen.Frequency(
        (12, from digits in Gen.Choose(1, 6)
             from mantissa in Gen.Choose(1, 999_999)
             from exp in forReal ? Gen.Choose(-22, 16) : Gen.Choose(-43, 38)
             from negative in Gen.Elements(true, false)
             let m = mantissa % Pow10(digits)
             let d = double.Parse($"{(negative ? "-" : "")}{m}e{exp}", CultureInfo.InvariantCulture)
             where d == 0 || (Math.Abs(d) >= 1.17549435e-38 && Math.Abs(d) <= 3.40282e38)
             select d),
        (1, Gen.Elements(0.0, double.PositiveInfinity, double.NegativeInfinity, VariantTextGolden.PositiveNaN, VariantTextGolden.NegativeNaN)));

    private static Gen<float> ExactFloat() => ExactDouble(forReal: false).Select(d => (float)d);

    private static Gen<double> AnyDouble() => Gen.OneOf(
        Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue))
            .Select(p => BitConverter.Int64BitsToDouble(((long)p.Item1 << 32) ^ (uint)p.Item2)),
        AnyFloat().Select(f => (double)f));

    private static Gen<float> AnyFloat() => Gen.Choose(int.MinValue, int.MaxValue).Select(BitConverter.Int32BitsToSingle);

    private static int Pow10(int n) => n switch { 1 => 10, 2 => 100, 3 => 1000, 4 => 10_000, 5 => 100_000, _ => 1_000_000 };

    private static readonly char[] TextChars =
        [.. "aZ09 _-./:;,{}[]()\"\\'?#é日\u00ff\uffff\t\n\r\a\b\f\v\u0001\u001f\u007f", '\ud83d', '\ude00'];

    /// <summary>Text with escapable characters, controls (never NUL) and non-ASCII, including a valid surrogate pair.</summary>
    private static Gen<string> Text() => Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(Gen.Elements(TextChars), n))
        .Select(chars => new string(chars).Replace("\ud83d", "", StringComparison.Ordinal).Replace("\ude00", "\ud83d\ude00", StringComparison.Ordinal));

    private static Gen<string> Identifier() => Gen.Choose(1, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcXYZ_019".ToCharArray()), n))
        .Select(c => char.IsAsciiDigit(c[0]) ? "_" + new string(c) : new string(c));

    private static readonly char[] NameChars = [.. "abZ09_ .-é\"\\'?\t"];

    private static Gen<string> Name() => Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements(NameChars), n)).Select(c => new string(c));

    private static Gen<NodePath> Path() =>
        from absolute in Gen.Elements(true, false)
        from names in Small(Name())
        from subnames in Small(Name())
        select new NodePath([.. names], [.. subnames], absolute);
}
