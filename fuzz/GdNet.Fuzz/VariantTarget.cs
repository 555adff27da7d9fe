using GdNet.Peers;
using GdNet.Variants;

namespace GdNet.Fuzz;

/// <summary>
/// <c>variant</c> / <c>variant-objects</c>: Godot's binary Variant decoder (<see cref="VariantCodec.TryRead"/>) and
/// <see cref="PacketPeer.GetVar"/>, with full-object decoding off or on. Malformed input: TryRead returns false with a
/// <see cref="VariantError"/>. Checks: the consumed length is within the input, the error's message and offset are
/// sane, a decoded value hashes, re-encodes, decodes back equal and re-encodes to the same bytes, and GetVar agrees.
/// </summary>
internal sealed class VariantTarget(bool allowObjects) : FuzzTarget
{
    private readonly VariantReadOptions _options = new() { AllowObjects = allowObjects };



    public override void Run(ReadOnlySpan<byte> input)
    {
        var ok = VariantCodec.TryRead(input, _options, out var value, out var consumed, out var error);
        if (!ok)
        {
            FuzzCheckException.Check(value.Type == VariantType.Nil && consumed == 0, "a failed read returns nil and 0 consumed");
            FuzzCheckException.Check(error.Offset >= 0 && error.Offset <= input.Length, $"error offset {error.Offset} outside the input ({input.Length} bytes)");
            FuzzCheckException.Check(!string.IsNullOrEmpty(error.Message), "a failed read says why");
        }
        else
        {
            FuzzCheckException.Check(consumed >= 4 && consumed <= input.Length, $"consumed {consumed} of {input.Length} bytes");
            _ = value.GetHashCode();
            RoundTrip(value);
        }

        // PacketPeer.GetVar: the same packet through a peer's queue must decode the same way.
        var (first, second) = InMemoryPacketPeer.CreatePair(maxQueuedPackets: 1);
        var put = first.PutPacket(input);
        FuzzCheckException.Check(put == Error.Ok, $"PutPacket: {put}");
        var viaPeer = second.TryGetVar(out var peerValue, out var peerError, allowObjects);
        FuzzCheckException.Check(viaPeer == ok, "GetVar and TryRead disagree on success");
        if (ok)
        {
            FuzzCheckException.Check(peerValue.Equals(value), "GetVar and TryRead decode different values");
        }
        else
        {
            FuzzCheckException.Check(peerError.Reason == error.Reason && peerError.Offset == error.Offset, "GetVar and TryRead report different errors");
        }
    }

    // Encoding and decoding normalise a few things on purpose, as Godot does: a null object is written as NIL, padding is
    // zeroed, and the decoder cuts a string at its first NUL and drops one leading BOM (so a string that starts with k
    // BOMs loses one per round). So the check is that re-encoding reaches a fixed point, each round no longer than the
    // one before, within one round per BOM in the encoding (plus two); then the value decodes equal, with an equal hash.
    private void RoundTrip(in Variant value) => ToFixedPoint(value, _options, allowObjects);

    /// <summary>Encodes and decodes <paramref name="value"/> until the encoding is stable; returns the stable value.</summary>
    public static Variant ToFixedPoint(in Variant value, in VariantReadOptions options, bool fullObjects)
    {
        var encoded = Encode(value, fullObjects);
        var rounds = encoded.AsSpan().Count((byte)0xEF) + 2;
        for (var round = 0; ; round++)
        {
            var decoded = Decode(encoded, options, "an encoding does not decode");
            var again = Encode(decoded, fullObjects);
            if (again.AsSpan().SequenceEqual(encoded))
            {
                var third = Decode(again, options, "a stable encoding does not decode");
                FuzzCheckException.Check(third.Equals(decoded), $"the value changed through encode/decode ({decoded.Type})");
                FuzzCheckException.Check(third.GetHashCode() == decoded.GetHashCode(), "equal values hash differently");
                return decoded;
            }

            FuzzCheckException.Check(again.Length <= encoded.Length, "re-encoding a decoded value made it longer");
            FuzzCheckException.Check(round < rounds, $"the encoding is not stable through decode/encode after {rounds} rounds");
            encoded = again;
        }
    }

    private static byte[] Encode(in Variant value, bool fullObjects)
    {
        var encoded = VariantCodec.Encode(value, fullObjects);
        FuzzCheckException.Check(VariantCodec.GetEncodedSize(value, fullObjects) == encoded.Length, "GetEncodedSize differs from the encoding's length");
        return encoded;
    }

    private static Variant Decode(byte[] encoded, in VariantReadOptions options, string what)
    {
        if (!VariantCodec.TryRead(encoded, options, out var value, out var consumed, out var error))
        {
            throw new FuzzCheckException($"{what}: {error.Message}");
        }

        FuzzCheckException.Check(consumed == encoded.Length, $"decoding an encoding consumed {consumed} of {encoded.Length} bytes");
        return value;
    }
}
