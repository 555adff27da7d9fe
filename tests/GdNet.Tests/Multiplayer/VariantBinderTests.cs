using System.Collections.Immutable;
using GdNet.Multiplayer;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

/// <summary>Godot 3.2.3's typed-call conversions, as observed with godot3-server (see VariantBinder's remarks).</summary>
public class VariantBinderTests
{
    public enum Color8 : byte
    {
        Red = 1,
        Blue = 200,
    }

    public static TheoryData<string, Variant> Samples => new()
    {
        { "nil", Variant.Nil },
        { "bool", true },
        { "int", 7 },
        { "real", 1.5 },
        { "string", "7" },
        { "vector2", new Vector2(1, 2) },
        { "nodepath", new NodePath("a") },
        { "array", new VariantArray { 1, 2 } },
        { "bytes", new byte[] { 1 } },
        { "dict", new VariantDictionary() },
    };

    // The matrix printed by calling typed GDScript functions with each value (godot3-server 3.2.3).
    private static readonly Dictionary<Type, string[]> Accepts = new()
    {
        [typeof(int)] = ["bool", "int", "real"],
        [typeof(double)] = ["bool", "int", "real"],
        [typeof(bool)] = ["bool", "int", "real"],
        [typeof(string)] = ["string", "nodepath"],
        [typeof(NodePath)] = ["string", "nodepath"],
        [typeof(Vector2)] = ["vector2"],
        [typeof(VariantArray)] = ["array", "bytes"],
        [typeof(byte[])] = ["array", "bytes"],
        [typeof(VariantDictionary)] = ["dict"],
    };

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var type in Accepts.Keys)
        {
            foreach (var sample in Samples)
            {
                data.Add(type.Name, (string)sample[0]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void TryConvert_GodotMatrix_AcceptsExactlyWhatGodotAccepts(string typeName, string sample)
    {
        var type = Accepts.Keys.Single(t => t.Name == typeName);
        var value = (Variant)Samples.Single(s => (string)s[0] == sample)[1];
        var method = typeof(VariantBinder).GetMethod(nameof(VariantBinder.TryConvert))!.MakeGenericMethod(type);

        var ok = (bool)method.Invoke(null, [value, null])!;

        Assert.Equal(Accepts[type].Contains(sample), ok);
    }

    [Fact]
    public void TryConvert_RealToInt_TruncatesTowardZero()
    {
        Assert.True(VariantBinder.TryConvert<int>(-2.7, out var r));
        Assert.Equal(-2, r);
    }

    [Fact]
    public void TryConvert_Int64ToInt32_TruncatesAsGodot()
    {
        Assert.True(VariantBinder.TryConvert<int>(0x1_0000_0005L, out var r));
        Assert.Equal(5, r);
    }

    [Fact]
    public void TryConvert_IntToFloat_Widens()
    {
        Assert.True(VariantBinder.TryConvert<float>(3, out var r));
        Assert.Equal(3f, r);
    }

    [Fact]
    public void TryConvert_NodePathToString_GivesText()
    {
        Assert.True(VariantBinder.TryConvert<string>(new NodePath("/root/a:b"), out var r));
        Assert.Equal("/root/a:b", r);
    }

    [Fact]
    public void TryConvert_IntToEnum_UsesUnderlyingValue()
    {
        Assert.True(VariantBinder.TryConvert<Color8>(200, out var r));
        Assert.Equal(Color8.Blue, r);
    }

    [Fact]
    public void TryConvert_NilToNullable_GivesNull()
    {
        Assert.True(VariantBinder.TryConvert<int?>(Variant.Nil, out var r));
        Assert.Null(r);
    }

    [Fact]
    public void TryConvert_IntToNullable_GivesValue()
    {
        Assert.True(VariantBinder.TryConvert<int?>(4, out var r));
        Assert.Equal(4, r);
    }

    [Fact]
    public void TryConvert_NilToObject_GivesNull()
    {
        Assert.True(VariantBinder.TryConvert<GodotObjectValue?>(Variant.Nil, out var r));
        Assert.Null(r);
    }

    [Fact]
    public void TryConvert_IntToObject_Rejected()
    {
        // Godot turns any value into a null Object; GdNet refuses instead.
        Assert.False(VariantBinder.TryConvert<GodotObjectValue?>(5, out _));
    }

    [Fact]
    public void TryConvert_ArrayWithStringToIntArray_Rejected()
    {
        Assert.False(VariantBinder.TryConvert<int[]>(new VariantArray { 1, "x" }, out _));
    }

    [Fact]
    public void TryConvert_ArrayOfNumbersToIntArray_Converts()
    {
        Assert.True(VariantBinder.TryConvert<int[]>(new VariantArray { 1, 2.9 }, out var r));
        Assert.Equal([1, 2], r);
    }

    [Fact]
    public void TryConvert_PoolStringArrayToArray_Converts()
    {
        Assert.True(VariantBinder.TryConvert<VariantArray>(new[] { "a", "b" }, out var r));
        Assert.Equal(new VariantArray { "a", "b" }, r);
    }

    [Fact]
    public void TryConvert_AnythingToVariant_Accepts()
    {
        var path = new NodePath(ImmutableArray.Create("x"), [], false);
        Assert.True(VariantBinder.TryConvert<Variant>(path, out var r));
        Assert.Equal(Variant.From(path), r);
    }

    [Fact]
    public void IsSupported_Object_False()
    {
        Assert.False(VariantBinder.IsSupported(typeof(object)));
    }
}
