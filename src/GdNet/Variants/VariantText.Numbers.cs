using System.Globalization;
using System.Numerics;
using System.Text;

namespace GdNet.Variants;

// How Godot 3.2.3's var2str prints numbers (observed with the real engine, see tests/GdNet.Tests/Variants/Data):
// - every float is printed as a float32 (a Real is cast to float first, so 1e300 prints "inf" and 0.1 + 0.2 prints "0.3"),
//   in C's "%g" form with 6 significant digits: exact decimal value of the float, rounded half to even
//   (123456.5 -> "123456", 123457.5 -> "123458"), fixed notation for exponents -4..5, else "1.5e+20" / "1e-05";
// - zero of either sign prints "0"; infinities "inf" / "-inf"; NaN "nan", or "-nan" when its sign bit is set;
// - a Real (not a vector component or pool element) gets ".0" appended unless the text holds '.' or 'e' or is exactly
//   "inf" or "nan": so "1.0", "1e+20", "inf", but "-inf.0" and "-nan.0".
public static partial class VariantText
{
    private static readonly BigInteger[] PowersOfTen = BuildPowersOfTen();

    private static BigInteger[] BuildPowersOfTen()
    {
        var p = new BigInteger[64];
        p[0] = BigInteger.One;
        for (var i = 1; i < p.Length; i++)
        {
            p[i] = p[i - 1] * 10;
        }

        return p;
    }

    /// <summary>Appends a Real the way var2str prints a float Variant.</summary>
    internal static void AppendReal(StringBuilder sb, double value)
    {
        var start = sb.Length;
        var f = (float)value;
        if (float.IsNaN(f))
        {
            // The cast keeps the sign bit; read it from the double to be independent of the conversion.
            sb.Append(double.IsNegative(value) ? "-nan.0" : "nan");
            return;
        }

        if (float.IsInfinity(f))
        {
            sb.Append(f < 0 ? "-inf.0" : "inf");
            return;
        }

        AppendFloat(sb, f);
        for (var i = start; i < sb.Length; i++)
        {
            if (sb[i] is '.' or 'e')
            {
                return;
            }
        }

        sb.Append(".0");
    }

    /// <summary>Appends a float32 the way var2str prints vector, matrix, colour and pool components.</summary>
    internal static void AppendFloat(StringBuilder sb, float value)
    {
        if (float.IsNaN(value))
        {
            sb.Append(float.IsNegative(value) ? "-nan" : "nan");
            return;
        }

        if (float.IsInfinity(value))
        {
            sb.Append(value < 0 ? "-inf" : "inf");
            return;
        }

        if (value == 0)
        {
            sb.Append('0');
            return;
        }

        if (value < 0)
        {
            sb.Append('-');
            value = -value;
        }

        // Fast path: integers below 10^6 print as themselves.
        if (value < 1_000_000f && value == MathF.Floor(value))
        {
            sb.Append(((int)value).ToString(CultureInfo.InvariantCulture));
            return;
        }

        AppendSignificant6(sb, value);
    }

    /// <summary>C's <c>%g</c> (precision 6) of a positive finite float, exactly rounded half to even.</summary>
    private static void AppendSignificant6(StringBuilder sb, float value)
    {
        // value = mantissa * 2^exp2 exactly.
        var bits = BitConverter.SingleToInt32Bits(value);
        var biased = (bits >> 23) & 0xFF;
        long mantissa = bits & 0x7FFFFF;
        int exp2;
        if (biased == 0)
        {
            exp2 = -149;
        }
        else
        {
            mantissa |= 1L << 23;
            exp2 = biased - 150;
        }

        // Decimal exponent estimate, corrected below so that 10^5 <= digits < 10^6.
        var exp10 = (int)Math.Floor(Math.Log10(value));
        long digits;
        while (true)
        {
            digits = ScaleRounded(mantissa, exp2, 5 - exp10);
            if (digits >= 1_000_000)
            {
                // Either the estimate was low or rounding carried into a new digit (999999.5 -> 1e+06).
                var again = ScaleRounded(mantissa, exp2, 4 - exp10);
                if (again >= 100_000 && again < 1_000_000)
                {
                    digits = again;
                    exp10++;
                    break;
                }

                exp10++;
                continue;
            }

            if (digits < 100_000)
            {
                exp10--;
                continue;
            }

            break;
        }

        Span<char> d = stackalloc char[6];
        for (var i = 5; i >= 0; i--)
        {
            d[i] = (char)('0' + (int)(digits % 10));
            digits /= 10;
        }

        var last = 5;
        while (last > 0 && d[last] == '0')
        {
            last--;
        }

        if (exp10 is >= -4 and < 6)
        {
            if (exp10 >= 0)
            {
                sb.Append(d[..(exp10 + 1)]);
                if (last > exp10)
                {
                    sb.Append('.').Append(d[(exp10 + 1)..(last + 1)]);
                }
            }
            else
            {
                sb.Append("0.").Append('0', -exp10 - 1).Append(d[..(last + 1)]);
            }

            return;
        }

        sb.Append(d[0]);
        if (last > 0)
        {
            sb.Append('.').Append(d[1..(last + 1)]);
        }

        sb.Append(exp10 < 0 ? "e-" : "e+");
        var e = Math.Abs(exp10);
        if (e < 10)
        {
            sb.Append('0');
        }

        sb.Append(e.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>round_half_even(mantissa * 2^exp2 * 10^scale10), computed exactly.</summary>
    private static long ScaleRounded(long mantissa, int exp2, int scale10)
    {
        var num = new BigInteger(mantissa);
        var den = BigInteger.One;
        if (exp2 >= 0)
        {
            num <<= exp2;
        }
        else
        {
            den <<= -exp2;
        }

        if (scale10 >= 0)
        {
            num *= PowersOfTen[scale10];
        }
        else
        {
            den *= PowersOfTen[-scale10];
        }

        var q = BigInteger.DivRem(num, den, out var rem);
        var cmp = (rem * 2).CompareTo(den);
        if (cmp > 0 || (cmp == 0 && !q.IsEven))
        {
            q += 1;
        }

        return q > long.MaxValue ? long.MaxValue : (long)q;
    }
}
