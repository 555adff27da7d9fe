using GdNet.Variants;
using Xunit;
using static GdNet.Tests.Variants.VariantVectors;

namespace GdNet.Tests.Variants;

/// <summary>Every <c>values[]</c> and <c>objects[]</c> vector recorded from Godot 3.2.3, both directions.</summary>
public sealed class VariantCodecGoldenTests
{
    public static TheoryData<string> ValueNames => NamesOf("values");

    public static TheoryData<string> ObjectNames => NamesOf("objects");

    public static TheoryData<string> NodePathValueNames =>
        NamesOf("values", e => e.GetProperty("value").GetProperty("type").GetString() == "NodePath");

    private static readonly VariantReadOptions ObjectsAllowed = new() { AllowObjects = true };

    /// <summary>What our encoder must write: Godot's bytes with the NodePath padding garbage zeroed.</summary>
    private static string ExpectedHex(string name)
    {
        var entry = Entry("values", name);
        return OptionalString(entry, "hex_zero_padding") ?? entry.GetProperty("hex").GetString()!;
    }

    private static Variant Described(string name) => Build(Entry("values", name).GetProperty("value"));

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void Encode_GoldenValue_MatchesGodotBytes(string name) =>
        Assert.Equal(ExpectedHex(name), Hex(VariantCodec.Encode(Described(name))));

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void Encode_GoldenValueWithFullObjects_MatchesGodotBytes(string name) =>
        Assert.Equal(ExpectedHex(name), Hex(VariantCodec.Encode(Described(name), fullObjects: true)));

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void GetEncodedSize_GoldenValue_EqualsGodotLength(string name) =>
        Assert.Equal(ExpectedHex(name).Length / 2, VariantCodec.GetEncodedSize(Described(name)));

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void TryWrite_DestinationOneByteShort_ReturnsFalse(string name)
    {
        var value = Described(name);
        var buffer = new byte[VariantCodec.GetEncodedSize(value) - 1];

        Assert.False(VariantCodec.TryWrite(value, buffer, out var written));
        Assert.Equal(0, written);
    }

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void TryWrite_LargerDestination_WritesExactBytesAndReportsLength(string name)
    {
        var buffer = new byte[ExpectedHex(name).Length / 2 + 16];
        buffer.AsSpan().Fill(0xCC);

        Assert.True(VariantCodec.TryWrite(Described(name), buffer, out var written));
        Assert.Equal(ExpectedHex(name), Hex(buffer.AsSpan(0, written)));
    }

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void Read_GodotBytes_GivesDescribedValueAndConsumesAll(string name)
    {
        var bytes = Bytes(Entry("values", name).GetProperty("hex").GetString()!);

        Assert.True(VariantCodec.TryRead(bytes, default, out var value, out var consumed, out var error), error.Message);
        Assert.Equal(Described(name), value);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(ValueNames))]
    public void Read_GodotFullObjectBytesWithObjectsAllowed_GivesDescribedValue(string name)
    {
        var bytes = Bytes(Entry("values", name).GetProperty("hex_full_objects").GetString()!);

        Assert.Equal(Described(name), VariantCodec.Read(bytes, ObjectsAllowed));
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Encode_ObjectAsId_MatchesGodotBytes(string name)
    {
        var entry = Entry("objects", name);
        var value = Variant.FromObject(new EncodedObjectAsId(entry.GetProperty("instance_id_in_this_run").GetUInt64()));

        Assert.Equal(entry.GetProperty("hex").GetString(), Hex(VariantCodec.Encode(value)));
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Encode_ObjectAsIdWithFullObjects_StillWritesTheId(string name)
    {
        var entry = Entry("objects", name);
        var value = Variant.FromObject(new EncodedObjectAsId(entry.GetProperty("instance_id_in_this_run").GetUInt64()));

        Assert.Equal(entry.GetProperty("hex").GetString(), Hex(VariantCodec.Encode(value, fullObjects: true)));
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Encode_ObjectDataWithFullObjects_MatchesGodotBytes(string name)
    {
        var value = Variant.FromObject(FullObject(name));

        Assert.Equal(Entry("objects", name).GetProperty("hex_full_objects").GetString(), Hex(VariantCodec.Encode(value, fullObjects: true)));
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Encode_ObjectDataWithoutFullObjects_WritesNullInstanceId(string name)
    {
        var value = Variant.FromObject(FullObject(name));

        Assert.Equal("110001000000000000000000", Hex(VariantCodec.Encode(value)));
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Read_ObjectAsIdWithObjectsOff_GivesEncodedObjectAsId(string name)
    {
        var entry = Entry("objects", name);

        var value = VariantCodec.Read(Bytes(entry.GetProperty("hex").GetString()!));

        Assert.Equal(new EncodedObjectAsId(entry.GetProperty("instance_id_in_this_run").GetUInt64()), value.AsObject());
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Read_FullObjectWithObjectsAllowed_GivesObjectData(string name)
    {
        var bytes = Bytes(Entry("objects", name).GetProperty("hex_full_objects").GetString()!);

        Assert.Equal(FullObject(name), VariantCodec.Read(bytes, ObjectsAllowed).AsObject());
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void TryRead_FullObjectWithObjectsOff_FailsUnauthorized(string name)
    {
        var bytes = Bytes(Entry("objects", name).GetProperty("hex_full_objects").GetString()!);

        Assert.False(VariantCodec.TryRead(bytes, default, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.ObjectsNotAllowed, error.Reason);
        Assert.Equal(GdNet.Error.Unauthorized, error.GodotError);
    }

    [Theory]
    [MemberData(nameof(NodePathValueNames))]
    public void NodePathText_OfGoldenPath_ParsesToTheWireParts(string name)
    {
        var description = Entry("values", name).GetProperty("value");

        Assert.Equal(Described(name).AsNodePath(), new NodePath(description.GetProperty("value").GetString()!));
    }
}
