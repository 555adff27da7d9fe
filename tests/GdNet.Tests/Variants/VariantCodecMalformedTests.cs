using System.Text.Json;
using GdNet.Variants;
using Xunit;
using static GdNet.Tests.Variants.VariantVectors;

namespace GdNet.Tests.Variants;

/// <summary>
/// Every <c>malformed[]</c> vector: Godot 3.2.3's <c>bytes2var</c> outcome (error, or the value and its re-encoding).
/// Where GdNet deliberately differs, the vector is left out of the theory and a named test says which and why.
/// </summary>
public sealed class VariantCodecMalformedTests
{
    /// <summary>Malformed vectors whose outcome GdNet deliberately changes; each has a named test below.</summary>
    private static readonly HashSet<string> DeliberateDifferences = ["object_full_unknown_class_allowed"];

    public static TheoryData<string> MalformedNames =>
        NamesOf("malformed", e => !DeliberateDifferences.Contains(e.GetProperty("name").GetString()!));

    public static TheoryData<string> MalformedErrorNames =>
        NamesOf("malformed", e => !DeliberateDifferences.Contains(e.GetProperty("name").GetString()!) && Outcome(e) == "error");

    public static TheoryData<string> MalformedValueNames =>
        NamesOf("malformed", e => !DeliberateDifferences.Contains(e.GetProperty("name").GetString()!) && Outcome(e) == "value");

    /// <summary>The malformed vectors Godot rejects, with the error code it returned (Data/decode-rules.json).</summary>
    public static TheoryData<string> MalformedErrorCodeNames =>
        DecodeRules.Names("malformed_errors", e => !DeliberateDifferences.Contains(e.GetProperty("name").GetString()!));

    private static string Outcome(JsonElement entry) => entry.GetProperty("bytes2var").GetProperty("outcome").GetString()!;

    private static (byte[] Bytes, VariantReadOptions Options) Input(string name)
    {
        var entry = Entry("malformed", name);
        return (Bytes(entry.GetProperty("hex").GetString()!), new VariantReadOptions { AllowObjects = entry.GetProperty("allow_objects").GetBoolean() });
    }

    [Theory]
    [MemberData(nameof(MalformedErrorNames))]
    public void TryRead_MalformedVectorGodotRejects_Fails(string name)
    {
        var (bytes, options) = Input(name);

        Assert.False(VariantCodec.TryRead(bytes, options, out var value, out var consumed, out var error));
        Assert.NotEqual(VariantErrorReason.None, error.Reason);
        Assert.True(value.IsNil);
        Assert.Equal(0, consumed);
    }

    [Theory]
    [MemberData(nameof(MalformedErrorCodeNames))]
    public void TryRead_MalformedVectorGodotRejects_ReportsGodotsErrorCode(string name)
    {
        var (bytes, options) = Input(name);
        var recorded = DecodeRules.Entry("malformed_errors", name).GetProperty("error");

        Assert.False(VariantCodec.TryRead(bytes, options, out _, out _, out var error));
        Assert.Equal(DecodeRules.GodotError(recorded), error.GodotError);
    }

    [Fact]
    public void MalformedErrorCodes_CoverEveryVectorGodotRejects() =>
        Assert.Equal(MalformedErrorNames.Count + 1, DecodeRules.Section("malformed_errors").Count()); // + the unknown class

    [Theory]
    [MemberData(nameof(MalformedErrorNames))]
    public void Read_MalformedVectorGodotRejects_ThrowsVariantCodecException(string name)
    {
        var (bytes, options) = Input(name);

        var ex = Assert.Throws<VariantCodecException>(() => VariantCodec.Read(bytes, options));
        Assert.InRange(ex.Offset, 0, bytes.Length);
    }

    [Theory]
    [MemberData(nameof(MalformedValueNames))]
    public void TryRead_MalformedVectorGodotAccepts_GivesGodotsValue(string name)
    {
        var (bytes, options) = Input(name);
        var expected = Entry("malformed", name).GetProperty("bytes2var");

        Assert.True(VariantCodec.TryRead(bytes, options, out var value, out var consumed, out var error), error.Message);
        Assert.Equal(expected.GetProperty("variant_type_id").GetInt32(), (int)value.Type);
        Assert.InRange(consumed, 4, bytes.Length);
        if (expected.TryGetProperty("object_class", out var objectClass))
        {
            DecodeRules.AssertObjectClass(objectClass.GetString()!, value.AsObject());
        }
        else
        {
            Assert.Equal(Build(expected.GetProperty("value")), value);
        }
    }

    [Theory]
    [MemberData(nameof(MalformedValueNames))]
    public void Encode_ValueDecodedFromMalformedVector_MatchesGodotReencoding(string name)
    {
        var (bytes, options) = Input(name);
        var expected = Entry("malformed", name).GetProperty("bytes2var");
        var value = VariantCodec.Read(bytes, options);

        // Godot does not re-encode objects in these vectors (object_class replaces reencoded_hex): GdNet re-encodes an
        // EncodedObjectAsId as the same id, a null object as NIL and ObjectData in full.
        var reencoded = expected.TryGetProperty("reencoded_hex", out var hex) ? hex.GetString()! : Hex(bytes);
        if (expected.TryGetProperty("object_class", out var objectClass) && objectClass.GetString() == "null")
        {
            reencoded = "00000000";
        }

        Assert.Equal(reencoded, Hex(VariantCodec.Encode(value, fullObjects: options.AllowObjects)));
    }

    [Fact]
    public void MalformedVectors_DeliberateDifferences_AreAllPresentInTheFile()
    {
        foreach (var name in DeliberateDifferences)
        {
            Assert.Equal(name, Entry("malformed", name).GetProperty("name").GetString());
        }
    }

    [Fact]
    public void MalformedVectors_Theories_CoverEveryOtherEntry()
    {
        var total = Root.GetProperty("malformed").GetArrayLength();

        Assert.Equal(total, MalformedErrorNames.Count + MalformedValueNames.Count + DeliberateDifferences.Count);
    }

    /// <summary>
    /// Difference: Godot 3.2.3 instantiates the class with ClassDB and fails with ERR_UNAVAILABLE for an unknown one
    /// ("Nope"). GdNet never instantiates and has no class list, so by default it returns the object as data; a caller
    /// who wants Godot's check supplies <see cref="VariantReadOptions.IsKnownClass"/>.
    /// </summary>
    [Fact]
    public void Read_FullObjectOfUnknownClass_GdNetGivesObjectDataWhereGodotFails()
    {
        var (bytes, options) = Input("object_full_unknown_class_allowed");

        var value = VariantCodec.Read(bytes, options);

        Assert.Equal(new ObjectData("Nope", []), value.AsObject());
    }

    [Fact]
    public void TryRead_FullObjectClassRefusedByIsKnownClass_FailsWithGodotsErrorCode()
    {
        var (bytes, options) = Input("object_full_unknown_class_allowed");
        options = options with { IsKnownClass = name => name is "Reference" or "Node" };
        var recorded = DecodeRules.Entry("malformed_errors", "object_full_unknown_class_allowed").GetProperty("error");

        Assert.False(VariantCodec.TryRead(bytes, options, out _, out _, out var error));
        Assert.Equal(VariantErrorReason.UnknownClass, error.Reason);
        Assert.Equal(DecodeRules.GodotError(recorded), error.GodotError);
        Assert.Equal(4, error.Offset);
    }

    /// <summary>
    /// Difference: Godot 3.2.3 accepts these 9 bytes (the malformed vector) and, per the spec (§1.4, read from the
    /// source: the length it reports is not visible from GDScript, so no vector records it), reports 12 as consumed.
    /// GdNet never reports more bytes than the buffer holds, so a caller walking consecutive values cannot step past the
    /// end.
    /// </summary>
    [Fact]
    public void Read_PoolByteArrayMissingPaddingAtEnd_ReportsOnlyTheBytesPresent()
    {
        var (bytes, options) = Input("poolbyte_missing_padding");

        VariantCodec.Read(bytes, out var consumed, options);

        Assert.Equal(9, consumed);
    }

    [Fact]
    public void Read_PoolByteArrayFollowedByMoreBytes_ConsumesItsPadding()
    {
        var bytes = Bytes("1400000001000000070000000200000005000000");

        VariantCodec.Read(bytes, out var consumed);

        Assert.Equal(12, consumed);
    }
}
