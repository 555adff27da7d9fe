using MemoryPack;

namespace GdNet.Benchmarks.Codec;

/// <summary>The C# equivalent of the benchmarked RPC argument list, for MemoryPack.</summary>
[MemoryPackable]
public sealed partial class RpcArguments
{
    public int Id { get; set; }

    public string Name { get; set; } = "";

    public Vec2 Position { get; set; }

    public Dictionary<string, int> Stats { get; set; } = [];
}

/// <summary>An unmanaged 2-float vector (MemoryPack copies it as 8 bytes).</summary>
public record struct Vec2(float X, float Y);
