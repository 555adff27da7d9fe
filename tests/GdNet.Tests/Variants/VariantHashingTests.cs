using System.Buffers.Binary;
using System.Collections.Immutable;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

/// <summary>
/// Dictionary keys come from remote peers, so Variant hashes must cover the whole value and be seeded: otherwise one
/// packet full of colliding keys makes decoding (and later lookups) quadratic.
/// </summary>
public sealed class VariantHashingTests
{
    private static int DistinctHashes(IEnumerable<Variant> values) => values.Select(v => v.GetHashCode()).Distinct().Count();

    [Fact]
    public void GetHashCode_IntsWhoseHalvesAreEqual_Differ() =>
        // (k << 32) | k folds to 0 under a plain lo ^ hi hash.
        Assert.True(DistinctHashes(Enumerable.Range(1, 1000).Select(k => (Variant)(((long)k << 32) | (uint)k))) > 990);

    [Fact]
    public void GetHashCode_DoublesWhoseHalvesAreEqual_Differ() =>
        Assert.True(DistinctHashes(Enumerable.Range(1, 1000).Select(k => (Variant)BitConverter.Int64BitsToDouble(((long)k << 32) | (uint)k))) > 990);

    [Fact]
    public void GetHashCode_ArraysDifferingAfterTheEighthItem_Differ() =>
        Assert.True(DistinctHashes(Enumerable.Range(1, 1000).Select(k => (Variant)new VariantArray(Enumerable.Repeat((Variant)0, 8).Append(k)))) > 990);

    [Fact]
    public void GetHashCode_DictionariesOfEqualCount_Differ() =>
        Assert.True(DistinctHashes(Enumerable.Range(1, 1000).Select(k => (Variant)new VariantDictionary { { k, 0 } })) > 990);

    [Fact]
    public void GetHashCode_ByteArraysOfEqualLength_Differ() =>
        Assert.True(DistinctHashes(Enumerable.Range(1, 1000).Select(k => (Variant)BitConverter.GetBytes(k))) > 990);

    [Fact]
    public void GetHashCode_NodePathsWithTheSameText_DifferByParts()
    {
        var whole = new NodePath(ImmutableArray.Create("a/b"), [], false);
        var split = new NodePath(ImmutableArray.Create("a", "b"), [], false);

        Assert.NotEqual(whole, split);
        Assert.NotEqual(Variant.From(whole).GetHashCode(), Variant.From(split).GetHashCode());
    }

    [Fact]
    public void GetHashCode_Vector2sCraftedForAnUnseededCombine_Differ()
    {
        // An unseeded record hash h(x) * -1521134295 + h(y) can be held constant by choosing y from x.
        var values = Enumerable.Range(1, 1000).Select(k =>
        {
            var x = BitConverter.Int32BitsToSingle(0x3F80_0000 + k);
            var y = BitConverter.Int32BitsToSingle(unchecked(0x3F80_0000 + (k * 1521134295)));
            return (Variant)new Vector2(x, y);
        });

        Assert.True(DistinctHashes(values) > 990);
    }

    [Theory]
    [InlineData(0.0, -0.0)]
    [InlineData(double.NaN, -double.NaN)]
    public void GetHashCode_ValuesEqualUnderEquals_AreEqual(double a, double b)
    {
        Assert.Equal((Variant)a, (Variant)b);
        Assert.Equal(((Variant)a).GetHashCode(), ((Variant)b).GetHashCode());
    }

    [Fact]
    public void GetHashCode_EqualNestedContainers_AreEqual()
    {
        static Variant Make() => new VariantArray { new VariantDictionary { { "k", new VariantArray { 1, -0.0, new Vector2(0, float.NaN) } } }, new byte[] { 1 } };

        Assert.Equal(Make().GetHashCode(), Make().GetHashCode());
    }

    /// <summary>
    /// Past the hash depth limit a container only adds its type and count, so an array holding itself hashes like any
    /// chain of one-item arrays longer than the limit, whatever lies at its far end, and the hash is the same every time.
    /// </summary>
    [Fact]
    public void GetHashCode_ArrayContainingItself_HashesLikeItsUnrollingPastTheDepthLimit()
    {
        var array = new VariantArray();
        array.Add(array);
        static VariantArray Chain(int levels, Variant innermost, int wideLevel = -1)
        {
            var inner = new VariantArray { innermost };
            for (var level = levels - 1; level > 0; level--)
            {
                inner = level == wideLevel ? new VariantArray { inner, 0 } : new VariantArray { inner };
            }

            return inner;
        }

        var hash = array.GetHashCode();

        Assert.Equal(hash, array.GetHashCode());
        Assert.Equal(hash, Variant.From(array).GetHashCode());
        Assert.Equal(hash, Chain(2000, "end").GetHashCode());
        Assert.Equal(hash, Chain(3000, 42).GetHashCode());
        Assert.NotEqual(hash, Chain(2000, "end", wideLevel: 10).GetHashCode()); // a difference within the limit counts
    }

    [Fact]
    public void GetHashCode_DictionaryContainingItself_IsStable()
    {
        var dictionary = new VariantDictionary();
        dictionary["self"] = dictionary;
        var other = new VariantDictionary();
        other["self"] = other;

        Assert.Equal(dictionary.GetHashCode(), dictionary.GetHashCode());
        Assert.Equal(dictionary.GetHashCode(), other.GetHashCode()); // the same shape at every level
    }

    /// <summary>50,000 int keys that all collide under a folded 64-bit hash decode in linear time.</summary>
    [Fact]
    public void Read_DictionaryOfKeysThatCollideUnderAFoldedHash_DecodesAllKeys()
    {
        const int count = 50_000;
        var bytes = new byte[8 + (count * 16)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 18);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), count);
        for (var i = 0; i < count; i++)
        {
            var at = 8 + (i * 16);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), 0x0001_0002); // INT, 64-bit
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at + 4), ((long)(i + 1) << 32) | (uint)(i + 1));
            // value: NIL (already zero)
        }

        Assert.Equal(count, VariantCodec.Read(bytes).AsDictionary().Count);
    }

    /// <summary>
    /// 300 levels of Dictionaries, each keyed (among 8 ints) by the next level, above a 256 KiB pool: nested keys are
    /// hashed once, not once per level.
    /// </summary>
    [Fact]
    public void Read_DeeplyNestedLargeDictionaryKeys_DecodesAndKeepsEveryLevel()
    {
        Variant inner = new byte[256 * 1024];
        for (var level = 0; level < 300; level++)
        {
            var dictionary = new VariantDictionary();
            for (var k = 0; k < 8; k++)
            {
                dictionary[k] = k;
            }

            dictionary[inner] = level;
            inner = dictionary;
        }

        var decoded = VariantCodec.Read(VariantCodec.Encode(inner));

        Assert.Equal(inner, decoded);
    }

    [Fact]
    public void Read_LargeDictionaryWithRepeatedKeys_KeepsFirstPositionAndLastValue()
    {
        var bytes = new List<byte> { 18, 0, 0, 0, 30, 0, 0, 0 };
        for (var i = 0; i < 30; i++)
        {
            bytes.AddRange(VariantCodec.Encode(new VariantArray { i % 10, "k" })); // 10 distinct container keys, 3 times each
            bytes.AddRange(VariantCodec.Encode(i));
        }

        var dictionary = VariantCodec.Read(bytes.ToArray()).AsDictionary();

        Assert.Equal(10, dictionary.Count);
        Assert.Equal(new VariantArray { 0, "k" }, dictionary.GetEntry(0).Key.AsArray());
        Assert.Equal(Variant.From(29L), dictionary[new VariantArray { 9, "k" }]);
    }

    [Fact]
    public void Read_DictionaryKeysZeroAndNegativeZero_AreOneKeyAsEquals()
    {
        var bytes = Convert.FromHexString("1200000002000000" + "0300000000000000" + "0200000001000000" + "0300000000000080" + "0200000002000000");

        var dictionary = VariantCodec.Read(bytes).AsDictionary();

        Assert.Equal(1, dictionary.Count);
        Assert.Equal(Variant.From(2L), dictionary[0.0]);
    }
}
