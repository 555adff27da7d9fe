using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using GdNet.Variants;

namespace GdNet.Internal;

/// <summary>Throw sites kept out of hot methods: each helper never returns and is never inlined.</summary>
internal static partial class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowVariantCodecException(in VariantError error) => throw new VariantCodecException(error);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowDestinationTooSmall(int needed, int available, string paramName) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"The destination holds {available} bytes but the value needs {needed}; size it with VariantCodec.GetEncodedSize."),
            paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowEncodedSizeMismatch() =>
        throw new InvalidOperationException("The value changed while it was being encoded; do not mutate containers from another thread during encoding.");
}
