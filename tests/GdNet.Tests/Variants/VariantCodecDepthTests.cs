using GdNet.Peers;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

/// <summary>
/// Nesting limits. Godot 3.2.3 has none: 1026 nested arrays decode and 200000 crash the engine (both recorded in
/// Data/decode-rules.json and checked by <see cref="VariantCodecDecodeRulesTests"/>; spec §1.8). GdNet always enforces
/// Godot 3.5's limit of 1024 levels on decode and encode, and also stops before the stack runs out.
/// </summary>
public sealed class VariantCodecDepthTests
{
    /// <summary><paramref name="count"/> arrays nested in each other, the innermost empty.</summary>
    private static byte[] NestedArrays(int count)
    {
        var bytes = new byte[count * 8];
        for (var i = 0; i < count; i++)
        {
            bytes[i * 8] = 0x13;
            bytes[(i * 8) + 4] = i == count - 1 ? (byte)0 : (byte)1;
        }

        return bytes;
    }

    private static Variant NestedArrayValue(int count)
    {
        var inner = new VariantArray();
        for (var i = 1; i < count; i++)
        {
            inner = new VariantArray { inner };
        }

        return inner;
    }

    [Fact]
    public void Read_1025NestedArrays_SucceedsAtTheDepthLimit()
    {
        var bytes = NestedArrays(1025);

        Assert.True(VariantCodec.TryRead(bytes, default, out _, out var consumed, out var error), error.Message);
        Assert.Equal(bytes.Length, consumed);
    }

    /// <summary>
    /// Difference from Godot 3.2.3, which decodes this (decode-rules.json: nested_arrays_1026); Godot 3.5 fails it the
    /// same way (ERR_OUT_OF_MEMORY).
    /// </summary>
    [Fact]
    public void TryRead_1026NestedArrays_FailsTooDeepUnlike323()
    {
        Assert.False(VariantCodec.TryRead(NestedArrays(1026), default, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.TooDeep, error.Reason);
        Assert.Equal(GdNet.Error.OutOfMemory, error.GodotError);
        Assert.Equal(1025 * 8, error.Offset);
    }

    /// <summary>Difference: this 1.6 MB blob segfaults Godot 3.2.3 (decode-rules.json: nested_arrays_200000).</summary>
    [Fact]
    public void TryRead_200000NestedArrays_FailsTooDeepWithoutCrashing()
    {
        Assert.False(VariantCodec.TryRead(NestedArrays(200_000), default, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.TooDeep, error.Reason);
    }

    [Fact]
    public void TryRead_UnlimitedMaxDepthAndDeepNesting_FailsTooDeepBeforeTheStackRunsOut()
    {
        var options = new VariantReadOptions { MaxDepth = int.MaxValue };

        Assert.False(VariantCodec.TryRead(NestedArrays(2_000_000), options, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.TooDeep, error.Reason);
    }

    [Fact]
    public void TryRead_MaxDepthZero_AcceptsScalarsAndEmptyContainersOnly()
    {
        var options = new VariantReadOptions { MaxDepth = 0 };

        Assert.True(VariantCodec.TryRead(NestedArrays(1), options, out _, out _, out _));
        Assert.False(VariantCodec.TryRead(NestedArrays(2), options, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.TooDeep, error.Reason);
    }

    [Fact]
    public void TryRead_NestingThroughDictionaryValues_CountsEachLevel()
    {
        // {"": {"": []}} is three levels: the inner array sits at depth 2.
        var bytes = Convert.FromHexString("1200000001000000" + "0400000000000000" + "1200000001000000" + "0400000000000000" + "1300000000000000");

        Assert.True(VariantCodec.TryRead(bytes, new VariantReadOptions { MaxDepth = 2 }, out _, out _, out _));
        Assert.False(VariantCodec.TryRead(bytes, new VariantReadOptions { MaxDepth = 1 }, out _, out _, out _));
    }

    [Fact]
    public void TryRead_NestingThroughObjectProperties_CountsEachLevel()
    {
        // Object "A" { "p": [] }: the array is the value of a property, at depth 1.
        var bytes = Convert.FromHexString("11000000" + "0100000041000000" + "01000000" + "0100000070000000" + "1300000000000000");

        Assert.True(VariantCodec.TryRead(bytes, new VariantReadOptions { AllowObjects = true, MaxDepth = 1 }, out _, out _, out _));
        Assert.False(VariantCodec.TryRead(bytes, new VariantReadOptions { AllowObjects = true, MaxDepth = 0 }, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.TooDeep, error.Reason);
    }

    [Fact]
    public void DefaultOptions_MaxDepth_Is1024()
    {
        Assert.Equal(1024, default(VariantReadOptions).MaxDepth);
        Assert.Equal(new VariantReadOptions(), default(VariantReadOptions));
    }

    [Fact]
    public void VariantReadOptions_NegativeMaxDepth_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VariantReadOptions { MaxDepth = -1 });

    [Fact]
    public void Encode_1025NestedArrays_SucceedsAtTheDepthLimit() =>
        Assert.Equal(NestedArrays(1025), VariantCodec.Encode(NestedArrayValue(1025)));

    [Fact]
    public void GetEncodedSize_1026NestedArrays_ThrowsTooDeep()
    {
        var ex = Assert.Throws<VariantCodecException>(() => VariantCodec.GetEncodedSize(NestedArrayValue(1026)));

        Assert.Equal(VariantErrorReason.TooDeep, ex.Reason);
    }

    [Fact]
    public void TryWrite_ArrayContainingItself_ThrowsTooDeep()
    {
        var array = new VariantArray();
        array.Add(array);

        var ex = Assert.Throws<VariantCodecException>(() => VariantCodec.TryWrite(array, new byte[1 << 20], out _));
        Assert.Equal(VariantErrorReason.TooDeep, ex.Reason);
    }

    [Fact]
    public void Encode_DictionaryContainingItself_ThrowsTooDeep()
    {
        var dictionary = new VariantDictionary();
        dictionary["self"] = dictionary;

        Assert.Equal(VariantErrorReason.TooDeep, Assert.Throws<VariantCodecException>(() => VariantCodec.Encode(dictionary)).Reason);
    }

    [Fact]
    public void PutVar_ArrayContainingItself_ReturnsOutOfMemory()
    {
        var (a, _) = InMemoryPacketPeer.CreatePair();
        var array = new VariantArray();
        array.Add(array);

        Assert.Equal(GdNet.Error.OutOfMemory, a.PutVar(array));
    }
}
