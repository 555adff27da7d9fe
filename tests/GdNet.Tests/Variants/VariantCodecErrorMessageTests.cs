using GdNet.Variants;
using Xunit;
using static GdNet.Tests.Variants.VariantVectors;

namespace GdNet.Tests.Variants;

/// <summary>The readable messages of <see cref="VariantError"/> and <see cref="VariantCodecException"/>.</summary>
public sealed class VariantCodecErrorMessageTests
{
    private static VariantCodecException ReadFails(string hex, VariantReadOptions options = default) =>
        Assert.Throws<VariantCodecException>(() => VariantCodec.Read(Bytes(hex), options));

    [Fact]
    public void Read_StringLongerThanBuffer_SaysLengthBytesLeftAndOffset()
    {
        var ex = ReadFails("04000000" + "40420f00" + new string('0', 24));

        Assert.Equal("String length 1000000 exceeds the 12 bytes left at offset 8", ex.Message);
        Assert.Equal(8, ex.Offset);
        Assert.Equal(VariantErrorReason.InvalidLength, ex.Reason);
        Assert.Equal(GdNet.Error.FileEof, ex.Error.GodotError);
    }

    [Fact]
    public void Read_NestedStringMissingPadding_SaysPaddedLengthAndNestedOffset() =>
        Assert.Equal(
            "String length 5 (8 with padding) exceeds the 2 bytes left at offset 16",
            ReadFails("130000000100000004000000050000006162").Message);

    [Fact]
    public void Read_TruncatedHeader_SaysHeaderNeedsFourBytes() =>
        Assert.Equal("A Variant header needs 4 bytes but only 2 are left at offset 0", ReadFails("0200").Message);

    [Fact]
    public void Read_UnknownType_SaysTypeIdAndRange() =>
        Assert.Equal("Unknown Variant type 27 at offset 0 (Godot 3 types are 0 to 26)", ReadFails("1b000000").Message);

    [Fact]
    public void Read_TruncatedVector2_SaysTypeBytesNeededAndLeft() =>
        Assert.Equal("Vector2 needs 8 bytes but only 4 are left at offset 4", ReadFails("050000000000803f").Message);

    [Fact]
    public void Read_PoolCountBeyondBuffer_SaysCountAndBytesNeeded() =>
        Assert.Equal(
            "PoolIntArray count 2 needs at least 8 bytes but only 4 are left at offset 8",
            ReadFails("150000000200000001000000").Message);

    [Fact]
    public void Read_NegativePoolCount_SaysNegative() =>
        Assert.Equal("PoolColorArray count -1 is negative at offset 8", ReadFails("1a000000ffffffff").Message);

    [Fact]
    public void Read_FullObjectNotAllowed_SaysHowToAllowIt() =>
        Assert.Equal(
            "Full object at offset 0 refused: object decoding is not allowed (set AllowObjects to accept it)",
            ReadFails("11000000090000005265666572656e636500000000000000").Message);

    [Fact]
    public void Read_TooDeep_SaysLimitAndOffset() =>
        Assert.Equal(
            "Variant nesting deeper than 0 levels at offset 8",
            ReadFails("13000000010000000000000000", new VariantReadOptions { MaxDepth = 0 }).Message);

    [Fact]
    public void Read_InvalidUtf8_SaysLengthAndOffset() =>
        Assert.Equal("String of 2 bytes at offset 8 is not valid UTF-8", ReadFails("0400000002000000fffe0000").Message);

    [Fact]
    public void Read_OldFormatNodePath_SaysItIsTheOldFormat() =>
        Assert.Equal(
            "NodePath at offset 4 uses the old format (bit 31 of its name count is clear), which Godot 3 rejects",
            ReadFails("0f000000040000002f726f6f").Message);

    [Fact]
    public void Encode_TooDeep_SaysWhyItCannotBeEncoded()
    {
        var array = new VariantArray();
        array.Add(array);

        var ex = Assert.Throws<VariantCodecException>(() => VariantCodec.Encode(array));

        Assert.Equal("The value nests deeper than 1024 levels (does a container contain itself?) and cannot be encoded", ex.Message);
        Assert.Equal(-1, ex.Offset);
    }

    [Fact]
    public void VariantError_ToString_IsTheMessage()
    {
        var error = new VariantError(VariantErrorReason.Truncated, 4, GdNet.Error.InvalidData, 8, 4, VariantType.Vector2);

        Assert.Equal(error.Message, error.ToString());
    }
}
