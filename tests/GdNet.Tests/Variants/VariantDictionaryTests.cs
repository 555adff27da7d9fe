using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Variants;

/// <summary>VariantDictionary keeps insertion order and finds keys with or without its (lazily built) index.</summary>
public sealed class VariantDictionaryTests
{
    private static VariantDictionary WithKeys(int count)
    {
        var dictionary = new VariantDictionary();
        for (var i = 0; i < count; i++)
        {
            dictionary[$"k{i}"] = i;
        }

        return dictionary;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(50)]
    public void Indexer_SetExistingKey_ReplacesValueKeepingPosition(int count)
    {
        var dictionary = WithKeys(count);

        dictionary["k1"] = "changed";

        Assert.Equal(count, dictionary.Count);
        Assert.Equal(new KeyValuePair<Variant, Variant>("k1", "changed"), dictionary.GetEntry(1));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(50)]
    public void TryGetValue_EveryKey_FindsItsValue(int count)
    {
        var dictionary = WithKeys(count);

        for (var i = 0; i < count; i++)
        {
            Assert.True(dictionary.TryGetValue($"k{i}", out var value));
            Assert.Equal(Variant.From((long)i), value);
        }

        Assert.False(dictionary.ContainsKey("missing"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(50)]
    public void Remove_Key_ShiftsLaterEntriesAndTheyStayFindable(int count)
    {
        var dictionary = WithKeys(count);

        Assert.True(dictionary.Remove("k0"));

        Assert.Equal(count - 1, dictionary.Count);
        Assert.Equal((Variant)"k1", dictionary.GetEntry(0).Key);
        Assert.Equal(Variant.From((long)count - 1), dictionary[$"k{count - 1}"]);
        dictionary["k0"] = -1;
        Assert.Equal((Variant)"k0", dictionary.GetEntry(count - 1).Key);
    }

    [Fact]
    public void Clear_LargeDictionary_ForgetsEveryKey()
    {
        var dictionary = WithKeys(50);
        _ = dictionary["k3"]; // builds the index

        dictionary.Clear();
        dictionary["k3"] = 1;

        Assert.Equal(1, dictionary.Count);
        Assert.False(dictionary.ContainsKey("k4"));
    }

    [Fact]
    public void Equals_SameEntriesInOtherOrder_IsFalse()
    {
        var a = new VariantDictionary { { 1, 1 }, { 2, 2 } };
        var b = new VariantDictionary { { 2, 2 }, { 1, 1 } };

        Assert.NotEqual(a, b);
    }
}
