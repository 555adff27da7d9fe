using FsCheck.Xunit;
using GdNet.Variants;
using Xunit;
using Xunit.Sdk;

namespace GdNet.Tests.Variants;

/// <summary>
/// Property tests with fixed seeds (FsCheck prints the seed and the shrunk case on failure; the cases print as hex).
/// </summary>
public sealed class VariantCodecPropertyTests
{
    private static readonly VariantReadOptions ObjectsAllowed = new() { AllowObjects = true };

    [Property(Arbitrary = [typeof(VariantGenerators)], MaxTest = 3000, Replay = "(7321564109,1176358149)")]
    public void EncodeThenRead_AnyValue_GivesEqualValue(RoundTripCase testCase)
    {
        var bytes = VariantCodec.Encode(testCase.Value, fullObjects: true);

        Assert.True(VariantCodec.TryRead(bytes, ObjectsAllowed, out var decoded, out var consumed, out var error), error.Message);
        Assert.Equal(testCase.Value, decoded);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(testCase.Value.GetHashCode(), decoded.GetHashCode()); // equal values, distinct objects: same hash
    }

    [Property(Arbitrary = [typeof(VariantGenerators)], MaxTest = 3000, Replay = "(2905718811,3362712977)")]
    public void GetEncodedSize_AnyValue_EqualsBytesWritten(RoundTripCase testCase)
    {
        var size = VariantCodec.GetEncodedSize(testCase.Value, fullObjects: true);
        var buffer = new byte[size];

        Assert.True(VariantCodec.TryWrite(testCase.Value, buffer, out var written, fullObjects: true));
        Assert.Equal(size, written);
        Assert.False(VariantCodec.TryWrite(testCase.Value, buffer.AsSpan(0, size - 1), out _, fullObjects: true));
    }

    /// <summary>
    /// 110,000 random and mutated byte strings (11,000 batches of 10: bit flips, truncations, length and count words set
    /// huge or negative, type bytes changed, splices): TryRead never throws, and whatever it accepts re-encodes stably.
    /// </summary>
    [Property(Arbitrary = [typeof(VariantGenerators)], MaxTest = 11_000, Replay = "(4155031627,2416710347)")]
    public void TryRead_AnyBytes_NeverThrowsAndAcceptedValuesReencodeStably(DecoderBatch batch)
    {
        foreach (var input in batch.Inputs)
        {
            try
            {
                CheckDecodesSafely(input);
            }
            catch (Exception e)
            {
                throw new XunitException($"Failed for {input}: {e}");
            }
        }
    }

    private static void CheckDecodesSafely(DecoderInput input)
    {
        var options = new VariantReadOptions { AllowObjects = input.AllowObjects };
        if (VariantCodec.TryRead(input.Bytes, options, out var value, out var consumed, out var error))
        {
            Assert.InRange(consumed, 4, input.Bytes.Length);

            // One re-encoding may still change: a null object is written as NIL, so a Dictionary holding both a null-object
            // key and a NIL key merges them when read back. From then on the encoding is a fixed point.
            var once = VariantCodec.Encode(VariantCodec.Read(VariantCodec.Encode(value, input.AllowObjects), options), input.AllowObjects);
            Assert.Equal(once, VariantCodec.Encode(VariantCodec.Read(once, options), input.AllowObjects));
        }
        else
        {
            Assert.NotEqual(VariantErrorReason.None, error.Reason);
            Assert.InRange(error.Offset, 0, input.Bytes.Length);
            Assert.False(string.IsNullOrEmpty(error.Message));
        }
    }

    /// <summary>20,000 more random and mutated byte strings: Read throws VariantCodecException exactly where TryRead fails.</summary>
    [Property(Arbitrary = [typeof(VariantGenerators)], MaxTest = 2_000, Replay = "(1809442213,600292817)")]
    public void Read_AnyBytes_ThrowsOnlyVariantCodecException(DecoderBatch batch)
    {
        foreach (var input in batch.Inputs)
        {
            var options = new VariantReadOptions { AllowObjects = input.AllowObjects };
            var accepted = VariantCodec.TryRead(input.Bytes, options, out var expected, out _, out var error);
            try
            {
                Assert.Equal(expected, VariantCodec.Read(input.Bytes, options));
                Assert.True(accepted, $"Read succeeded where TryRead failed for {input}");
            }
            catch (VariantCodecException e)
            {
                Assert.False(accepted, $"Read threw where TryRead succeeded for {input}");
                Assert.Equal(error, e.Error);
            }
        }
    }
}
