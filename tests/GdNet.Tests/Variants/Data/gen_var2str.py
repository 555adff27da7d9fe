#!/usr/bin/env python3
"""Generate var2str.json (golden var2str/str2var data) by asking a real Godot 3.2.3 binary.

Run from anywhere:  python3 gen_var2str.py [OUT_JSON] [GODOT_BINARY]
(defaults: var2str.json beside this script, and godot3-server).

It reuses the shared fixture tools (../shared/godot3/tools beside the repository): gen_variants.py for
the value list and the description -> GDScript translation, and vcheck.py to turn var2bytes output
back into neutral descriptions. For every value the engine prints:
  - var2str(v)                                  -> "text"
  - var2bytes(v) decoded by vcheck              -> "value" (what Godot really held, so float32
                                                   rounding and NaN signs are exact)
  - str2var(text), re-encoded and decoded       -> "parsed" / "parse_ok"
  - var2str(str2var(text))                      -> "reformatted"
For parse cases (texts typed by hand) it records what str2var returned. GDScript's str2var returns
the input text itself (as a String) when the text does not parse; that is how "ok" is detected.

Descriptions are those of shared/godot3/README.md, plus:
  - floats may be "-nan" (a NaN with the sign bit set; Godot prints it "-nan");
  - {"type":"Object","null":true}, {"type":"Object","class":"EncodedObjectAsID","id":N} and
    {"type":"Object","class":C,"properties":[{"name":..,"value":..}..]} (stored properties in order).
No engine source is used; everything here is observed output.
"""
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))


def find_shared_tools():
    d = HERE
    while d != os.path.dirname(d):
        if os.path.exists(os.path.join(d, "GdNet.slnx")):
            return os.path.join(os.path.dirname(d), "shared", "godot3", "tools")
        d = os.path.dirname(d)
    raise SystemExit("GdNet.slnx not found above " + HERE)


sys.path.insert(0, os.environ.get("GDNET_SHARED_TOOLS") or find_shared_tools())
import gen_variants as gv  # noqa: E402
import vcheck  # noqa: E402

# ------------------------------------------------------------ NaN signs
_orig_jf = vcheck.jf


def jf(v):
    if isinstance(v, float) and math.isnan(v):
        return "-nan" if math.copysign(1.0, v) < 0 else "nan"
    return _orig_jf(v)


vcheck.jf = jf

_orig_gd_float = gv.gd_float


def gd_float(v):
    if v == "-nan":
        return '_d("000000000000f8ff")'
    return _orig_gd_float(v)


gv.gd_float = gd_float

# ------------------------------------------------------------ objects
_orig_gd = gv.gd


def gd(d):
    if d["type"] == "Object":
        if d.get("null"):
            return '_nullobj()'
        if d["class"] == "EncodedObjectAsID":
            return '_eoid("%s")' % struct.pack("<Q", d["id"] % (1 << 64)).hex()
        props = ", ".join("[%s, %s]" % (gv.gd_str(p["name"]), gd(p["value"])) for p in d["properties"])
        return '_obj("%s", [%s])' % (d["class"], props)
    return _orig_gd(d)


gv.gd = gd


def has_object(d):
    if d["type"] == "Object":
        return True
    if d["type"] == "Array":
        return any(has_object(x) for x in d["items"])
    if d["type"] == "Dictionary":
        return any(has_object(e["key"]) or has_object(e["value"]) for e in d["entries"])
    return False


def gd_text(t):
    """A GDScript string literal holding exactly t."""
    out = []
    for ch in t:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif o < 32 or o == 127 or o == 0xFFFF:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


gv.gd_str = gd_text

# ------------------------------------------------------------ values
f, i, s, v2, v3, L, nil, b, arr, dct, np_ = gv.f, gv.i, gv.s, gv.v2, gv.v3, gv.L, gv.nil, gv.b, gv.arr, gv.dct, gv.np_
INF, NAN = float("inf"), float("nan")


def F(v):
    return v if isinstance(v, str) else gv.F(v)


def f32(v):
    if isinstance(v, str):
        return v
    return struct.unpack("<f", struct.pack("<f", v))[0]


def obj(cls, *props):
    return {"type": "Object", "class": cls, "properties": [{"name": n, "value": v} for n, v in props]}


def eoid(n):
    return {"type": "Object", "class": "EncodedObjectAsID", "id": n}


NULLOBJ = {"type": "Object", "null": True}

FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1 / 3, 2 / 3, 0.3, 0.7, 0.1 + 0.2, 3.0, 10.0, -123.456, math.pi, math.e,
          1e20, 1e-5, 1e-4, 1e-3, 1e-7, 2.5e-10, -2.5e10, 123456789.123, 16777216.0, 16777217.0, 123456.5, 123457.5,
          1234565.0, 1234575.0, 999999.5, 9999995.0, 999999.0, 1000000.0, 100000.0, 99999.95, 65504.0, 150000.0,
          1e15, 1e16, 4503599627370497.0, 9.999995e20, 1e-300, 1e300, 1e39, 1e38, 3.4028234663852886e38,
          1.1754943508222875e-38, 1.401298464324817e-45, 1e-40, 1e-46, 5e-324, 2.2250738585072014e-308,
          "inf", "-inf", "nan", "-nan"]


def rand_floats(rng):
    out = []
    for k in range(240):
        kind = k % 4
        if kind == 0:  # any float32 bit pattern (all exponents, denormals, NaN payloads)
            out.append(struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0])
        elif kind == 1:  # a decimal with 1..9 significant digits and a float32-ish exponent
            digits = rng.randint(1, 9)
            m = rng.randint(10 ** (digits - 1), 10 ** digits - 1)
            out.append(float("%s%de%d" % (rng.choice(["", "-"]), m, rng.randint(-47, 38))))
        elif kind == 2:  # a float32 close to a 6-digit rounding tie
            m = rng.randint(100000, 999999)
            e = rng.randint(-20, 20)
            out.append(f32(float("%d5e%d" % (m, e))))
        else:  # any double
            out.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
    return [F(x) for x in out]


def format_entries():
    E = []

    def add(name, desc):
        E.append({"name": name, "desc": desc})

    for e in gv.entries():
        add(e["name"], e["value"])

    for k, x in enumerate(FLOATS):
        add("real_%02d" % k, f(x))
    fl = [F(x) for x in FLOATS]
    add("poolreal_floats", {"type": "PoolRealArray", "values": fl})
    add("poolvector2_floats", {"type": "PoolVector2Array", "values": [fl[k:k + 2] for k in range(0, len(fl) - 1, 2)]})
    for k in range(0, len(fl) - 3, 4):
        add("color_floats_%02d" % k, {"type": "Color", "r": fl[k], "g": fl[k + 1], "b": fl[k + 2], "a": fl[k + 3]})
    add("vector2_neg_zero", v2(-0.0, 1.0))
    add("vector2_neg_nan", v2("-nan", "nan"))
    add("vector3_inf", v3("-inf", "inf", 0.0))
    add("quat_floats", {"type": "Quat", "x": 0.1, "y": 1 / 3, "z": 1e20, "w": -1e-5})
    add("plane_floats", {"type": "Plane", "normal": L(0.1, 1 / 3, 1e-40), "d": -2.5})
    add("rect2_floats", {"type": "Rect2", "position": L(0.1, 123456.5), "size": L(1e10, -0.0)})
    add("aabb_floats", {"type": "AABB", "position": L(0.1, 0.2, 0.3), "size": L(1e6, 1e7, 1e-6)})
    add("transform2d_floats", {"type": "Transform2D", "x": L(0.1, 0.2), "y": L(0.3, 0.4), "origin": L(-1e5, 1e5)})
    add("basis_floats", {"type": "Basis", "x": L(0.5, 0.25, 0.125), "y": L(1 / 3, 2 / 3, 1.0), "z": L(-1.0, 1e-3, 7.0)})
    add("transform_floats", {"type": "Transform",
                             "basis": {"x": L(0.5, 0.25, 0.125), "y": L(1 / 3, 2 / 3, 1.0), "z": L(-1.0, 1e-3, 7.0)},
                             "origin": L(123.5, -0.001, 1e9)})

    rng = random.Random(20240523)
    rf = rand_floats(rng)
    for k, x in enumerate(rf):
        add("real_rand_%03d" % k, f(x))
    for k in range(0, len(rf), 40):
        add("poolreal_rand_%03d" % k, {"type": "PoolRealArray", "values": rf[k:k + 40]})

    # strings and their three escaping contexts
    ctrl = "".join(chr(c) for c in range(1, 32)) + "\x7f"
    texts = ["", "plain", "it's? \"q\" \\ back", "tab\there\nnew\rcr", ctrl, "\u00e9\u65e5\U0001F600\uffff",
             "\\n is not a newline", "a\"", "\"", "\\", "x,y:z", "{ [ ( ) ] }", "; not a comment"]
    for k, t in enumerate(texts):
        add("string_text_%02d" % k, s(t))
    add("poolstring_texts", {"type": "PoolStringArray", "values": texts})
    for k, t in enumerate(["a\"b/c:d", "it's?", "tab\tname", "/root/\u00e9\\x"]):
        add("nodepath_text_%02d" % k, np_(t))
    add("dict_text_keys", dct(*[(s(t), i(k)) for k, t in enumerate(texts)]))

    # dictionary key order: one key type at a time, both insertion orders
    pairs = [
        ("bool", b(True), b(False)), ("int", i(5), i(-3)), ("real", f(2.5), f(-0.5)), ("string", s("b"), s("B")),
        ("string_prefix", s("ab"), s("a")), ("string_astral", s("\U0001F600"), s("\uffff")),
        ("vector2", v2(1, 5), v2(1, 2)), ("vector2_x", v2(2, 0), v2(1, 9)), ("vector3", v3(1, 2, 5), v3(1, 2, 3)),
        ("rect2", {"type": "Rect2", "position": L(2, 0), "size": L(0, 0)},
         {"type": "Rect2", "position": L(1, 0), "size": L(0, 0)}),
        ("transform2d", {"type": "Transform2D", "x": L(2, 0), "y": L(0, 0), "origin": L(0, 0)},
         {"type": "Transform2D", "x": L(1, 0), "y": L(0, 0), "origin": L(0, 0)}),
        ("plane", {"type": "Plane", "normal": L(2, 0, 0), "d": 0.0}, {"type": "Plane", "normal": L(1, 0, 0), "d": 0.0}),
        ("quat", {"type": "Quat", "x": 2.0, "y": 0.0, "z": 0.0, "w": 0.0},
         {"type": "Quat", "x": 1.0, "y": 0.0, "z": 0.0, "w": 0.0}),
        ("aabb", {"type": "AABB", "position": L(2, 0, 0), "size": L(0, 0, 0)},
         {"type": "AABB", "position": L(1, 0, 0), "size": L(0, 0, 0)}),
        ("basis", {"type": "Basis", "x": L(2, 0, 0), "y": L(0, 0, 0), "z": L(0, 0, 0)},
         {"type": "Basis", "x": L(1, 0, 0), "y": L(0, 0, 0), "z": L(0, 0, 0)}),
        ("transform", {"type": "Transform", "basis": {"x": L(2, 0, 0), "y": L(0, 0, 0), "z": L(0, 0, 0)},
                       "origin": L(0, 0, 0)},
         {"type": "Transform", "basis": {"x": L(1, 0, 0), "y": L(0, 0, 0), "z": L(0, 0, 0)}, "origin": L(0, 0, 0)}),
        ("color", {"type": "Color", "r": 1.0, "g": 0.0, "b": 0.0, "a": 1.0},
         {"type": "Color", "r": 0.0, "g": 0.0, "b": 1.0, "a": 1.0}),
        ("nodepath", np_("b"), np_("a")),
        # (no Dictionary pair: Godot orders Dictionary keys by memory address)
        ("array_len", arr(i(1), i(0)), arr(i(2))), ("array_nested", arr(arr(i(1))), arr(arr(i(2)))),
        ("array_types", arr(s("a")), arr(i(1))), ("array_color", arr({"type": "Color", "r": 1.0, "g": 0.0, "b": 0.0, "a": 1.0}),
                                                    arr({"type": "Color", "r": 0.0, "g": 1.0, "b": 0.0, "a": 1.0})),
        ("array", arr(i(2)), arr(i(1))),
        ("poolbyte", {"type": "PoolByteArray", "values": [2]}, {"type": "PoolByteArray", "values": [1]}),
        ("poolbyte_len", {"type": "PoolByteArray", "values": [1]}, {"type": "PoolByteArray", "values": [9, 9]}),
        ("poolint", {"type": "PoolIntArray", "values": [2]}, {"type": "PoolIntArray", "values": [1]}),
        ("poolint_len", {"type": "PoolIntArray", "values": [1, 2]}, {"type": "PoolIntArray", "values": [5]}),
        ("poolreal", {"type": "PoolRealArray", "values": L(2)}, {"type": "PoolRealArray", "values": L(1)}),
        ("poolstring", {"type": "PoolStringArray", "values": ["b"]}, {"type": "PoolStringArray", "values": ["a"]}),
        ("poolvector2", {"type": "PoolVector2Array", "values": [L(2, 0)]},
         {"type": "PoolVector2Array", "values": [L(1, 0)]}),
        ("poolvector3", {"type": "PoolVector3Array", "values": [L(2, 0, 0)]},
         {"type": "PoolVector3Array", "values": [L(1, 0, 0)]}),
        ("poolcolor", {"type": "PoolColorArray", "values": [L(1, 2, 3, 5)]},
         {"type": "PoolColorArray", "values": [L(1, 2, 3, 4)]}),
    ]
    for name, x, y in pairs:
        add("dict_order_%s_xy" % name, dct((x, i(1)), (y, i(2))))
        add("dict_order_%s_yx" % name, dct((y, i(2)), (x, i(1))))
    add("dict_order_types", dct(
        ({"type": "PoolColorArray", "values": []}, i(26)), ({"type": "PoolByteArray", "values": []}, i(20)),
        (arr(), i(19)), (dct(), i(18)), (np_("p"), i(15)), ({"type": "Color", "r": 0.0, "g": 0.0, "b": 0.0, "a": 1.0}, i(14)),
        (v3(0, 0, 0), i(7)), (v2(0, 0), i(5)), (s("s"), i(4)), (f(0.5), i(3)), (i(1), i(2)), (b(True), i(1)),
        (nil(), i(0))))
    add("dict_order_floats", dct((f("nan"), i(1)), (f(1.5), i(2)), (f("-inf"), i(3)), (f("inf"), i(4)),
                                 (f(-0.5), i(5))))

    # big dictionaries: Godot sorts keys with an introsort, so keys that compare equal move around
    def key_pool(r, n):
        out, seen = [], set()
        while len(out) < n:
            kind = r.randrange(9)
            if kind == 0:
                k = s(r.choice(["", "a", "b", "B", "aa", "z", "\u00e9"]) + str(r.randrange(50)))
            elif kind == 1:
                k = i(r.randrange(-50, 50))
            elif kind == 2:
                k = {"type": "Color", "r": float(r.randrange(4)), "g": float(r.randrange(4)), "b": 0.0, "a": 1.0}
            elif kind == 3:
                k = np_("n%d" % r.randrange(40))
            elif kind == 4:
                k = v2(r.randrange(3), r.randrange(3))
            elif kind == 5:
                # equal-length pool arrays, so Godot's element-wise comparison stays inside both arrays
                k = {"type": "PoolIntArray", "values": [r.randrange(3), r.randrange(3)]}
            elif kind == 6:
                k = arr(*[i(r.randrange(20)) for _ in range(r.randrange(3))])
            elif kind == 7:
                k = f(r.randrange(-8, 8) / 4)
            else:
                k = {"type": "Rect2", "position": L(r.randrange(5), 0), "size": L(0, 0)}
            key = json.dumps(k, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(k)
        return out

    r = random.Random(7)
    for n in (17, 20, 33, 40, 64):
        add("dict_big_colors_%d" % n,
            dct(*[({"type": "Color", "r": float(k), "g": 0.0, "b": 0.0, "a": 1.0}, i(k)) for k in range(n)]))
    for k in range(12):
        n = r.choice([16, 17, 18, 24, 31, 40, 57, 90])
        add("dict_big_mixed_%02d" % k, dct(*[(x, i(j)) for j, x in enumerate(key_pool(r, n))]))
    for k in range(6):
        n = r.choice([17, 30, 50])
        add("dict_big_strings_%d" % k, dct(*[(s("k%d" % r.randrange(1000)), i(j)) for j in range(n)]))

    # nesting
    add("nested_deep", arr(dct((s("a"), arr(dct((s("b"), arr(arr(), dct()))), i(1))), (s("c"), dct((i(1), arr(f(0.5))))))))
    add("nested_dict_in_dict_key", dct((dct((s("k"), arr(i(1)))), dct((s("v"), dct())))))
    add("array_of_pools", arr({"type": "PoolByteArray", "values": []}, {"type": "PoolStringArray", "values": ["a", "b\nc"]},
                              {"type": "PoolVector3Array", "values": [L(0.1, 1e20, -0.0)]}))

    # objects
    add("object_null", NULLOBJ)
    add("object_as_id_5", eoid(5))
    add("object_as_id_big", eoid(0x123456789ABCDEF0))
    add("object_as_id_max", eoid(0xFFFFFFFFFFFFFFFF))
    add("object_reference", obj("Reference", ("script", nil())))
    add("object_node", obj("Node", ("_import_path", np_("")), ("pause_mode", i(0)), ("process_priority", i(0)),
                           ("script", nil())))
    add("object_resource", obj("Resource", ("resource_local_to_scene", b(False)), ("resource_name", s("n\"ame")),
                               ("script", nil())))
    add("object_reference_meta", obj("Reference", ("script", nil()),
                                     ("__meta__", dct((s("m"), i(1)), (s("list"), arr(f(0.5), s("x")))))))
    add("object_in_array", arr(obj("Reference", ("script", nil())), i(1), NULLOBJ, eoid(7)))
    add("object_in_dict", dct((s("o"), obj("Reference", ("script", nil()))), (s("z"), i(2)), (s("id"), eoid(9))))
    add("object_in_object", obj("Reference", ("script", nil()),
                                ("__meta__", dct((s("child"), obj("Reference", ("script", nil()))))))
        )
    return E


# (name, text, gdnet) — gdnet says where GdNet deliberately differs from str2var:
#   "error": GdNet reports an error where Godot silently returns something
#   {"value": desc}: GdNet returns this value instead
PARSE_CASES = [
    ("no_spaces", "Vector2(1,2)", None),
    ("spaces_everywhere", "  Vector2 ( 1 ,2 )  ", None),
    ("newlines_everywhere", "Vector2\n(\n1\n,\n2\n)", None),
    ("tabs_crlf", "\r\n\t 5 \r\n", None),
    ("dict_compact", "{\"a\":1,\"b\":[2,3]}", None),
    ("dict_spaced", "{ \"a\" : 1 , \"b\" : [ ] }", None),
    ("dict_trailing_comma", "{\"a\":1,}", None),
    ("array_trailing_comma", "[1,2,]", None),
    ("dict_duplicate_key", "{1: 2, 1: 3}", None),
    ("dict_empty_compact", "{}", None),
    ("array_empty_compact", "[]", None),
    ("pool_empty_compact", "PoolByteArray()", None),
    ("comment_line", "; comment\n5", None),
    ("comment_inside", "[1, ; c\n 2]", None),
    ("comment_after", "1;c", None),
    ("exp_lower", "1e5", None),
    ("exp_signed", "1.5e+3", None),
    ("exp_neg", "0.1e-3", None),
    ("exp_no_digits", "1e", None),
    ("exp_sign_no_digits", "1e+", None),
    ("dot_no_fraction", "5.", None),
    ("leading_zeros", "007", None),
    ("neg_zero_int", "-0", None),
    ("neg_zero_float", "-0.0", None),
    ("float_one", "1.0", None),
    ("float_long", "0.30000000000000004", None),
    ("float_many_digits", "123456789.123", None),
    ("float_overflow", "1e400", None),
    ("float_underflow", "1e-400", None),
    ("inf", "inf", None),
    ("inf_dot0", "inf.0", None),
    ("nan", "nan", None),
    ("int_max", "9223372036854775807", None),
    ("int_min", "-9223372036854775808", None),
    ("int_big", "9999999999", None),
    ("int_big_neg", "-9999999999", None),
    ("true", "true", None),
    ("false", "false", None),
    ("null", "null", None),
    ("nil_keyword", "nil", None),
    ("string_all_escapes", "\"a\\nb\\t\\r\\f\\b\\u00e9\\\"\\\\\"", None),
    ("string_unknown_escapes", "\"\\a\\v\\'\\?\\x\"",
     {"value": {"type": "String", "value": "\a\v'?x"}}),  # var2str writes BEL and VT as \a and \v
    ("string_raw_newline", "\"line1\nline2\"", None),
    ("alias_rect3", "Rect3(1,2,3,4,5,6)", None),
    ("alias_matrix32", "Matrix32(1,2,3,4,5,6)", None),
    ("alias_matrix3", "Matrix3(1,2,3,4,5,6,7,8,9)", None),
    ("alias_bytearray", "ByteArray(1,2)", None),
    ("alias_intarray", "IntArray(1,2)", None),
    ("alias_floatarray", "FloatArray(1,2)", None),
    ("alias_stringarray", "StringArray(\"a\")", None),
    ("alias_vector2array", "Vector2Array(1,2)", None),
    ("alias_vector3array", "Vector3Array(1,2,3)", None),
    ("alias_colorarray", "ColorArray(1,2,3,4)", None),
    ("ctor_ints", "Transform(1,2,3,4,5,6,7,8,9,10,11,12)", None),
    ("ctor_exp", "Vector2( 1e+20, 1e-05 )", None),
    ("color_4", "Color(1,2,3,4)", None),
    ("nodepath", "NodePath(\"a:b\")", None),
    ("pool_strings_escaped", "PoolStringArray(\"it\\'s\\?\", \"\\a\")",
     {"value": {"type": "PoolStringArray", "values": ["it's?", "\a"]}}),
    ("object_trailing_comma", "Object(Reference,)", None),
    # errors in both
    ("empty", "", None),
    ("blank", "   ", None),
    ("unknown_identifier", "Foo(1)", None),
    ("capital_true", "True", None),
    ("plus_sign", "+5", None),
    ("leading_dot", ".5", None),
    ("hex_colour", "#ff0000", None),
    ("single_quotes", "'a'", None),
    ("unterminated_string", "\"abc", None),
    ("unterminated_array", "[1, 2", None),
    ("array_missing_comma", "[1 2]", None),
    ("dict_missing_colon", "{\"a\" 1}", None),
    ("dict_missing_value", "{\"a\": }", None),
    ("dict_missing_comma", "{1:2 3:4}", None),
    ("ctor_too_few", "Vector2(1)", None),
    ("ctor_too_many", "Vector2(1,2,3)", None),
    ("ctor_trailing_comma", "Vector2(1,2,)", None),
    ("ctor_string_arg", "Vector2(\"1\", 2)", None),
    ("ctor_bool_arg", "Vector2(true, 2)", None),
    ("color_3", "Color(1,2,3)", None),
    ("pool_trailing_comma", "PoolByteArray(1,)", None),
    ("pool_bool", "PoolIntArray(true)", None),
    ("nodepath_number", "NodePath(1)", None),
    ("nodepath_empty_args", "NodePath()", None),
    ("short_unicode_escape", "\"\\u00\"", None),
    ("object_no_comma", "Object(Reference)", None),
    ("realarray_not_alias", "RealArray(1,2)", None),
    # Godot reads one value and ignores what follows; GdNet rejects trailing text
    ("trailing_value", "1 2", "error"),
    ("trailing_capital_exp", "1E5", "error"),
    ("trailing_dot", "1.2.3", "error"),
    ("hex_literal", "0x10", "error"),
    # Godot turns a lone '-' into 0
    ("minus_alone", "-", "error"),
    ("minus_space", "- 5", "error"),
    ("minus_identifier", "-x", "error"),
    # Godot wraps or saturates numbers out of range, truncates or drops pool data
    ("int_overflow", "9223372036854775808", "error"),
    ("int_overflow_far", "99999999999999999999", "error"),
    ("pool_byte_out_of_range", "PoolByteArray(-1, 256)", "error"),
    ("pool_int_out_of_range", "PoolIntArray(4294967296)", "error"),
    ("pool_int_fraction", "PoolIntArray(1.5)", "error"),
    ("pool_vector2_odd", "PoolVector2Array(1,2,3)", "error"),
    ("pool_color_short", "PoolColorArray(1,2,3)", "error"),
    ("nodepath_two_args", "NodePath(\"a\", \"b\")", "error"),
    ("hash_comment", "# comment\n5", "error"),
    # Godot cannot read back some of its own output; GdNet can
    ("neg_inf", "-inf", {"value": {"type": "float", "value": "-inf"}}),
    ("neg_inf_dot0", "-inf.0", {"value": {"type": "float", "value": "-inf"}}),
    ("neg_nan_dot0", "-nan.0", {"value": {"type": "float", "value": "-nan"}}),
    ("ctor_inf_nan", "Vector2( inf, nan )", {"value": {"type": "Vector2", "x": "inf", "y": "nan"}}),
    ("ctor_neg_inf_nan", "Vector2( -inf, -nan )", {"value": {"type": "Vector2", "x": "-inf", "y": "-nan"}}),
    # a surrogate pair written as two \u escapes is one character in .NET (Godot keeps two broken ones)
    ("surrogate_pair", "\"\\ud83d\\ude00\"", {"value": {"type": "String", "value": "\U0001F600"}}),
    # Godot returns the int inside RID(...); GdNet returns an RID
    ("rid_with_id", "RID(5)", {"value": {"type": "RID", "id": 5}}),
]


# ---------------------------------------------------------------- GDScript
GD_HEAD = '''extends SceneTree

func _hx(b):
	return b.hex_encode()

func _unhex(h):
	var out = PoolByteArray()
	for k in range(0, h.length(), 2):
		out.append(("0x" + h.substr(k, 2)).hex_to_int())
	return out

func _d(h):
	return bytes2var(_unhex("03000100" + h))

func _dict(pairs):
	var d = {}
	for p in pairs:
		d[p[0]] = p[1]
	return d

func _nullobj():
	return bytes2var(_unhex("110001000000000000000000"))

func _eoid(h):
	return bytes2var(_unhex("11000100" + h))

func _obj(cls, props):
	var o = ClassDB.instance(cls)
	for p in props:
		o.set(p[0], p[1])
	_keep.append(o)
	return o

var _keep = []

func _parsed(text):
	var v = str2var(text)
	if typeof(v) == TYPE_STRING and v == text:
		return "error\\t-\\t-"
	var again = _hx(var2str(v).to_utf8())
	if typeof(v) == TYPE_OBJECT:
		return "ok\\tobject:" + (v.get_class() if v != null else "null") + "\\t" + again
	return "ok\\t" + _hx(var2bytes(v)) + "\\t" + again

func _fmt(name, v, with_bytes):
	var t = var2str(v)
	var h = _hx(var2bytes(v)) if with_bytes else "-"
	print("FMT\\t", name, "\\t", _hx(t.to_utf8()), "\\t", h, "\\t", _parsed(t))

func _parse(name, text):
	print("PARSE\\t", name, "\\t", _parsed(text))

func _init():
'''


def build_script(E, P):
    lines = [GD_HEAD]
    for e in E:
        lines.append('\t_fmt("%s", %s, %s)\n' % (e["name"], gd(e["desc"]), "false" if has_object(e["desc"]) else "true"))
    for name, text, _ in P:
        lines.append('\t_parse("%s", %s)\n' % (name, gd_text(text)))
    lines.append('\tprint("ALLDONE")\n\tquit(0)\n')
    return "".join(lines)


def run_godot(godot, script_text):
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "gen.gd")
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(script_text)
        r = subprocess.run(["timeout", "120", godot, "--no-window", "-s", p], cwd=td, capture_output=True,
                           env=dict(os.environ, LANG="en_US.UTF-8"))
    return r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def describe(hexs):
    buf = bytes.fromhex(hexs)
    d, n = vcheck.decode(buf)
    assert n == len(buf), "trailing bytes in " + hexs
    return d


def one(v):
    return json.dumps(v, ensure_ascii=False, allow_nan=False)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "var2str.json")
    godot = sys.argv[2] if len(sys.argv) > 2 else "godot3-server"
    E, P = format_entries(), PARSE_CASES
    names = [e["name"] for e in E] + [p[0] for p in P]
    assert len(names) == len(set(names)), "duplicate names"
    so, se = run_godot(godot, build_script(E, P))
    if "ALLDONE" not in so:
        sys.stderr.write(so[-3000:] + se[-3000:])
        raise SystemExit("godot run did not finish")
    fmt, par = {}, {}
    for ln in so.splitlines():
        p = ln.split("\t")
        if p[0] == "FMT":
            fmt[p[1]] = p[2:]
        elif p[0] == "PARSE":
            par[p[1]] = p[2:]

    fmt_out = []
    for e in E:
        texthex, valhex, ok, parsedhex, againhex = fmt[e["name"]]
        row = {"name": e["name"], "value": e["desc"] if valhex == "-" else describe(valhex),
               "text": bytes.fromhex(texthex).decode("utf-8")}
        row["parse_ok"] = ok == "ok"
        if ok == "ok":
            row["reformatted"] = bytes.fromhex(againhex).decode("utf-8")
            if parsedhex.startswith("object:"):
                row["parsed_object"] = parsedhex[len("object:"):]
            elif has_object(e["desc"]):
                row["parsed_object"] = "nested"  # vcheck does not describe objects
            else:
                row["parsed"] = describe(parsedhex)
        fmt_out.append(row)

    parse_out = []
    for name, text, gdnet in P:
        ok, parsedhex, againhex = par[name]
        row = {"name": name, "text": text, "godot_ok": ok == "ok"}
        if ok == "ok":
            row["godot_var2str"] = bytes.fromhex(againhex).decode("utf-8", "replace")
            if parsedhex.startswith("object:"):
                row["godot_object"] = parsedhex[len("object:"):]
            else:
                try:
                    row["godot_value"] = describe(parsedhex)
                except UnicodeDecodeError:  # Godot built a string that is not valid UTF-8
                    row["godot_var2bytes"] = parsedhex
        if gdnet == "error":
            row["gdnet_error"] = True
        elif gdnet is not None:
            row["gdnet_value"] = gdnet["value"]
        parse_out.append(row)

    version = subprocess.run([godot, "--version"], capture_output=True).stdout.decode().strip()
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        fh.write(' "generator": %s,\n' % one("tests/GdNet.Tests/Variants/Data/gen_var2str.py"))
        fh.write(' "godot_version": %s,\n' % one(version))
        fh.write(' "format": [\n' + ",\n".join("  " + one(x) for x in fmt_out) + "\n ],\n")
        fh.write(' "parse": [\n' + ",\n".join("  " + one(x) for x in parse_out) + "\n ]\n")
        fh.write("}\n")
    print("wrote %s: %d format entries, %d parse cases (%s)" % (out, len(fmt_out), len(parse_out), version))


if __name__ == "__main__":
    main()
