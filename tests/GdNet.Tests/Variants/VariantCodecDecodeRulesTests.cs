using System.Collections.Immutable;
using GdNet.Variants;
using Xunit;
using static GdNet.Tests.Variants.VariantVectors;

namespace GdNet.Tests.Variants;

/// <summary>
/// Decoder rules beyond the recorded vectors. Each "as Godot" case was checked against the Godot 3.2.3 binary;
/// the "GdNetRejects" cases are deliberate differences, explained on each test.
/// </summary>
public sealed class VariantCodecDecodeRulesTests
{
    [Theory]
    [InlineData("02ff000001000000")] // header 0x0000FF02
    [InlineData("0200020001000000")] // header 0x00020002: bit 17 is not FLAG_64
    public void Read_HeaderBitsOtherThanTypeAndFlag64_AreIgnored(string hex) =>
        Assert.Equal(Variant.From(1L), VariantCodec.Read(Bytes(hex)));

    [Fact]
    public void Read_StringWithLeadingBom_DropsTheBomAsGodot() =>
        Assert.Equal("a", VariantCodec.Read(Bytes("0400000004000000efbbbf61")).AsString());

    [Fact]
    public void Read_StringBytesAfterNul_AreNotValidatedAsGodot() =>
        Assert.Equal("a", VariantCodec.Read(Bytes("04000000030000006100ff00")).AsString());

    [Fact]
    public void Read_NodePathCountsThatWrapAround_AddUpAsUnsigned32BitAsGodot()
    {
        // 2 names + 0xFFFFFFFF subnames = 1 string in total, which is a name.
        var path = VariantCodec.Read(Bytes("0f00000002000080ffffffff000000000100000061000000")).AsNodePath();

        Assert.Equal(new NodePath(["a"], [], false), path);
    }

    [Fact]
    public void Read_AbsoluteNodePathWithoutParts_IsTheEmptyPathAsGodot() =>
        Assert.Equal(NodePath.Empty, VariantCodec.Read(Bytes("0f00000000000080000000000100000000000000")).AsNodePath());

    [Fact]
    public void Read_FullObjectWithNegativePropertyCount_HasNoPropertiesAsGodot()
    {
        var bytes = Bytes("11000000090000005265666572656e6365000000ffffffff");

        var value = VariantCodec.Read(bytes, new VariantReadOptions { AllowObjects = true });

        Assert.Equal(new ObjectData("Reference", []), value.AsObject());
    }

    [Fact]
    public void Read_ObjectAsIdZero_GivesNullObject()
    {
        var value = VariantCodec.Read(Bytes("110001000000000000000000"));

        Assert.Equal(VariantType.Object, value.Type);
        Assert.Null(value.AsObject());
    }

    /// <summary>
    /// Difference: Godot 3.2.3's UTF-8 parser accepts some ill-formed input: 3- and 4-byte overlong forms
    /// (<c>e0 80 af</c> becomes "/"), UTF-8-encoded surrogates, 5- and 6-byte sequences and code points above U+10FFFF.
    /// GdNet decodes UTF-8 strictly and rejects them: overlong forms are a classic filter bypass, and the others cannot be
    /// held in a .NET string. Godot never produces them when it encodes.
    /// </summary>
    [Theory]
    [InlineData("0400000003000000e080af00")]   // overlong "/"
    [InlineData("0400000004000000f0808080")]   // overlong NUL (Godot rejects this one too)
    [InlineData("0400000003000000eda08000")]   // U+D800 encoded
    [InlineData("0400000004000000f4908080")]   // U+110000
    [InlineData("0400000005000000f888808080000000")] // 5-byte sequence
    public void TryRead_IllFormedUtf8_GdNetRejectsAsInvalidUtf8(string hex)
    {
        Assert.False(VariantCodec.TryRead(Bytes(hex), default, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.InvalidUtf8, error.Reason);
        Assert.Equal(GdNet.Error.InvalidData, error.GodotError);
    }

    [Fact]
    public void Read_ConsecutiveValues_BytesConsumedWalksThem()
    {
        var bytes = Bytes("0200000007000000" + "040000000100000061000000" + "00000000");

        var first = VariantCodec.Read(bytes, out var a);
        var second = VariantCodec.Read(bytes.AsSpan(a), out var b);
        var third = VariantCodec.Read(bytes.AsSpan(a + b), out var c);

        Assert.Equal((Variant.From(7L), Variant.From("a"), Variant.Nil), (first, second, third));
        Assert.Equal(bytes.Length, a + b + c);
    }

    [Fact]
    public void Read_DictionaryWithDuplicateKey_KeepsFirstPositionAndLastValue()
    {
        // {1: 10, 2: 0, 1: 20}
        var bytes = Bytes("1200000003000000" +
            "0200000001000000" + "020000000a000000" +
            "0200000002000000" + "0200000000000000" +
            "0200000001000000" + "0200000014000000");

        var dictionary = VariantCodec.Read(bytes).AsDictionary();

        Assert.Equal([Variant.From(1L), Variant.From(2L)], dictionary.Keys.ToArray());
        Assert.Equal(Variant.From(20L), dictionary[1]);
    }

    [Fact]
    public void Encode_StringWithLoneSurrogate_WritesTheReplacementCharacter()
    {
        var value = Variant.From("a\uD800");

        var bytes = VariantCodec.Encode(value);

        Assert.Equal("040000000400000061efbfbd", Hex(bytes));
        Assert.Equal(bytes.Length, VariantCodec.GetEncodedSize(value));
    }

    [Fact]
    public void Encode_NullObject_WritesNilAsGodot323() =>
        Assert.Equal("00000000", Hex(VariantCodec.Encode(Variant.FromObject(null), fullObjects: true)));

    [Fact]
    public void Encode_NonEmptyRid_WritesOnlyTheHeader() =>
        Assert.Equal("10000000", Hex(VariantCodec.Encode(new RID(42))));

    [Fact]
    public void Encode_PoolStringArrayElement_CountsTrailingNulAndPads() =>
        Assert.Equal(
            "1700000004000000020000006100000004000000616263000500000061626364000000000100000000000000",
            Hex(VariantCodec.Encode(new[] { "a", "abc", "abcd", "" })));

    [Fact]
    public void Encode_NodePathBuiltFromParts_WritesFlagsAndCounts()
    {
        var path = new NodePath(ImmutableArray.Create("root", "x"), ImmutableArray.Create("p"), absolute: true);

        Assert.Equal(
            "0f00000002000080010000000100000004000000726f6f7401000000780000000100000070000000",
            Hex(VariantCodec.Encode(path)));
    }
}
