using GdNet.Variants;
using Xunit;
using static GdNet.Tests.Variants.VariantVectors;

namespace GdNet.Tests.Variants;

/// <summary>The throwing wrappers and the allocation promise of the encoder.</summary>
public sealed class VariantCodecApiTests
{
    private static Variant TypicalValue()
    {
        var dictionary = new VariantDictionary { { "name", "probe" }, { 2, new Vector2(1, 2) }, { "n", NodePath.Empty } };
        return new VariantArray
        {
            1, 2_147_483_648L, 0.1, "héllo", new Vector3(1, 2, 3), Transform.Identity, new NodePath("/root/a:b"),
            dictionary, new byte[] { 1, 2, 3 }, new[] { "a", "b" }, new[] { new Color(1, 0, 0) },
            Variant.FromObject(new EncodedObjectAsId(7)), Variant.FromObject(new ObjectData("Node", [new("x", 1)])),
        };
    }

    [Fact]
    public void Write_DestinationTooSmall_ThrowsArgumentExceptionNamingTheSizeNeeded()
    {
        var ex = Assert.Throws<ArgumentException>(() => VariantCodec.Write("abcd", new byte[8]));

        Assert.Equal("destination", ex.ParamName);
        Assert.Contains("needs 12", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_LargeEnoughDestination_ReturnsBytesWritten()
    {
        var buffer = new byte[64];

        Assert.Equal(12, VariantCodec.Write("abcd", buffer));
        Assert.Equal("040000000400000061626364", Hex(buffer.AsSpan(0, 12)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TryWrite_TypicalValue_AllocatesNothing(bool fullObjects)
    {
        var value = TypicalValue();
        var buffer = new byte[4096];
        VariantCodec.TryWrite(value, buffer, out _, fullObjects); // warm up (JIT, static data)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ok = VariantCodec.TryWrite(value, buffer, out _, fullObjects);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(ok);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void GetEncodedSize_TypicalValue_AllocatesNothing()
    {
        var value = TypicalValue();
        VariantCodec.GetEncodedSize(value, true);

        var before = GC.GetAllocatedBytesForCurrentThread();
        VariantCodec.GetEncodedSize(value, true);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encode_TypicalValue_RoundTripsThroughRead(bool fullObjects)
    {
        var value = TypicalValue();
        var expected = fullObjects ? value : TypicalValueWithoutFullObjects();

        var decoded = VariantCodec.Read(VariantCodec.Encode(value, fullObjects), new VariantReadOptions { AllowObjects = true });

        Assert.Equal(expected, decoded);
    }

    private static Variant TypicalValueWithoutFullObjects()
    {
        var array = TypicalValue().AsArray();
        array[^1] = Variant.FromObject(null); // ObjectData goes as instance id 0, read back as a null object
        return array;
    }

    [Fact]
    public void Read_WithConsumedOverload_ReportsTheValueLengthOnly()
    {
        var value = VariantCodec.Read(Bytes("0400000001000000610000000000"), out var consumed);

        Assert.Equal(("a", 12), (value.AsString(), consumed));
    }

    [Fact]
    public void TryRead_Failure_LeavesNilAndZeroConsumed()
    {
        Assert.False(VariantCodec.TryRead(Bytes("0500000000"), default, out var value, out var consumed, out var error));

        Assert.Equal((Variant.Nil, 0), (value, consumed));
        Assert.Equal(VariantErrorReason.Truncated, error.Reason);
        Assert.Equal(VariantType.Vector2, error.Type);
    }

    [Fact]
    public void VariantCodecException_FromError_CarriesReasonOffsetAndMessage()
    {
        var error = new VariantError(VariantErrorReason.UnknownType, 12, GdNet.Error.InvalidData, 99);

        var ex = new VariantCodecException(error);

        Assert.Equal((VariantErrorReason.UnknownType, 12, error.Message), (ex.Reason, ex.Offset, ex.Message));
    }
}
