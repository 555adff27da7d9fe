using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using GdNet.Variants;
using MemoryPack;

namespace GdNet.Benchmarks.Codec;

/// <summary>A 1 KiB PoolByteArray encoded and decoded, against MemoryPack with a byte[] (the baseline of each category).</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PoolByteArrayCodecBenchmarks
{
    private readonly byte[] _payload = Enumerable.Range(0, 1024).Select(i => (byte)i).ToArray();
    private readonly byte[] _buffer = new byte[2048];
    private readonly ArrayBufferWriter<byte> _writer = new(2048);
    private Variant _value;
    private byte[] _variantBytes = [];
    private byte[] _memoryPackBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        _value = _payload;
        _variantBytes = VariantCodec.Encode(_value);
        _memoryPackBytes = MemoryPackSerializer.Serialize(_payload);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encode")]
    public int Encode_MemoryPack()
    {
        _writer.ResetWrittenCount();
        MemoryPackSerializer.Serialize(_writer, _payload);
        return _writer.WrittenCount;
    }

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public int Encode_GdNet()
    {
        VariantCodec.TryWrite(_value, _buffer, out var written);
        return written;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decode")]
    public byte[]? Decode_MemoryPack() => MemoryPackSerializer.Deserialize<byte[]>(_memoryPackBytes);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public Variant Decode_GdNet()
    {
        VariantCodec.TryRead(_variantBytes, default, out var value, out _, out _);
        return value;
    }
}
