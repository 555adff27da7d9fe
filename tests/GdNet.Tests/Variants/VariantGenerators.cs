using System.Collections.Immutable;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using GdNet.Variants;

namespace GdNet.Tests.Variants;

/// <summary>A byte string fed to the decoder; prints as hex so a failing case can be pasted into a test.</summary>
public sealed record DecoderInput(byte[] Bytes, bool AllowObjects)
{
    public override string ToString() => $"{Convert.ToHexStringLower(Bytes)} (allowObjects: {AllowObjects})";
}

/// <summary>Several decoder inputs generated together (10 mutations of one encoding, or 10 random strings).</summary>
public sealed record DecoderBatch(DecoderInput[] Inputs)
{
    public override string ToString() => string.Join(Environment.NewLine, Inputs.Select(i => i.ToString()));
}

/// <summary>A value whose encoding round trip is checked; prints its encoding.</summary>
public sealed record RoundTripCase(Variant Value)
{
    public override string ToString()
    {
        try
        {
            return Convert.ToHexStringLower(VariantCodec.Encode(Value, fullObjects: true));
        }
        catch (VariantCodecException e)
        {
            return $"{Value.Type}: {e.Message}";
        }
    }
}

/// <summary>FsCheck generators for Variants of every type, random byte strings and mutated valid encodings.</summary>
public static class VariantGenerators
{
    private static readonly uint[] HugeWords =
        [0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, 0x3FFF_FFFF, 0x4000_0000, 0x1FFF_FFFF, 0xFFFF_FFFE, 0x8000_0001, 0x0000_FFFF, 0x0100_0000];

    public static Arbitrary<RoundTripCase> RoundTripCases() => Arb.From(AnyVariant.Select(v => new RoundTripCase(v)));

    /// <summary>Number of byte strings in one <see cref="DecoderBatch"/>.</summary>
    public const int BatchSize = 10;

    public static Arbitrary<DecoderInput> DecoderInputs() => Arb.From(Gen.Frequency(
        (1, RandomBytes),
        (3, MutatedEncodings(1).Select(b => b.Inputs[0]))));

    public static Arbitrary<DecoderBatch> DecoderBatches() => Arb.From(Gen.Frequency(
        (1, Gen.ArrayOf(RandomBytes, BatchSize).Select(inputs => new DecoderBatch(inputs))),
        (3, MutatedEncodings(BatchSize))));

    // ---- scalars ----------------------------------------------------------------------------------------------

    private static readonly Gen<int> AnyInt = Gen.Choose(int.MinValue, int.MaxValue);

    private static readonly Gen<long> AnyLong = Gen.Frequency(
        (3, Gen.Choose(-1000, 1000).Select(i => (long)i)),
        (2, AnyInt.Select(i => (long)i)),
        (2, AnyInt.Zip(AnyInt, (hi, lo) => ((long)hi << 32) | (uint)lo)),
        (1, Gen.Elements(long.MinValue, long.MaxValue, int.MaxValue + 1L, int.MinValue - 1L)));

    private static readonly Gen<float> AnyFloat = Gen.Frequency(
        (4, Gen.Choose(-4000, 4000).Select(i => i / 8f)),
        (2, AnyInt.Select(BitConverter.Int32BitsToSingle)),
        (1, Gen.Elements(float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.MaxValue, float.Epsilon, 0.1f)));

    private static readonly Gen<double> AnyDouble = Gen.Frequency(
        (3, AnyFloat.Select(f => (double)f)),
        (2, AnyLong.Select(BitConverter.Int64BitsToDouble)),
        (1, Gen.Elements(0.1, Math.PI, 1e300, 1e39, 16777217.0, double.Epsilon, VariantVectors.GodotNaN, double.NaN)));

    private static readonly Gen<Rune> AnyRune = Gen.Frequency(
        (6, Gen.Choose(1, 0x7F)),
        (2, Gen.Choose(0x80, 0xFFFF).Where(c => c is < 0xD800 or > 0xDFFF)),
        (1, Gen.Choose(0x10000, 0x10FFFF)))
        .Select(c => new Rune(c));

    /// <summary>
    /// Strings that survive Godot's decoding unchanged: no NUL (the decoder cuts there), no leading U+FEFF (dropped as a
    /// BOM) and no lone surrogates (written as U+FFFD).
    /// </summary>
    private static readonly Gen<string> AnyString = Gen.Frequency(
            (2, Gen.Elements("", "a", "ab", "abc", "abcd", "é", "日本語", "😀", "name", "Main/Lobby")),
            (3, Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(AnyRune, n)).Select(runes => string.Concat(runes.Select(r => r.ToString())))))
        .Where(s => !s.StartsWith('\uFEFF'));

    private static readonly Gen<Vector2> AnyVector2 = AnyFloat.Two().Select(t => new Vector2(t.Item1, t.Item2));

    private static readonly Gen<Vector3> AnyVector3 = AnyFloat.Three().Select(t => new Vector3(t.Item1, t.Item2, t.Item3));

    private static readonly Gen<Color> AnyColor = AnyFloat.Four().Select(t => new Color(t.Item1, t.Item2, t.Item3, t.Item4));

    private static readonly Gen<Basis> AnyBasis = AnyVector3.Three().Select(t => new Basis(t.Item1, t.Item2, t.Item3));

    private static readonly Gen<NodePath> AnyNodePath =
        from names in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(AnyString, n))
        from subnames in Gen.Choose(0, 2).SelectMany(n => Gen.ArrayOf(AnyString, n))
        from absolute in Gen.Elements(true, false)
        select names.Length + subnames.Length == 0 ? NodePath.Empty : new NodePath(names.ToImmutableArray(), subnames.ToImmutableArray(), absolute);

    private static Gen<T[]> SmallArrayOf<T>(Gen<T> gen) => Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(gen, n));

    private static readonly Gen<Variant> Leaf = Gen.OneOf(
        Gen.Constant(Variant.Nil),
        Gen.Elements(true, false).Select(b => (Variant)b),
        AnyLong.Select(l => (Variant)l),
        AnyDouble.Select(d => (Variant)d),
        AnyString.Select(s => (Variant)s),
        AnyVector2.Select(v => (Variant)v),
        AnyVector2.Two().Select(t => (Variant)new Rect2(t.Item1, t.Item2)),
        AnyVector3.Select(v => (Variant)v),
        AnyVector2.Three().Select(t => (Variant)new Transform2D(t.Item1, t.Item2, t.Item3)),
        AnyVector3.Zip(AnyFloat, (n, d) => (Variant)new Plane(n, d)),
        AnyFloat.Four().Select(t => (Variant)new Quat(t.Item1, t.Item2, t.Item3, t.Item4)),
        AnyVector3.Two().Select(t => (Variant)new AABB(t.Item1, t.Item2)),
        AnyBasis.Select(b => (Variant)b),
        AnyBasis.Zip(AnyVector3, (b, o) => (Variant)new Transform(b, o)),
        AnyColor.Select(c => (Variant)c),
        AnyNodePath.Select(p => (Variant)p),
        Gen.Constant((Variant)default(RID)),
        AnyLong.Where(id => id != 0).Select(id => Variant.FromObject(new EncodedObjectAsId(unchecked((ulong)id)))),
        SmallArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(a => (Variant)a),
        SmallArrayOf(AnyInt).Select(a => (Variant)a),
        SmallArrayOf(AnyFloat).Select(a => (Variant)a),
        SmallArrayOf(AnyString).Select(a => (Variant)a),
        SmallArrayOf(AnyVector2).Select(a => (Variant)a),
        SmallArrayOf(AnyVector3).Select(a => (Variant)a),
        SmallArrayOf(AnyColor).Select(a => (Variant)a));

    // ---- containers -------------------------------------------------------------------------------------------

    private static Gen<Variant> BuildVariantOfSize(int size, Gen<Variant>[] bySize)
    {
        if (size <= 1)
        {
            return Leaf;
        }

        var child = bySize[size / 3];
        var items = Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(child, n));
        return Gen.Frequency(
            (5, Leaf),
            (2, items.Select(a => (Variant)new VariantArray(a))),
            (2, Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(child.Two(), n)).Select(entries =>
            {
                var dictionary = new VariantDictionary();
                foreach (var (key, value) in entries)
                {
                    dictionary[key] = value;
                }

                return (Variant)dictionary;
            })),
            (1, from className in AnyString.Where(s => s.Length > 0)
                from properties in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(AnyString.Zip(child), n))
                select Variant.FromObject(new ObjectData(className, properties.Select(p => new KeyValuePair<string, Variant>(p.Item1, p.Item2)).ToArray()))),
            (1, from depth in Gen.Choose(1, 60)
                from inner in child
                select Nest(inner, depth)));
    }

    private static Variant Nest(Variant inner, int depth)
    {
        for (var i = 0; i < depth; i++)
        {
            inner = new VariantArray { inner };
        }

        return inner;
    }

    private const int MaxSize = 40;

    /// <summary>The value generator for each size, built once (smaller sizes first: each uses a third of its size for children).</summary>
    private static readonly Gen<Variant>[] BySize = BuildAllSizes();

    private static Gen<Variant>[] BuildAllSizes()
    {
        var bySize = new Gen<Variant>[MaxSize + 1];
        for (var size = 0; size <= MaxSize; size++)
        {
            bySize[size] = BuildVariantOfSize(size, bySize);
        }

        return bySize;
    }

    public static readonly Gen<Variant> AnyVariant = Gen.Sized(size => BySize[Math.Clamp(size, 0, MaxSize)]);

    // ---- decoder inputs ---------------------------------------------------------------------------------------

    /// <summary>A plausible header (any type byte up to 30, sometimes FLAG_64) followed by small-number-biased bytes.</summary>
    private static readonly Gen<DecoderInput> RandomBytes =
        from type in Gen.Choose(0, 30)
        from flag64 in Gen.Elements(0, 0, 1)
        from length in Gen.Choose(0, 40)
        from body in Gen.ArrayOf(Gen.Frequency((4, Gen.Constant(0)), (3, Gen.Choose(1, 8)), (3, Gen.Choose(0, 255))).Select(b => (byte)b), length)
        from headerOnly in Gen.Elements(false, false, false, true)
        from allowObjects in Gen.Elements(true, false)
        select new DecoderInput(headerOnly ? body : [(byte)type, 0, (byte)flag64, 0, .. body], allowObjects);

    /// <summary><paramref name="count"/> mutations of the encoding of one random value.</summary>
    private static Gen<DecoderBatch> MutatedEncodings(int count) =>
        from value in AnyVariant
        from full in Gen.Elements(true, false)
        let bytes = EncodeOrNil(value, full)
        from mutations in Gen.ArrayOf(Mutate(bytes).Zip(Gen.Elements(true, true, false)), count)
        select new DecoderBatch(mutations.Select(m => new DecoderInput(m.Item1, m.Item2)).ToArray());

    private static byte[] EncodeOrNil(Variant value, bool full)
    {
        try
        {
            return VariantCodec.Encode(value, full);
        }
        catch (VariantCodecException)
        {
            return [0, 0, 0, 0];
        }
    }

    private static Gen<byte[]> Mutate(byte[] bytes)
    {
        var words = bytes.Length / 4;
        return Gen.Frequency(
            (3, Gen.Choose(0, (bytes.Length * 8) - 1).Select(bit => With(bytes, b => b[bit / 8] ^= (byte)(1 << (bit % 8))))),
            (2, Gen.Choose(0, bytes.Length - 1).Select(n => bytes[..n])),
            (3, from word in Gen.Choose(0, words - 1)
                from huge in Gen.Elements(HugeWords)
                select With(bytes, b => System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(word * 4), huge))),
            (2, from word in Gen.Choose(0, words - 1)
                from type in Gen.Choose(0, 30)
                select With(bytes, b => b[word * 4] = (byte)type)),
            (2, from index in Gen.Choose(0, bytes.Length - 1)
                from value in Gen.Choose(0, 255)
                select With(bytes, b => b[index] = (byte)value)),
            (1, from cut in Gen.Choose(0, bytes.Length)
                from resume in Gen.Choose(0, bytes.Length)
                select (byte[])[.. bytes[..cut], .. bytes[resume..]]),
            (1, Gen.Constant<byte[]>([.. bytes, .. bytes])));
    }

    private static byte[] With(byte[] bytes, Action<byte[]> change)
    {
        var copy = (byte[])bytes.Clone();
        change(copy);
        return copy;
    }
}
