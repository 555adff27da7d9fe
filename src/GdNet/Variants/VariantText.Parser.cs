using System.Globalization;

namespace GdNet.Variants;

// The str2var grammar of Godot 3.2.3, as observed (tests/GdNet.Tests/Variants/Data/var2str.json, "parse" cases):
// - tokens: { } [ ] ( ) : , "strings" numbers identifiers; any character <= U+0020 is whitespace; ';' starts a comment
//   that runs to the end of the line;
// - numbers: -?digits(.digits*)?(e[+-]?digits*)? ; a '.' or 'e' makes a float ("5." and "1e" are floats), else an int;
// - strings may hold raw line breaks; escapes \b \t \n \f \r \uXXXX, and a backslash before any other character
//   stands for that character (\" \\ \' \?); GdNet also reads \a and \v as BEL and VT, which var2str writes for
//   them in NodePaths and PoolStringArrays (Godot itself would read the letters a and v);
// - identifiers true false null nil inf nan and the constructors below, which take numbers (never nested values);
// - arrays and dictionaries allow a trailing comma, constructors do not.
public static partial class VariantText
{
    private enum TokenKind
    {
        Eof,
        OpenBrace,
        CloseBrace,
        OpenBracket,
        CloseBracket,
        OpenParen,
        CloseParen,
        Colon,
        Comma,
        String,
        Int,
        Real,
        Identifier,
    }

    private readonly record struct Token(TokenKind Kind, int Line, int Column, string? Text = null, long Int = 0, double Real = 0);

    private static readonly double[] ScalePowers = [1e1, 1e2, 1e4, 1e8, 1e16, 1e32, 1e64, 1e128, 1e256];

    private static readonly double PositiveNaN = BitConverter.Int64BitsToDouble(0x7FF8000000000000);
    private static readonly double NegativeNaN = BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8000000000000));

    private sealed class TextParser(string s)
    {
        private int _pos;
        private int _line = 1;
        private int _lineStart;
        private int _depth;

        public Variant ParseDocument()
        {
            var first = Next();
            if (first.Kind == TokenKind.Eof)
            {
                throw Error("Expected a value but the text is empty", first);
            }

            var value = ParseValue(first);
            var after = Next();
            if (after.Kind != TokenKind.Eof)
            {
                throw Error($"Expected the end of the text after the value but found {Describe(after)}", after);
            }

            return value;
        }

        // ---- values --------------------------------------------------------------------------------------------

        private Variant ParseValue(in Token t)
        {
            switch (t.Kind)
            {
                case TokenKind.OpenBrace:
                    return ParseDictionary(t);
                case TokenKind.OpenBracket:
                    return ParseArray(t);
                case TokenKind.String:
                    return Variant.From(t.Text!);
                case TokenKind.Int:
                    return Variant.From(t.Int);
                case TokenKind.Real:
                    return Variant.From(t.Real);
                case TokenKind.Identifier:
                    return ParseIdentifier(t);
                default:
                    throw Error($"Expected a value but found {Describe(t)}", t);
            }
        }

        private Variant ParseDictionary(in Token open)
        {
            Enter(open);
            var dict = new VariantDictionary();
            while (true)
            {
                var t = Next();
                if (t.Kind == TokenKind.CloseBrace)
                {
                    break;
                }

                var key = ParseValue(t);
                var colon = Next();
                if (colon.Kind != TokenKind.Colon)
                {
                    throw Error($"Expected ':' after a dictionary key but found {Describe(colon)}", colon);
                }

                dict[key] = ParseValue(Next());
                var sep = Next();
                if (sep.Kind == TokenKind.CloseBrace)
                {
                    break;
                }

                if (sep.Kind != TokenKind.Comma)
                {
                    throw Error($"Expected ',' or '}}' in a dictionary but found {Describe(sep)}", sep);
                }
            }

            _depth--;
            return dict;
        }

        private Variant ParseArray(in Token open)
        {
            Enter(open);
            var array = new VariantArray();
            while (true)
            {
                var t = Next();
                if (t.Kind == TokenKind.CloseBracket)
                {
                    break;
                }

                array.Add(ParseValue(t));
                var sep = Next();
                if (sep.Kind == TokenKind.CloseBracket)
                {
                    break;
                }

                if (sep.Kind != TokenKind.Comma)
                {
                    throw Error($"Expected ',' or ']' in an array but found {Describe(sep)}", sep);
                }
            }

            _depth--;
            return array;
        }

        private void Enter(in Token t)
        {
            if (++_depth > MaxDepth)
            {
                throw Error($"Containers are nested deeper than {MaxDepth} levels", t);
            }
        }

        private Variant ParseIdentifier(in Token t)
        {
            var name = t.Text!;
            switch (name)
            {
                case "true":
                    return Variant.From(true);
                case "false":
                    return Variant.From(false);
                case "null" or "nil":
                    return Variant.Nil;
                case "Vector2":
                {
                    var f = Floats(t, 2);
                    return new Vector2(f[0], f[1]);
                }

                case "Rect2":
                {
                    var f = Floats(t, 4);
                    return new Rect2(f[0], f[1], f[2], f[3]);
                }

                case "Vector3":
                {
                    var f = Floats(t, 3);
                    return new Vector3(f[0], f[1], f[2]);
                }

                case "Transform2D" or "Matrix32":
                {
                    var f = Floats(t, 6);
                    return new Transform2D(new Vector2(f[0], f[1]), new Vector2(f[2], f[3]), new Vector2(f[4], f[5]));
                }

                case "Plane":
                {
                    var f = Floats(t, 4);
                    return new Plane(f[0], f[1], f[2], f[3]);
                }

                case "Quat":
                {
                    var f = Floats(t, 4);
                    return new Quat(f[0], f[1], f[2], f[3]);
                }

                case "AABB" or "Rect3":
                {
                    var f = Floats(t, 6);
                    return new AABB(new Vector3(f[0], f[1], f[2]), new Vector3(f[3], f[4], f[5]));
                }

                case "Basis" or "Matrix3":
                {
                    var f = Floats(t, 9);
                    return Basis.FromRows(new Vector3(f[0], f[1], f[2]), new Vector3(f[3], f[4], f[5]), new Vector3(f[6], f[7], f[8]));
                }

                case "Transform":
                {
                    var f = Floats(t, 12);
                    var basis = Basis.FromRows(new Vector3(f[0], f[1], f[2]), new Vector3(f[3], f[4], f[5]), new Vector3(f[6], f[7], f[8]));
                    return new Transform(basis, new Vector3(f[9], f[10], f[11]));
                }

                case "Color":
                {
                    var f = Floats(t, 4);
                    return new Color(f[0], f[1], f[2], f[3]);
                }

                case "NodePath":
                {
                    ExpectOpen(t);
                    var path = Next();
                    if (path.Kind != TokenKind.String)
                    {
                        throw Error($"NodePath takes one string: expected a string but found {Describe(path)}", path);
                    }

                    ExpectClose("NodePath takes one string", Next());
                    return new NodePath(path.Text!);
                }

                case "RID":
                {
                    ExpectOpen(t);
                    var id = Next();
                    if (id.Kind != TokenKind.Int || id.Int < 0)
                    {
                        throw Error($"RID takes one id (an integer >= 0): expected it but found {Describe(id)}", id);
                    }

                    ExpectClose("RID takes one id", Next());
                    return new RID((ulong)id.Int);
                }

                case "Object":
                    return ParseObject(t);
                case "PoolByteArray" or "ByteArray":
                {
                    var items = Items(t, "PoolByteArray", "an integer from 0 to 255", static x => x is { Kind: TokenKind.Int, Int: >= 0 and <= 255 });
                    var a = new byte[items.Count];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = (byte)items[i].Int;
                    }

                    return a;
                }

                case "PoolIntArray" or "IntArray":
                {
                    var items = Items(t, "PoolIntArray", "a 32-bit integer", static x => x is { Kind: TokenKind.Int, Int: >= int.MinValue and <= int.MaxValue });
                    var a = new int[items.Count];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = (int)items[i].Int;
                    }

                    return a;
                }

                case "PoolRealArray" or "FloatArray":
                    return PoolFloats(t, "PoolRealArray", 1);
                case "PoolStringArray" or "StringArray":
                {
                    var items = Items(t, "PoolStringArray", "a string", static x => x.Kind == TokenKind.String);
                    var a = new string[items.Count];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = items[i].Text!;
                    }

                    return a;
                }

                case "PoolVector2Array" or "Vector2Array":
                    return PoolFloats(t, "PoolVector2Array", 2);
                case "PoolVector3Array" or "Vector3Array":
                    return PoolFloats(t, "PoolVector3Array", 3);
                case "PoolColorArray" or "ColorArray":
                    return PoolFloats(t, "PoolColorArray", 4);
                default:
                    throw Error($"Unknown identifier '{name}'; expected a value such as null, true, 12, 1.5, \"text\", [ ], {{ }} or a constructor such as Vector2( 1, 2 )", t);
            }
        }

        private Variant ParseObject(in Token t)
        {
            ExpectOpen(t);
            var cls = Next();
            if (cls.Kind is not (TokenKind.Identifier or TokenKind.String) || string.IsNullOrEmpty(cls.Text))
            {
                throw Error($"Object needs a class name: expected an identifier (or a quoted name) but found {Describe(cls)}", cls);
            }

            var comma = Next();
            if (comma.Kind != TokenKind.Comma)
            {
                throw Error($"Expected ',' after the class name of Object( but found {Describe(comma)}", comma);
            }

            Enter(t);
            var props = new List<KeyValuePair<string, Variant>>();
            while (true)
            {
                var key = Next();
                if (key.Kind == TokenKind.CloseParen)
                {
                    break;
                }

                if (key.Kind != TokenKind.String)
                {
                    throw Error($"Expected a property name (a string) or ')' in Object( but found {Describe(key)}", key);
                }

                var colon = Next();
                if (colon.Kind != TokenKind.Colon)
                {
                    throw Error($"Expected ':' after the property name \"{key.Text}\" but found {Describe(colon)}", colon);
                }

                props.Add(new KeyValuePair<string, Variant>(key.Text!, ParseValue(Next())));
                var sep = Next();
                if (sep.Kind == TokenKind.CloseParen)
                {
                    break;
                }

                if (sep.Kind != TokenKind.Comma)
                {
                    throw Error($"Expected ',' or ')' in Object( but found {Describe(sep)}", sep);
                }
            }

            _depth--;
            if (cls.Text == "EncodedObjectAsID" && TryGetObjectId(props, out var id))
            {
                return Variant.FromObject(new EncodedObjectAsId(id));
            }

            return Variant.FromObject(new ObjectData(cls.Text!, props));
        }

        // Object(EncodedObjectAsID,"object_id":N,"script":null): what var2str prints for an object sent as its id.
        private static bool TryGetObjectId(List<KeyValuePair<string, Variant>> props, out ulong id)
        {
            id = 0;
            var found = false;
            foreach (var (name, value) in props)
            {
                if (name == "object_id" && value.Type == VariantType.Int && !found)
                {
                    id = unchecked((ulong)value.AsInt64());
                    found = true;
                }
                else if (!(name == "script" && value.IsNil))
                {
                    return false;
                }
            }

            return found;
        }

        private void ExpectOpen(in Token ctor)
        {
            var open = Next();
            if (open.Kind != TokenKind.OpenParen)
            {
                throw Error($"Expected '(' after {ctor.Text} but found {Describe(open)}", open);
            }
        }

        private static void ExpectClose(string what, in Token t)
        {
            if (t.Kind != TokenKind.CloseParen)
            {
                throw Error($"{what}: expected ')' but found {Describe(t)}", t);
            }
        }

        /// <summary>Exactly <paramref name="count"/> comma-separated numbers in parentheses, as float32.</summary>
        private float[] Floats(in Token ctor, int count)
        {
            ExpectOpen(ctor);
            var result = new float[count];
            var what = $"{ctor.Text} takes {count} numbers";
            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    var comma = Next();
                    if (comma.Kind == TokenKind.CloseParen)
                    {
                        throw Error($"{what} but got {i}", comma);
                    }

                    if (comma.Kind != TokenKind.Comma)
                    {
                        throw Error($"{what}: expected ',' but found {Describe(comma)}", comma);
                    }
                }

                var n = Next();
                result[i] = n.Kind switch
                {
                    TokenKind.Int => n.Int,
                    TokenKind.Real => (float)n.Real,
                    _ => throw Error($"{what}: expected a number but found {Describe(n)}", n),
                };
            }

            var close = Next();
            if (close.Kind != TokenKind.CloseParen)
            {
                throw Error(close.Kind == TokenKind.Comma ? $"{what}, not more" : $"{what}: expected ')' but found {Describe(close)}", close);
            }

            return result;
        }

        /// <summary>Comma-separated items in parentheses (possibly none), each accepted by <paramref name="isItem"/>.</summary>
        private List<Token> Items(in Token ctor, string typeName, string itemName, Func<Token, bool> isItem)
        {
            ExpectOpen(ctor);
            var items = new List<Token>();
            var t = Next();
            if (t.Kind == TokenKind.CloseParen)
            {
                return items;
            }

            while (true)
            {
                if (!isItem(t))
                {
                    throw Error($"{typeName} elements must each be {itemName}, but found {Describe(t)}", t);
                }

                items.Add(t);
                var sep = Next();
                if (sep.Kind == TokenKind.CloseParen)
                {
                    return items;
                }

                if (sep.Kind != TokenKind.Comma)
                {
                    throw Error($"Expected ',' or ')' in {typeName}( but found {Describe(sep)}", sep);
                }

                t = Next();
            }
        }

        private Variant PoolFloats(in Token ctor, string typeName, int group)
        {
            var items = Items(ctor, typeName, "a number", static x => x.Kind is TokenKind.Int or TokenKind.Real);
            if (items.Count % group != 0)
            {
                throw Error($"{typeName} needs a multiple of {group} numbers but got {items.Count}", ctor);
            }

            var f = new float[items.Count];
            for (var i = 0; i < f.Length; i++)
            {
                f[i] = items[i].Kind == TokenKind.Int ? items[i].Int : (float)items[i].Real;
            }

            switch (group)
            {
                case 1:
                    return f;
                case 2:
                {
                    var a = new Vector2[f.Length / 2];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = new Vector2(f[2 * i], f[(2 * i) + 1]);
                    }

                    return a;
                }

                case 3:
                {
                    var a = new Vector3[f.Length / 3];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = new Vector3(f[3 * i], f[(3 * i) + 1], f[(3 * i) + 2]);
                    }

                    return a;
                }

                default:
                {
                    var a = new Color[f.Length / 4];
                    for (var i = 0; i < a.Length; i++)
                    {
                        a[i] = new Color(f[4 * i], f[(4 * i) + 1], f[(4 * i) + 2], f[(4 * i) + 3]);
                    }

                    return a;
                }
            }
        }

        // ---- tokens -------------------------------------------------------------------------------------------

        private Token Next()
        {
            while (true)
            {
                if (_pos >= s.Length)
                {
                    return new Token(TokenKind.Eof, _line, Column(_pos));
                }

                var c = s[_pos];
                if (c == '\n')
                {
                    _pos++;
                    _line++;
                    _lineStart = _pos;
                    continue;
                }

                if (c is <= ' ' and not '\0')
                {
                    _pos++;
                    continue;
                }

                if (c == ';')
                {
                    while (_pos < s.Length && s[_pos] != '\n')
                    {
                        _pos++;
                    }

                    continue;
                }

                break;
            }

            var line = _line;
            var column = Column(_pos);
            var ch = s[_pos];
            switch (ch)
            {
                case '{': _pos++; return new Token(TokenKind.OpenBrace, line, column);
                case '}': _pos++; return new Token(TokenKind.CloseBrace, line, column);
                case '[': _pos++; return new Token(TokenKind.OpenBracket, line, column);
                case ']': _pos++; return new Token(TokenKind.CloseBracket, line, column);
                case '(': _pos++; return new Token(TokenKind.OpenParen, line, column);
                case ')': _pos++; return new Token(TokenKind.CloseParen, line, column);
                case ':': _pos++; return new Token(TokenKind.Colon, line, column);
                case ',': _pos++; return new Token(TokenKind.Comma, line, column);
                case '"': return ReadString(line, column);
            }

            if (ch == '-' || char.IsAsciiDigit(ch))
            {
                return ReadNumber(line, column);
            }

            if (IsIdentifierStart(ch))
            {
                var start = _pos;
                while (_pos < s.Length && IsIdentifierPart(s[_pos]))
                {
                    _pos++;
                }

                var name = s[start.._pos];
                if (name is "inf" or "nan")
                {
                    return SpecialFloat(name, negative: false, line, column);
                }

                return new Token(TokenKind.Identifier, line, column, name);
            }

            throw new VariantTextException(
                ch == '\0' ? "Unexpected NUL character" : $"Unexpected character '{ch}' (U+{(int)ch:X4})", line, column);
        }

        private Token ReadNumber(int line, int column)
        {
            var start = _pos;
            var negative = s[_pos] == '-';
            if (negative)
            {
                _pos++;
                if (_pos >= s.Length || !char.IsAsciiDigit(s[_pos]))
                {
                    var idStart = _pos;
                    while (_pos < s.Length && IsIdentifierPart(s[_pos]))
                    {
                        _pos++;
                    }

                    var word = s[idStart.._pos];
                    if (word is "inf" or "nan")
                    {
                        return SpecialFloat(word, negative: true, line, column);
                    }

                    throw new VariantTextException("Expected a digit, 'inf' or 'nan' after '-'", line, column + 1);
                }
            }

            while (_pos < s.Length && char.IsAsciiDigit(s[_pos]))
            {
                _pos++;
            }

            var isFloat = false;
            if (_pos < s.Length && s[_pos] == '.')
            {
                isFloat = true;
                _pos++;
                while (_pos < s.Length && char.IsAsciiDigit(s[_pos]))
                {
                    _pos++;
                }
            }

            var end = _pos;
            if (_pos < s.Length && s[_pos] == 'e')
            {
                isFloat = true;
                _pos++;
                if (_pos < s.Length && s[_pos] is '+' or '-')
                {
                    _pos++;
                }

                var digitsStart = _pos;
                while (_pos < s.Length && char.IsAsciiDigit(s[_pos]))
                {
                    _pos++;
                }

                // Godot reads "1e" and "1e+" as 1.0: an exponent without digits counts as none.
                if (_pos > digitsStart)
                {
                    end = _pos;
                }
            }

            var lexeme = s.AsSpan(start, end - start);
            if (isFloat)
            {
                return new Token(TokenKind.Real, line, column, Real: GodotStringToDouble(lexeme));
            }

            if (!long.TryParse(lexeme, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                throw new VariantTextException($"The integer {lexeme} does not fit in 64 bits", line, column);
            }

            return new Token(TokenKind.Int, line, column, Int: value);
        }

        /// <summary>
        /// Godot 3's <c>String::to_double</c>, which str2var uses: the classic (Tcl/BSD) strtod that reads at most 18
        /// mantissa digits and scales by a power of ten built from 10^1, 10^2, 10^4 ... 10^256. It is not always
        /// correctly rounded (7.85557e+37 reads one ulp above the nearest double), and GdNet reads the same doubles.
        /// The lexeme is a number token: -?digits(.digits*)?(e[+-]?digits+)?.
        /// </summary>
        internal static double GodotStringToDouble(ReadOnlySpan<char> lexeme)
        {
            var i = 0;
            var negative = lexeme[0] == '-';
            if (negative)
            {
                i++;
            }

            // Mantissa: digits with at most one '.'.
            var decimalPoint = -1;
            var mantissaStart = i;
            var mantissaSize = 0;
            for (; i < lexeme.Length; i++, mantissaSize++)
            {
                if (!char.IsAsciiDigit(lexeme[i]))
                {
                    if (lexeme[i] != '.' || decimalPoint >= 0)
                    {
                        break;
                    }

                    decimalPoint = mantissaSize;
                }
            }

            var exponentStart = i;
            if (decimalPoint < 0)
            {
                decimalPoint = mantissaSize;
            }
            else
            {
                mantissaSize--;
            }

            int fractionExponent;
            if (mantissaSize > 18)
            {
                fractionExponent = decimalPoint - 18;
                mantissaSize = 18;
            }
            else
            {
                fractionExponent = decimalPoint - mantissaSize;
            }

            double fraction;
            if (mantissaSize == 0)
            {
                return negative ? -0.0 : 0.0;
            }

            var p = mantissaStart;
            int high = 0, low = 0;
            for (; mantissaSize > 9; mantissaSize--)
            {
                if (lexeme[p] == '.')
                {
                    p++;
                }

                high = (10 * high) + (lexeme[p++] - '0');
            }

            for (; mantissaSize > 0; mantissaSize--)
            {
                if (lexeme[p] == '.')
                {
                    p++;
                }

                low = (10 * low) + (lexeme[p++] - '0');
            }

            fraction = (1.0e9 * high) + low;

            var exponent = 0;
            var exponentNegative = false;
            i = exponentStart;
            if (i < lexeme.Length && lexeme[i] == 'e')
            {
                i++;
                if (i < lexeme.Length && lexeme[i] is '+' or '-')
                {
                    exponentNegative = lexeme[i] == '-';
                    i++;
                }

                for (; i < lexeme.Length && char.IsAsciiDigit(lexeme[i]); i++)
                {
                    exponent = Math.Min((exponent * 10) + (lexeme[i] - '0'), 100_000);
                }
            }

            exponent = exponentNegative ? fractionExponent - exponent : fractionExponent + exponent;
            var divide = exponent < 0;
            exponent = Math.Min(Math.Abs(exponent), 511);
            var scale = 1.0;
            for (var k = 0; exponent != 0; exponent >>= 1, k++)
            {
                if ((exponent & 1) != 0)
                {
                    scale *= ScalePowers[k];
                }
            }

            fraction = divide ? fraction / scale : fraction * scale;
            return negative ? -fraction : fraction;
        }

        // inf, nan, -inf, -nan, each optionally followed by ".0" (var2str prints "-inf.0" and "-nan.0").
        private Token SpecialFloat(string word, bool negative, int line, int column)
        {
            if (_pos + 1 < s.Length && s[_pos] == '.' && s[_pos + 1] == '0' && (_pos + 2 >= s.Length || !IsIdentifierPart(s[_pos + 2])))
            {
                _pos += 2;
            }

            var value = word == "inf"
                ? (negative ? double.NegativeInfinity : double.PositiveInfinity)
                : (negative ? NegativeNaN : PositiveNaN);
            return new Token(TokenKind.Real, line, column, Real: value);
        }

        private Token ReadString(int line, int column)
        {
            _pos++; // opening quote
            var sb = new System.Text.StringBuilder();
            while (true)
            {
                if (_pos >= s.Length)
                {
                    throw new VariantTextException("Unterminated string: expected a closing '\"'", line, column);
                }

                var c = s[_pos++];
                if (c == '"')
                {
                    return new Token(TokenKind.String, line, column, sb.ToString());
                }

                if (c == '\n')
                {
                    _line++;
                    _lineStart = _pos;
                    sb.Append(c);
                    continue;
                }

                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }

                if (_pos >= s.Length)
                {
                    throw new VariantTextException("Unterminated string: expected a closing '\"'", line, column);
                }

                var escLine = _line;
                var escColumn = Column(_pos - 1);
                var e = s[_pos++];
                switch (e)
                {
                    case 'b': sb.Append('\b'); break;
                    case 't': sb.Append('\t'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'a': sb.Append('\a'); break; // Godot reads "a": GdNet reads what var2str meant
                    case 'v': sb.Append('\v'); break; // Godot reads "v"
                    case 'u':
                    {
                        if (_pos + 4 > s.Length || !int.TryParse(s.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        {
                            throw new VariantTextException("Malformed \\u escape: expected 4 hexadecimal digits", escLine, escColumn);
                        }

                        _pos += 4;
                        sb.Append((char)code);
                        break;
                    }

                    case '\n':
                        _line++;
                        _lineStart = _pos;
                        sb.Append(e);
                        break;
                    default:
                        sb.Append(e); // Godot: \" \\ \' \? and any other escaped character stand for themselves
                        break;
                }
            }
        }

        private int Column(int pos) => pos - _lineStart + 1;

        private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

        private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

        private static string Describe(in Token t) => t.Kind switch
        {
            TokenKind.Eof => "the end of the text",
            TokenKind.OpenBrace => "'{'",
            TokenKind.CloseBrace => "'}'",
            TokenKind.OpenBracket => "'['",
            TokenKind.CloseBracket => "']'",
            TokenKind.OpenParen => "'('",
            TokenKind.CloseParen => "')'",
            TokenKind.Colon => "':'",
            TokenKind.Comma => "','",
            TokenKind.String => "a string",
            TokenKind.Int => $"the number {t.Int.ToString(CultureInfo.InvariantCulture)}",
            TokenKind.Real => "a number",
            _ => $"'{t.Text}'",
        };

        private static VariantTextException Error(string reason, in Token at) => new(reason, at.Line, at.Column);
    }
}
