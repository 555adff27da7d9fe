using System.Collections.Immutable;
using System.Text.Json;
using GdNet.TestSupport;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

/// <summary>
/// The golden vectors of <c>godot3/vectors/variants.json</c> (recorded from Godot 3.2.3) and a builder from their
/// "Variant descriptions" JSON to <see cref="Variant"/> values.
/// </summary>
internal static class VariantVectors
{
    private static readonly Lazy<JsonElement> RootLazy = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Paths.SharedFile("godot3/vectors/variants.json")));
        return doc.RootElement.Clone();
    });

    public static JsonElement Root => RootLazy.Value;

    public static TheoryData<string> NamesOf(string section, Func<JsonElement, bool>? filter = null)
    {
        var data = new TheoryData<string>();
        foreach (var entry in Root.GetProperty(section).EnumerateArray())
        {
            if (filter is not null && !filter(entry))
            {
                continue;
            }

            data.Add(entry.GetProperty("name").GetString()!);
        }

        return data;
    }

    public static JsonElement Entry(string section, string name)
    {
        foreach (var entry in Root.GetProperty(section).EnumerateArray())
        {
            if (entry.GetProperty("name").GetString() == name)
            {
                return entry;
            }
        }

        throw new KeyNotFoundException($"No {section} vector named {name}.");
    }

    public static string? OptionalString(JsonElement entry, string property) =>
        entry.TryGetProperty(property, out var p) ? p.GetString() : null;

    public static byte[] Bytes(string hex) => Convert.FromHexString(hex);

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Builds the Variant a description stands for.</summary>
    public static Variant Build(JsonElement d)
    {
        var type = d.GetProperty("type").GetString();
        return type switch
        {
            "nil" => Variant.Nil,
            "bool" => d.GetProperty("value").GetBoolean(),
            "int" => d.GetProperty("value").GetInt64(),
            "float" => Double(d.GetProperty("value")),
            "String" => d.GetProperty("value").GetString()!,
            "Vector2" => new Vector2(Float(d.GetProperty("x")), Float(d.GetProperty("y"))),
            "Vector3" => new Vector3(Float(d.GetProperty("x")), Float(d.GetProperty("y")), Float(d.GetProperty("z"))),
            "Quat" => new Quat(Float(d.GetProperty("x")), Float(d.GetProperty("y")), Float(d.GetProperty("z")), Float(d.GetProperty("w"))),
            "Color" => new Color(Float(d.GetProperty("r")), Float(d.GetProperty("g")), Float(d.GetProperty("b")), Float(d.GetProperty("a"))),
            "Rect2" => new Rect2(Vec2(d.GetProperty("position")), Vec2(d.GetProperty("size"))),
            "AABB" => new AABB(Vec3(d.GetProperty("position")), Vec3(d.GetProperty("size"))),
            "Plane" => new Plane(Vec3(d.GetProperty("normal")), Float(d.GetProperty("d"))),
            "Transform2D" => new Transform2D(Vec2(d.GetProperty("x")), Vec2(d.GetProperty("y")), Vec2(d.GetProperty("origin"))),
            "Basis" => BuildBasis(d),
            "Transform" => new Transform(BuildBasis(d.GetProperty("basis")), Vec3(d.GetProperty("origin"))),
            "NodePath" => BuildNodePath(d),
            "RID" => default(RID),
            "Dictionary" => BuildDictionary(d),
            "Array" => new VariantArray(d.GetProperty("items").EnumerateArray().Select(Build)),
            "PoolByteArray" => d.GetProperty("values").EnumerateArray().Select(e => e.GetByte()).ToArray(),
            "PoolIntArray" => d.GetProperty("values").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            "PoolRealArray" => d.GetProperty("values").EnumerateArray().Select(Float).ToArray(),
            "PoolStringArray" => d.GetProperty("values").EnumerateArray().Select(e => e.GetString()!).ToArray(),
            "PoolVector2Array" => d.GetProperty("values").EnumerateArray().Select(Vec2).ToArray(),
            "PoolVector3Array" => d.GetProperty("values").EnumerateArray().Select(Vec3).ToArray(),
            "PoolColorArray" => d.GetProperty("values").EnumerateArray()
                .Select(e => new Color(Float(e[0]), Float(e[1]), Float(e[2]), Float(e[3]))).ToArray(),
            _ => throw new NotSupportedException($"Unknown description type {type}."),
        };
    }

    /// <summary>
    /// The full-object form of the <c>objects[]</c> vectors, written out from what Godot 3.2.3 stores for
    /// <c>Reference.new()</c> and <c>Node.new()</c> (its storage properties in order).
    /// </summary>
    public static ObjectData FullObject(string name) => name switch
    {
        "object_reference" => new ObjectData("Reference", [new("script", Variant.Nil)]),
        "object_node" => new ObjectData("Node",
        [
            new("_import_path", NodePath.Empty),
            new("pause_mode", 0),
            new("process_priority", 0),
            new("script", Variant.Nil),
        ]),
        _ => throw new KeyNotFoundException(name),
    };

    /// <summary>Godot's NAN is the positive quiet NaN (0x7FF8000000000000); .NET's double.NaN has the sign bit set.</summary>
    public static readonly double GodotNaN = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0000);

    private static double Double(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            "nan" => GodotNaN,
            var s => throw new FormatException(s),
        }
        : e.GetDouble();

    private static float Float(JsonElement e) => (float)Double(e);

    private static Vector2 Vec2(JsonElement e) => new(Float(e[0]), Float(e[1]));

    private static Vector3 Vec3(JsonElement e) => new(Float(e[0]), Float(e[1]), Float(e[2]));

    private static Basis BuildBasis(JsonElement d) => new(Vec3(d.GetProperty("x")), Vec3(d.GetProperty("y")), Vec3(d.GetProperty("z")));

    private static NodePath BuildNodePath(JsonElement d)
    {
        var names = d.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToImmutableArray();
        var subnames = d.GetProperty("subnames").EnumerateArray().Select(e => e.GetString()!).ToImmutableArray();
        return names.IsEmpty && subnames.IsEmpty ? NodePath.Empty : new NodePath(names, subnames, d.GetProperty("absolute").GetBoolean());
    }

    private static VariantDictionary BuildDictionary(JsonElement d)
    {
        var dictionary = new VariantDictionary();
        foreach (var entry in d.GetProperty("entries").EnumerateArray())
        {
            dictionary[Build(entry.GetProperty("key"))] = Build(entry.GetProperty("value"));
        }

        return dictionary;
    }
}
