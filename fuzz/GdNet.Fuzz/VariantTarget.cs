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

    // Encoding normalises a few things on purpose (a null object is written as NIL, as in Godot 3.2.3; padding is
    // zeroed), so the check is that decode(encode(v)) is a fixed point: it decodes, re-encodes to the same bytes, and
    // decodes to an equal value with an equal hash.
    private void RoundTrip(in Variant value)
    {
        var encoded = VariantCodec.Encode(value, fullObjects: allowObjects);
        FuzzCheckException.Check(VariantCodec.GetEncodedSize(value, allowObjects) == encoded.Length, "GetEncodedSize differs from the encoding's length");
        var again = Decode(encoded, "a decoded value re-encodes to bytes that do not decode");
        var encodedAgain = VariantCodec.Encode(again, fullObjects: allowObjects);
        FuzzCheckException.Check(encoded.AsSpan().SequenceEqual(encodedAgain), "the encoding is not stable through decode/encode");
        var third = Decode(encodedAgain, "re-encoded bytes do not decode");
        FuzzCheckException.Check(third.Equals(again), $"the value changed through encode/decode ({again.Type})");
        FuzzCheckException.Check(third.GetHashCode() == again.GetHashCode(), "equal values hash differently");
    }

    private Variant Decode(byte[] encoded, string what)
    {
        if (!VariantCodec.TryRead(encoded, _options, out var value, out var consumed, out var error))
        {
            throw new FuzzCheckException($"{what}: {error.Message}");
        }

        FuzzCheckException.Check(consumed == encoded.Length, $"decoding an encoding consumed {consumed} of {encoded.Length} bytes");
        return value;
    }
}
