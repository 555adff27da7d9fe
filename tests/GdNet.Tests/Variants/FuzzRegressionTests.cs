using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

/// <summary>Inputs found by the fuzz targets (fuzz/README.md), kept as bytes, with what they must do now.</summary>
public class FuzzRegressionTests
{
    /// <summary>
    /// str2var, found by afl: <c>Object(Rence,"s\"ipo":null)</c> parsed to a property named <c>s"ipo</c>, which var2str
    /// printed unescaped (<c>"s"ipo":null</c>), text that str2var refused. Property names are escaped now.
    /// </summary>
    [Fact]
    public void Str2var_ObjectPropertyNameWithAQuote_PrintsTextThatReadsBack()
    {
        byte[] input = [.. "Object(Rence,\"s\\\"ipo\":null)\n"u8];

        var value = VariantText.Parse(System.Text.Encoding.UTF8.GetString(input));
        var printed = VariantText.Format(value);
        var again = VariantText.Parse(printed);

        var o = Assert.IsType<ObjectData>(again.AsObject());
        Assert.Equal("Rence", o.ClassName);
        Assert.Equal("s\"ipo", Assert.Single(o.Properties).Key);
        Assert.Equal("Object(Rence,\"s\\\"ipo\":null)\n", printed);
    }

    /// <summary>
    /// The same flaw as an injection: a full object from remote bytes (objects on) whose property name closes the quote
    /// printed as two properties of the attacker's choosing. It reads back as the one property it is.
    /// </summary>
    [Fact]
    public void Var2str_RemoteObjectWithCraftedNames_ReadsBackAsTheSameObject()
    {
        var crafted = new ObjectData("Node,\"x\":1", [new("a\":1,\"admin\":true,\"b", Variant.From(2)), new("back\\slash", Variant.From("v"))]);

        var again = VariantText.Parse(VariantText.Format(Variant.FromObject(crafted)));

        var o = Assert.IsType<ObjectData>(again.AsObject());
        Assert.Equal(crafted.ClassName, o.ClassName);
        Assert.Equal(crafted.Properties.Select(p => p.Key), o.Properties.Select(p => p.Key));
        Assert.Equal(2, o.Properties[0].Value.AsInt64());
    }

    /// <summary>Godot's own classes and properties (identifiers) print exactly as Godot 3.2.3 prints them.</summary>
    [Fact]
    public void Var2str_IdentifierNames_AreUnchanged()
    {
        var o = new ObjectData("Reference", [new("script", default), new("my_value", Variant.From(1))]);

        Assert.Equal("Object(Reference,\"script\":null,\"my_value\":1)\n", VariantText.Format(Variant.FromObject(o)));
    }
}
