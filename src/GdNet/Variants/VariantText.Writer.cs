using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace GdNet.Variants;

// The var2str layout, as printed by Godot 3.2.3 (golden samples in tests/GdNet.Tests/Variants/Data/var2str.json):
//   null  true  12  1.0  "text"            String: only \ and " are escaped, newlines and tabs stay raw
//   Vector2( 1, 2 )  Rect2( 1, 2, 3, 4 )  Transform2D( xx, xy, yx, yy, ox, oy )  Basis( rows... )  Color( r, g, b, a )
//   NodePath("a/b:c")                      NodePath and PoolStringArray elements use C escapes (\n \t \' \? ...)
//   (an RID prints as nothing at all)
//   Object(Class,"prop":value,"prop2":value)<newline>     a null object prints null; names escaped like Strings, a
//                                          class name that is not an identifier quoted (Godot's are identifiers)
//   {<nl>key: value,<nl>key: value<nl>}    keys sorted as Godot sorts them; the empty dictionary is {<nl><nl>}
//   [ 1, "a" ]  [  ]  PoolByteArray( 1, 2 )  PoolByteArray(  )  PoolVector2Array( x1, y1, x2, y2 )
public static partial class VariantText
{
    /// <summary>The nesting limit for containers and objects, in both directions (as the codec's default MaxDepth).</summary>
    public const int MaxDepth = 1024;

    private static void Write(StringBuilder sb, in Variant v, int depth)
    {
        switch (v.Type)
        {
            case VariantType.Nil:
                sb.Append("null");
                break;
            case VariantType.Bool:
                sb.Append(v.AsBool() ? "true" : "false");
                break;
            case VariantType.Int:
                sb.Append(v.AsInt64().ToString(CultureInfo.InvariantCulture));
                break;
            case VariantType.Real:
                AppendReal(sb, v.AsDouble());
                break;
            case VariantType.String:
                AppendMultilineString(sb, v.AsString());
                break;
            case VariantType.Vector2 or VariantType.Rect2 or VariantType.Vector3 or VariantType.Transform2D or VariantType.Plane
                or VariantType.Quat or VariantType.AABB or VariantType.Basis or VariantType.Transform or VariantType.Color:
                WriteMath(sb, v);
                break;
            case VariantType.NodePath:
                sb.Append("NodePath(");
                AppendCEscapedString(sb, v.AsNodePath().ToString());
                sb.Append(')');
                break;
            case VariantType.RID:
                break; // Godot 3.2.3 prints nothing for an RID
            case VariantType.Object:
                WriteObject(sb, v.AsObject(), depth);
                break;
            case VariantType.Dictionary:
                WriteDictionary(sb, v.AsDictionary(), depth);
                break;
            case VariantType.Array:
            {
                var array = v.AsArray();
                CheckDepth(depth);
                sb.Append("[ ");
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Write(sb, array[i], depth + 1);
                }

                sb.Append(" ]");
                break;
            }

            case VariantType.PoolByteArray:
            {
                sb.Append("PoolByteArray( ");
                var a = v.AsByteArray();
                for (var i = 0; i < a.Length; i++)
                {
                    Separator(sb, i).Append(a[i].ToString(CultureInfo.InvariantCulture));
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolIntArray:
            {
                sb.Append("PoolIntArray( ");
                var a = v.AsIntArray();
                for (var i = 0; i < a.Length; i++)
                {
                    Separator(sb, i).Append(a[i].ToString(CultureInfo.InvariantCulture));
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolRealArray:
            {
                sb.Append("PoolRealArray( ");
                var a = v.AsRealArray();
                for (var i = 0; i < a.Length; i++)
                {
                    AppendFloat(Separator(sb, i), a[i]);
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolStringArray:
            {
                sb.Append("PoolStringArray( ");
                var a = v.AsStringArray();
                for (var i = 0; i < a.Length; i++)
                {
                    AppendCEscapedString(Separator(sb, i), a[i] ?? "");
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolVector2Array:
            {
                sb.Append("PoolVector2Array( ");
                var a = v.AsVector2Array();
                for (var i = 0; i < a.Length; i++)
                {
                    AppendFloat(Separator(sb, i), a[i].X);
                    AppendFloat(sb.Append(", "), a[i].Y);
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolVector3Array:
            {
                sb.Append("PoolVector3Array( ");
                var a = v.AsVector3Array();
                for (var i = 0; i < a.Length; i++)
                {
                    AppendFloat(Separator(sb, i), a[i].X);
                    AppendFloat(sb.Append(", "), a[i].Y);
                    AppendFloat(sb.Append(", "), a[i].Z);
                }

                sb.Append(" )");
                break;
            }

            case VariantType.PoolColorArray:
            {
                sb.Append("PoolColorArray( ");
                var a = v.AsColorArray();
                for (var i = 0; i < a.Length; i++)
                {
                    AppendFloat(Separator(sb, i), a[i].R);
                    AppendFloat(sb.Append(", "), a[i].G);
                    AppendFloat(sb.Append(", "), a[i].B);
                    AppendFloat(sb.Append(", "), a[i].A);
                }

                sb.Append(" )");
                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(v), v.Type, "The Variant has an unknown type; build Variants with Variant.From.");
        }
    }

    // Kept out of Write so that deep nesting does not carry these stack buffers in every frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteMath(StringBuilder sb, in Variant v)
    {
        switch (v.Type)
        {
            case VariantType.Vector2:
            {
                var x = v.AsVector2();
                Floats(sb, "Vector2", [x.X, x.Y]);
                break;
            }

            case VariantType.Rect2:
            {
                var r = v.AsRect2();
                Floats(sb, "Rect2", [r.Position.X, r.Position.Y, r.Size.X, r.Size.Y]);
                break;
            }

            case VariantType.Vector3:
            {
                var x = v.AsVector3();
                Floats(sb, "Vector3", [x.X, x.Y, x.Z]);
                break;
            }

            case VariantType.Transform2D:
            {
                var t = v.AsTransform2D();
                Floats(sb, "Transform2D", [t.X.X, t.X.Y, t.Y.X, t.Y.Y, t.Origin.X, t.Origin.Y]);
                break;
            }

            case VariantType.Plane:
            {
                var p = v.AsPlane();
                Floats(sb, "Plane", [p.Normal.X, p.Normal.Y, p.Normal.Z, p.D]);
                break;
            }

            case VariantType.Quat:
            {
                var q = v.AsQuat();
                Floats(sb, "Quat", [q.X, q.Y, q.Z, q.W]);
                break;
            }

            case VariantType.AABB:
            {
                var a = v.AsAABB();
                Floats(sb, "AABB", [a.Position.X, a.Position.Y, a.Position.Z, a.Size.X, a.Size.Y, a.Size.Z]);
                break;
            }

            case VariantType.Basis:
            {
                var b = v.AsBasis();
                Floats(sb, "Basis", [b.X.X, b.Y.X, b.Z.X, b.X.Y, b.Y.Y, b.Z.Y, b.X.Z, b.Y.Z, b.Z.Z]);
                break;
            }

            case VariantType.Transform:
            {
                var t = v.AsTransform();
                var b = t.Basis;
                Floats(sb, "Transform", [b.X.X, b.Y.X, b.Z.X, b.X.Y, b.Y.Y, b.Z.Y, b.X.Z, b.Y.Z, b.Z.Z, t.Origin.X, t.Origin.Y, t.Origin.Z]);
                break;
            }

            case VariantType.Color:
            {
                var c = v.AsColor();
                Floats(sb, "Color", [c.R, c.G, c.B, c.A]);
                break;
            }

        }
    }

    private static StringBuilder Separator(StringBuilder sb, int index) => index > 0 ? sb.Append(", ") : sb;

    private static void Floats(StringBuilder sb, string name, ReadOnlySpan<float> values)
    {
        sb.Append(name).Append("( ");
        for (var i = 0; i < values.Length; i++)
        {
            AppendFloat(Separator(sb, i), values[i]);
        }

        sb.Append(" )");
    }

    private static void CheckDepth(int depth)
    {
        if (depth >= MaxDepth)
        {
            throw new ArgumentException(
                $"The value nests containers deeper than {MaxDepth} levels (does an array or dictionary contain itself?); var2str cannot print it.");
        }
    }

    private static void WriteDictionary(StringBuilder sb, VariantDictionary dictionary, int depth)
    {
        CheckDepth(depth);
        var keys = new Variant[dictionary.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = dictionary.GetEntry(i).Key;
        }

        SortKeysLikeGodot(keys);
        sb.Append("{\n");
        for (var i = 0; i < keys.Length; i++)
        {
            Write(sb, keys[i], depth + 1);
            sb.Append(": ");
            Write(sb, dictionary[keys[i]], depth + 1);
            if (i + 1 < keys.Length)
            {
                sb.Append(",\n");
            }
        }

        sb.Append("\n}");
    }

    private static void WriteObject(StringBuilder sb, GodotObjectValue? obj, int depth)
    {
        switch (obj)
        {
            case null:
                sb.Append("null");
                return;
            case EncodedObjectAsId id:
                // What Godot prints for the EncodedObjectAsID object that bytes2var makes of an object sent as its id.
                sb.Append("Object(EncodedObjectAsID,\"object_id\":")
                    .Append(unchecked((long)id.ObjectId).ToString(CultureInfo.InvariantCulture))
                    .Append(",\"script\":null)\n");
                return;
            case ObjectData data:
                CheckDepth(depth);
                // Godot writes the class and property names as they are, which is the same text for the identifiers its
                // classes have. Names that are not identifiers can come from remote bytes (ObjectData is never checked
                // against Godot's classes), so they are escaped (a quoted class name), or the text could not be read
                // back, or would read back as other properties.
                sb.Append("Object(");
                if (IsIdentifier(data.ClassName))
                {
                    sb.Append(data.ClassName);
                }
                else
                {
                    AppendMultilineString(sb, data.ClassName);
                }

                sb.Append(',');
                for (var i = 0; i < data.Properties.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    AppendMultilineString(sb, data.Properties[i].Key);
                    sb.Append(':');
                    Write(sb, data.Properties[i].Value, depth + 1);
                }

                sb.Append(")\n");
                return;
            default:
                throw new ArgumentException($"Unknown object value {obj.GetType().Name}.", nameof(obj));
        }
    }

    /// <summary>Whether <paramref name="name"/> reads back as one identifier token (<c>[A-Za-z_][A-Za-z0-9_]*</c>).</summary>
    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A String Variant: quotes, with only backslash and double quote escaped.</summary>
    private static void AppendMultilineString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            if (c is '\\' or '"')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('"');
    }

    /// <summary>NodePath and PoolStringArray elements: quotes and Godot's <c>c_escape()</c>.</summary>
    private static void AppendCEscapedString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                case '\'': sb.Append("\\'"); break;
                case '?': sb.Append("\\?"); break;
                case '"': sb.Append("\\\""); break;
                default: sb.Append(c); break;
            }
        }

        sb.Append('"');
    }
}
