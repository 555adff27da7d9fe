using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using GdNet.Variants;
using MemoryPack;

namespace GdNet.Benchmarks.Codec;

/// <summary>
/// A typical RPC argument list (an int, a 16-character String, a Vector2 and a Dictionary of 3 entries), encoded and
/// decoded one argument after another as MultiplayerAPI does, against MemoryPack serialising the same data as one
/// C# object (the baseline of each category).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RpcArgumentsCodecBenchmarks
{
    private readonly Variant[] _arguments =
    [
        42,
        "player_name_0001",
        new Vector2(1.5f, -2.25f),
        new VariantDictionary { { "hp", 100 }, { "mp", 50 }, { "xp", 1234 } },
    ];

    private readonly RpcArguments _object = new()
    {
        Id = 42,
        Name = "player_name_0001",
        Position = new Vec2(1.5f, -2.25f),
        Stats = new Dictionary<string, int> { ["hp"] = 100, ["mp"] = 50, ["xp"] = 1234 },
    };

    private readonly byte[] _buffer = new byte[4096];
    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private readonly Variant[] _decoded = new Variant[4];
    private byte[] _variantBytes = [];
    private byte[] _memoryPackBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        _variantBytes = _buffer.AsSpan(0, EncodeVariants()).ToArray();
        _memoryPackBytes = MemoryPackSerializer.Serialize(_object);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encode")]
    public int Encode_MemoryPack()
    {
        _writer.ResetWrittenCount();
        MemoryPackSerializer.Serialize(_writer, _object);
        return _writer.WrittenCount;
    }

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public int Encode_GdNet() => EncodeVariants();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decode")]
    public RpcArguments? Decode_MemoryPack() => MemoryPackSerializer.Deserialize<RpcArguments>(_memoryPackBytes);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public Variant[] Decode_GdNet()
    {
        ReadOnlySpan<byte> source = _variantBytes;
        for (var i = 0; i < _decoded.Length; i++)
        {
            VariantCodec.TryRead(source, default, out _decoded[i], out var consumed, out _);
            source = source[consumed..];
        }

        return _decoded;
    }

    private int EncodeVariants()
    {
        var offset = 0;
        foreach (var argument in _arguments)
        {
            VariantCodec.TryWrite(argument, _buffer.AsSpan(offset), out var written);
            offset += written;
        }

        return offset;
    }
}
