using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using GdNet.TestSupport;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

// Golden data: Data/var2str.json, printed by the real Godot 3.2.3 engine (godot3-server 3.2.3.stable) through
// Data/gen_var2str.py. A few lines of it, for the reader:
//   1.0 -> "1.0"   0.1 -> "0.1"   1/3 -> "0.333333"   1e20 -> "1e+20"   1e-5 -> "1e-05"   123456789.123 -> "1.23457e+08"
//   -0.0 -> "0.0"  1e300 -> "inf"  -inf -> "-inf.0"   Vector2(0.1, 1/3) -> "Vector2( 0.1, 0.333333 )"
//   {"a": 1, 2: [3, {}]} -> "{\n2: [ 3, {\n\n} ],\n\"a\": 1\n}"    [] -> "[  ]"    PoolByteArray() -> "PoolByteArray(  )"
public class VariantTextTests
{
    public static TheoryData<string> FormatSamples => VariantTextGolden.Names(VariantTextGolden.FormatEntries);

    public static TheoryData<string> SamplesGodotReadsLikeGdNet =>
        VariantTextGolden.Names(VariantTextGolden.FormatEntries, e => e.TryGetProperty("parsed", out _) && GodotReadsLikeGdNet(e.GetProperty("text").GetString()!));

    public static TheoryData<string> SamplesWithText =>
        VariantTextGolden.Names(VariantTextGolden.FormatEntries, e => e.GetProperty("text").GetString()!.Length > 0);

    public static TheoryData<string> SamplesGodotReadsBackExactly =>
        VariantTextGolden.Names(VariantTextGolden.FormatEntries, e => e.TryGetProperty("parsed", out var p) &&
            VariantTextGolden.Build(p).Equals(VariantTextGolden.Build(e.GetProperty("value"))));

    public static TheoryData<string> ObjectSamples =>
        VariantTextGolden.Names(VariantTextGolden.FormatEntries, e => e.GetProperty("value").GetProperty("type").GetString() == "Object"
            && !e.GetProperty("value").TryGetProperty("null", out _));

    public static TheoryData<string> ParseCases => VariantTextGolden.Names(VariantTextGolden.ParseEntries);

    // Godot reads "-inf.0"/"-nan.0" as the int 0, and the escapes \a \v as letters; GdNet reads what var2str meant.
    private static bool GodotReadsLikeGdNet(string text) =>
        !text.Contains("-inf", StringComparison.Ordinal) && !text.Contains("-nan", StringComparison.Ordinal)
        && !text.Contains("\\a", StringComparison.Ordinal) && !text.Contains("\\v", StringComparison.Ordinal);

    // ---- Format: golden samples ------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(FormatSamples))]
    public void Format_GodotSample_PrintsWhatVar2strPrinted(string name)
    {
        var e = VariantTextGolden.FormatEntry(name);
        var value = VariantTextGolden.Build(e.GetProperty("value"));

        Assert.Equal(e.GetProperty("text").GetString(), VariantText.Format(value));
    }

    [Fact]
    public void Format_StringBuilderOverload_AppendsSameText()
    {
        var sb = new StringBuilder("x=");
        VariantText.Format(new Vector2(1, 2), sb);

        Assert.Equal("x=Vector2( 1, 2 )", sb.ToString());
    }

    [Fact]
    public void Format_RealWithClearedSign_PrintsGodotNaN()
    {
        // double.NaN has its sign bit set, and Godot prints such a NaN as "-nan"; the positive NaN prints "nan".
        Assert.Equal("-nan.0", VariantText.Format(double.NaN));
        Assert.Equal("nan", VariantText.Format(VariantTextGolden.PositiveNaN));
    }

    [Fact]
    public void Format_ArrayContainingItself_ThrowsArgumentException()
    {
        var a = new VariantArray();
        a.Add(a);

        var ex = Assert.Throws<ArgumentException>(() => VariantText.Format(a));
        Assert.Contains("deeper than 1024", ex.Message, StringComparison.Ordinal);
    }

    // ---- Parse: golden samples -----------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(SamplesGodotReadsLikeGdNet))]
    public void Parse_GodotSampleText_ReturnsWhatStr2varReturned(string name)
    {
        var e = VariantTextGolden.FormatEntry(name);
        var expected = VariantTextGolden.Build(e.GetProperty("parsed"));

        var parsed = VariantText.Parse(e.GetProperty("text").GetString()!);

        Assert.Equal(expected, parsed);
        Assert.Equal(VariantTextGolden.Bits(expected), VariantTextGolden.Bits(parsed));
    }

    [Theory]
    [MemberData(nameof(SamplesWithText))]
    public void FormatParse_GodotSampleText_PrintsWhatVar2strOfStr2varPrinted(string name)
    {
        var e = VariantTextGolden.FormatEntry(name);
        var text = e.GetProperty("text").GetString()!;

        // Godot's var2str(str2var(text)) is the text itself except where a dictionary's key order depends on insertion
        // order (Godot's comparison is inconsistent for pool-array keys and NaN). Where Godot misreads its own text
        // (-inf.0, \a), GdNet must give back the text itself.
        var expected = e.GetProperty("parse_ok").GetBoolean() && GodotReadsLikeGdNet(text)
            ? e.GetProperty("reformatted").GetString()
            : text;
        Assert.Equal(expected, VariantText.Format(VariantText.Parse(text)));
    }

    [Theory]
    [MemberData(nameof(SamplesGodotReadsBackExactly))]
    public void ParseFormat_SampleGodotReadsBackExactly_ReturnsEqualValue(string name)
    {
        var value = VariantTextGolden.Build(VariantTextGolden.FormatEntry(name).GetProperty("value"));

        Assert.True(SameIgnoringDictionaryOrder(value, VariantText.Parse(VariantText.Format(value))));
    }

    [Theory]
    [MemberData(nameof(ObjectSamples))]
    public void Parse_ObjectSample_ReturnsTheObjectAsData(string name)
    {
        var e = VariantTextGolden.FormatEntry(name);
        var value = VariantTextGolden.Build(e.GetProperty("value"));

        var parsed = VariantText.Parse(e.GetProperty("text").GetString()!);

        Assert.True(SameIgnoringDictionaryOrder(value, parsed), $"{VariantText.Format(value)} != {VariantText.Format(parsed)}");
        if (e.GetProperty("parsed_object").GetString() is var cls and not "nested")
        {
            Assert.Equal(cls, parsed.AsObject() is ObjectData d ? d.ClassName : "EncodedObjectAsID");
        }
    }

    [Fact]
    public void Parse_NullObjectText_ReturnsNil()
    {
        Assert.Equal("null", VariantText.Format(Variant.FromObject(null)));
        Assert.True(VariantText.Parse("null").IsNil);
    }

    [Fact]
    public void Parse_EmptyTextOfAnRid_Throws()
    {
        Assert.Equal("", VariantText.Format(new RID(7)));
        Assert.Throws<VariantTextException>(() => VariantText.Parse(""));
    }

    [Theory]
    [MemberData(nameof(ParseCases))]
    public void Parse_Str2varCase_MatchesGodotOrTheDocumentedDifference(string name)
    {
        var e = VariantTextGolden.ParseEntry(name);
        var text = e.GetProperty("text").GetString()!;

        if (e.TryGetProperty("gdnet_error", out _) || (!e.GetProperty("godot_ok").GetBoolean() && !e.TryGetProperty("gdnet_value", out _)))
        {
            Assert.Throws<VariantTextException>(() => VariantText.Parse(text));
            return;
        }

        var parsed = VariantText.Parse(text);
        if (e.TryGetProperty("godot_object", out var cls))
        {
            Assert.Equal(cls.GetString(), Assert.IsType<ObjectData>(parsed.AsObject()).ClassName);
            return;
        }

        var expected = VariantTextGolden.Build(e.TryGetProperty("gdnet_value", out var mine) ? mine : e.GetProperty("godot_value"));
        Assert.Equal(expected, parsed);
        Assert.Equal(VariantTextGolden.Bits(expected), VariantTextGolden.Bits(parsed));
    }

    /// <summary>Every str2var case where GdNet deliberately differs has its line in the README's differences from Godot.</summary>
    [Fact]
    public void Str2varCasesWithAGdNetOnlyExpectation_AreListedInTheReadme()
    {
        var readme = File.ReadAllText(Path.Combine(Paths.RepoRoot, "README.md"));
        var section = readme[readme.IndexOf("## Where GdNet deliberately differs", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var differences = VariantTextGolden.ParseEntries
            .Where(e => e.TryGetProperty("gdnet_error", out _) || e.TryGetProperty("gdnet_value", out _))
            .Select(e => e.GetProperty("text").GetString()!)
            .ToList();

        Assert.NotEmpty(differences);
        Assert.All(differences, text => Assert.Contains("| `" + text.Replace("\n", "\\n", StringComparison.Ordinal) + "` |", section, StringComparison.Ordinal));
    }

    // ---- Parse: whitespace, errors ---------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(SamplesWithText))]
    public void Parse_SampleWithExtraWhitespaceAndComments_ReturnsSameValue(string name)
    {
        var text = VariantTextGolden.FormatEntry(name).GetProperty("text").GetString()!;
        var spaced = AddWhitespace(text, new Random(name.Aggregate(17, (h, c) => (h * 31) + c)));

        Assert.Equal(VariantText.Parse(text), VariantText.Parse(spaced));
    }

    [Theory]
    [InlineData("[ 1,\n  2 x ]", 2, 5, "Expected ',' or ']' in an array but found 'x'")]
    [InlineData("{ \"a\" 1 }", 1, 7, "Expected ':' after a dictionary key but found the number 1")]
    [InlineData("Vector2( 1 )", 1, 12, "Vector2 takes 2 numbers but got 1")]
    [InlineData("Vector2( 1, \"2\" )", 1, 13, "Vector2 takes 2 numbers: expected a number but found a string")]
    [InlineData("\n\n  \"abc", 3, 3, "Unterminated string: expected a closing '\"'")]
    [InlineData("", 1, 1, "Expected a value but the text is empty")]
    [InlineData("1 2", 1, 3, "Expected the end of the text after the value but found the number 2")]
    [InlineData("Foo( 1 )", 1, 1, "Unknown identifier 'Foo'")]
    [InlineData("PoolByteArray( 1, 300 )", 1, 19, "PoolByteArray elements must each be an integer from 0 to 255, but found the number 300")]
    [InlineData("PoolVector2Array( 1, 2, 3 )", 1, 1, "PoolVector2Array needs a multiple of 2 numbers but got 3")]
    [InlineData("9223372036854775808", 1, 1, "The integer 9223372036854775808 does not fit in 64 bits")]
    [InlineData("\"\\u12\"", 1, 2, "Malformed \\u escape: expected 4 hexadecimal digits")]
    [InlineData("- 5", 1, 2, "Expected a digit, 'inf' or 'nan' after '-'")]
    [InlineData("#ff0000", 1, 1, "Unexpected character '#'")]
    public void Parse_BadText_ThrowsWithLineColumnAndWhatWasExpected(string text, int line, int column, string reason)
    {
        var ex = Assert.Throws<VariantTextException>(() => VariantText.Parse(text));

        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.StartsWith(reason, ex.Reason, StringComparison.Ordinal);
        Assert.EndsWith($" at line {line}, column {column}.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingDeeperThanMaxDepth_Throws()
    {
        var text = new string('[', VariantText.MaxDepth + 1) + new string(']', VariantText.MaxDepth + 1);

        var ex = Assert.Throws<VariantTextException>(() => VariantText.Parse(text));
        Assert.Contains("deeper than 1024", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtMaxDepth_Succeeds()
    {
        var text = new string('[', VariantText.MaxDepth) + new string(']', VariantText.MaxDepth);

        Assert.Equal(VariantType.Array, VariantText.Parse(text).Type);
    }

    [Fact]
    public void TryParse_BadText_ReturnsFalseAndTheMessage()
    {
        Assert.False(VariantText.TryParse("[ 1, ", out var value, out var error));
        Assert.True(value.IsNil);
        Assert.Equal("Expected a value but found the end of the text at line 1, column 6.", error);
    }

    [Fact]
    public void TryParse_GoodText_ReturnsTheValue()
    {
        Assert.True(VariantText.TryParse("Vector2( 1, 2 )", out var value, out var error));
        Assert.Null(error);
        Assert.Equal(new Vector2(1, 2), value.AsVector2());
    }

    // ---- random values (FsCheck, fixed seed) -----------------------------------------------------------------

    private static readonly Config Fixed = Config.QuickThrowOnFailure.WithMaxTest(400).WithReplay(0x5EED_2024UL, 0x9E37_79B9_7F4A_7C15UL);

    [Fact]
    public void ParseFormat_RandomValueWithTextExactFloats_ReturnsEqualValue()
    {
        Prop.ForAll(Arb.From(RandomVariants.Value(exactFloats: true)), v =>
        {
            var text = VariantText.Format(v);
            var back = VariantText.Parse(text);
            return SameIgnoringDictionaryOrder(v, back) && VariantText.Format(back) == text;
        }).Check(Fixed);
    }

    [Fact]
    public void FormatParse_RandomValueWithAnyFloats_TextIsStable()
    {
        Prop.ForAll(Arb.From(RandomVariants.Value(exactFloats: false)), v =>
        {
            var text = VariantText.Format(v);
            return VariantText.Format(VariantText.Parse(text)) == text;
        }).Check(Fixed);
    }

    [Fact]
    public void FormatParse_EveryFloat32BitPatternSample_TextIsStable()
    {
        // 2^32 / 65521 spread samples over all exponents, denormals and NaN payloads, in both float contexts.
        for (long bits = 0; bits <= uint.MaxValue; bits += 65521)
        {
            var f = BitConverter.Int32BitsToSingle(unchecked((int)bits));
            foreach (var v in new Variant[] { (double)f, new Vector2(f, -f) })
            {
                var text = VariantText.Format(v);
                Assert.Equal(text, VariantText.Format(VariantText.Parse(text)));
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /// <summary>Deep equality where dictionaries compare as maps (var2str sorts keys, so order changes).</summary>
    internal static bool SameIgnoringDictionaryOrder(in Variant a, in Variant b)
    {
        if (a.Type != b.Type)
        {
            return false;
        }

        switch (a.Type)
        {
            case VariantType.Dictionary:
            {
                var x = a.AsDictionary();
                var y = b.AsDictionary();
                if (x.Count != y.Count)
                {
                    return false;
                }

                foreach (var (k, v) in x)
                {
                    // Keys may be dictionaries themselves, whose order also changed: match them the same way.
                    if (!y.Any(e => SameIgnoringDictionaryOrder(k, e.Key) && SameIgnoringDictionaryOrder(v, e.Value)))
                    {
                        return false;
                    }
                }

                return true;
            }

            case VariantType.Array:
            {
                var x = a.AsArray();
                var y = b.AsArray();
                return x.Count == y.Count && x.Zip(y).All(p => SameIgnoringDictionaryOrder(p.First, p.Second));
            }

            case VariantType.Object when a.AsObject() is ObjectData x && b.AsObject() is ObjectData y:
                return x.ClassName == y.ClassName && x.Properties.Count == y.Properties.Count &&
                    x.Properties.Zip(y.Properties).All(p => p.First.Key == p.Second.Key && SameIgnoringDictionaryOrder(p.First.Value, p.Second.Value));
            default:
                return a.Equals(b);
        }
    }

    /// <summary>Adds spaces, tabs, line breaks and ';' comments around every punctuation mark outside strings.</summary>
    private static string AddWhitespace(string text, Random rng)
    {
        string[] fillers = [" ", "\t", "\r\n", "  \n  ", " ; a comment ( [ {\n", "\n\n"];
        var sb = new StringBuilder();
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\')
                {
                    sb.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
                sb.Append(c);
                continue;
            }

            if (c is '{' or '}' or '[' or ']' or '(' or ')' or ',' or ':')
            {
                sb.Append(fillers[rng.Next(fillers.Length)]).Append(c).Append(fillers[rng.Next(fillers.Length)]);
                continue;
            }

            sb.Append(c);
        }

        return fillers[rng.Next(fillers.Length)] + sb + fillers[rng.Next(fillers.Length)];
    }
}
