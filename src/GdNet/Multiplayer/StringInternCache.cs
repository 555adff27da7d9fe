using System.Buffers.Binary;
using System.Text;
using GdNet.Variants;

namespace GdNet.Multiplayer;

/// <summary>
/// Receive-side fast path for STRING arguments: a short pure-ASCII string already seen is returned as the same instance
/// instead of a new one, so steady RPC traffic with repeated strings (names, commands, chat presets) allocates nothing.
/// Bounded: at most <see cref="Capacity"/> strings of at most <see cref="MaxLength"/> chars are kept; beyond that strings
/// are still decoded, just not kept. Anything else (other types, longer strings, non-ASCII, an embedded NUL, a short
/// buffer) is left to <see cref="VariantCodec"/>, which decodes it exactly as Godot does. Game thread only.
/// </summary>
internal sealed class StringInternCache
{
    public const int MaxLength = 64;
    public const int Capacity = 1024;
    private const uint StringHeader = (uint)VariantType.String; // type 4, no flags

    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringInternCache() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _strings.Count;

    /// <summary>
    /// Decodes a STRING Variant at the start of <paramref name="source"/> when it is a short ASCII string with no NUL;
    /// false (nothing consumed) for anything else. The result equals <see cref="VariantCodec.TryRead"/>'s.
    /// </summary>
    public bool TryRead(ReadOnlySpan<byte> source, out Variant value, out int consumed)
    {
        value = default;
        consumed = 0;
        if (source.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(source) != StringHeader)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        if (length > MaxLength)
        {
            return false;
        }

        var padded = 8 + (((int)length + 3) & ~3);
        if (padded > source.Length)
        {
            return false;
        }

        var bytes = source.Slice(8, (int)length);
        if (!Ascii.IsValid(bytes) || bytes.Contains((byte)0))
        {
            return false;
        }

        Span<char> chars = stackalloc char[MaxLength];
        chars = chars[..bytes.Length];
        Ascii.ToUtf16(bytes, chars, out _);
        if (!_lookup.TryGetValue(chars, out var text))
        {
            text = chars.Length == 0 ? string.Empty : new string(chars);
            if (_strings.Count < Capacity)
            {
                _strings.Add(text);
            }
        }

        value = Variant.From(text);
        consumed = padded;
        return true;
    }
}
