using GdNet.Multiplayer;
using GdNet.Variants;
using Xunit;

namespace GdNet.Tests.Multiplayer;

public class StringInternCacheTests
{
    [Fact]
    public void TryRead_SameStringTwice_ReturnsSameInstance()
    {
        var cache = new StringInternCache();
        var bytes = VariantCodec.Encode("hello");

        cache.TryRead(bytes, out var a, out _);
        cache.TryRead(bytes, out var b, out _);

        Assert.Same(a.AsString(), b.AsString());
    }

    [Theory]
    [InlineData("0400000005000000 68656c6c6f")] // missing padding: the codec reports it
    [InlineData("0400010005000000 68656c6c6f000000")] // header flag bits set
    [InlineData("0400000003000000 610062 00")] // embedded NUL: the codec cuts it
    [InlineData("0400000002000000 c3a90000")] // non-ASCII
    [InlineData("02000000 07000000")] // not a string
    public void TryRead_NotTheSimpleCase_LeftToCodec(string hex)
    {
        Assert.False(new StringInternCache().TryRead(Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)), out _, out var consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void TryRead_Full_StillDecodesWithoutKeeping()
    {
        var cache = new StringInternCache();
        for (var i = 0; i < StringInternCache.Capacity; i++)
        {
            cache.TryRead(VariantCodec.Encode($"s{i}"), out _, out _);
        }

        Assert.True(cache.TryRead(VariantCodec.Encode("one more"), out var v, out _));
        Assert.Equal(("one more", StringInternCache.Capacity), (v.AsString(), cache.Count));
    }

    [Fact]
    public void TryRead_RandomBuffers_AgreesWithCodec()
    {
        const int seed = 99;
        var random = new Random(seed);
        var cache = new StringInternCache();
        var taken = 0;
        for (var i = 0; i < 20000; i++)
        {
            // A string header with a random length and random (mostly ASCII) content, sometimes cut short.
            var length = random.Next(0, 80);
            var content = new byte[length];
            for (var k = 0; k < length; k++)
            {
                content[k] = (byte)(random.Next(10) == 0 ? random.Next(256) : random.Next(0x20, 0x7f));
            }

            var buffer = new List<byte>();
            buffer.AddRange(BitConverter.GetBytes(random.Next(20) == 0 ? 0x10004 : 4));
            buffer.AddRange(BitConverter.GetBytes(length));
            buffer.AddRange(content);
            buffer.AddRange(new byte[random.Next(0, 6)]);
            var bytes = buffer.ToArray();

            var fast = cache.TryRead(bytes, out var fastValue, out var fastConsumed);
            var codec = VariantCodec.TryRead(bytes, new VariantReadOptions(), out var value, out var consumed, out _);

            if (fast)
            {
                taken++;
                Assert.True(codec, $"seed {seed} #{i}: {Convert.ToHexString(bytes)} decoded by the cache only");
                Assert.Equal((value, consumed), (fastValue, fastConsumed));
            }
        }

        Assert.True(taken > 1000, $"only {taken} buffers took the fast path");
    }

    [Fact]
    public void Receive_RepeatedStringArgument_SameInstance()
    {
        using var s = new Session(lobbyFactory: () => new KeepLobby());

        s.Client.Lobby.RpcId(1, nameof(KeepLobby.Keep), "repeat");
        s.Client.Lobby.RpcId(1, nameof(KeepLobby.Keep), "repeat");
        s.Pump();

        var kept = ((KeepLobby)s.Server.Lobby).Kept;
        Assert.Equal(2, kept.Count);
        Assert.Same(kept[0], kept[1]);
        Assert.Equal("repeat", kept[0]);
    }

    public sealed class KeepLobby : Node
    {
        public List<string> Kept { get; } = [];

        [Remote]
        public void Keep(string s) => Kept.Add(s);
    }
}
