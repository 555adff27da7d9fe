#!/usr/bin/env python3
"""Generate decode-rules.json (what Godot 3.2.3 does with the bytes of the codec's rule tests) by asking a real
Godot 3.2.3 binary.

Run from anywhere:  python3 gen_decode_rules.py [OUT_JSON] [GODOT_BINARY]
(defaults: decode-rules.json beside this script, and godot3-server).

Like gen_var2str.py it reuses the shared fixture tools (../shared/godot3/tools beside the repository): gen_variants.py
for the malformed[] inputs of variants.json, and vcheck.py to turn var2bytes output back into neutral descriptions
(the format of shared/godot3/README.md; see gen_var2str.py for the Object additions).

Sections of the output:
  - "decode": hand-picked inputs fed as-is to bytes2var(bytes, allow_objects). "godot" is what happened:
      {"outcome":"value", "variant_type_id", "value" (vcheck description of var2bytes(result)) or "var2bytes" (when
       the re-encoding is not valid UTF-8, so no description exists) or "object_class", "reencoded_hex" (var2bytes of
       the result, padding zeroed)}
      {"outcome":"error", "error": "ERR_...", "reported_by": [routines]}
      {"outcome":"crash", "signal": N}  (the engine died, e.g. signal 11; run in a process of its own)
    Large inputs are given as {"nested_arrays": N} (N Arrays nested in each other, the innermost empty) instead of
    "hex"; their value is not described, "reencodes_to_input" says whether var2bytes(result) gave the input back.
  - "encode": var2bytes(value, full_objects) of a value built in GDScript ("gdscript"), described by "value" (a
    String that cannot be held in UTF-8 is {"type":"String","code_units":[UTF-16 units]}).
  - "malformed_errors": for every malformed[] vector of variants.json that bytes2var rejects, the error code.
An entry with "gdnet" is a deliberate difference: {"error": VariantErrorReason name} or {"hex": what GdNet writes},
with "why". Entries without it claim that GdNet does exactly what Godot did.

How an error is observed: bytes2var returns null and aborts the calling GDScript function (a "SCRIPT ERROR" line),
so a flag set after the call stays false. Its code is the last "Returned: ERR_..." (or "Returning: ERR_...") that the
engine printed on stderr between two markers; bytes2var itself exposes no error code in 3.2.3, nor do
StreamPeerBuffer.get_var and PacketPeer.get_var (they return null and print "Error when trying to decode Variant.").
No engine source is used; everything here is observed output.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.setrecursionlimit(20000)
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

UTF8_WHY = ("GdNet decodes UTF-8 strictly: overlong forms are a classic filter bypass, and surrogates and code points "
            "above U+10FFFF cannot be held in a .NET string. Godot never writes them when it encodes text it read.")
DEPTH_WHY = ("GdNet enforces Godot 3.5's limit of 1024 nested levels (ERR_OUT_OF_MEMORY there); Godot 3.2.3 has no "
             "limit and recurses until the native stack runs out.")

# (name, input, allow_objects, gdnet, note). input: hex, or {"nested_arrays": N}.
# gdnet None: GdNet must do what Godot does. Otherwise {"error": VariantErrorReason, "why": ...}.
DECODE_CASES = [
    ("header_bits_8_to_15_set", "02ff0000 01000000", False, None, "int 1 with header 0x0000ff02"),
    ("header_bit_17_set", "02000200 01000000", False, None, "int 1 with header 0x00020002 (bit 17 is not the 64-bit flag)"),
    ("header_bits_24_to_31_set", "020000ff 01000000", False, None, "int 1 with header 0xff000002"),
    ("string_leading_bom", "04000000 04000000 efbbbf61", False, None, "U+FEFF then 'a'"),
    ("string_bytes_after_nul", "04000000 03000000 6100ff00", False, None, "'a', NUL, then a byte that is not UTF-8"),
    ("nodepath_counts_wrap", "0f000000 02000080 ffffffff 00000000 01000000 61000000", False, None,
     "2 names + 0xffffffff subnames: 1 string in all (32-bit wrap-around)"),
    ("nodepath_absolute_no_parts", "0f000000 00000080 00000000 01000000 00000000", False, None,
     "absolute flag, no names, no subnames"),
    ("object_full_negative_property_count", "11000000 09000000 5265666572656e63 65000000 ffffffff", True, None,
     "class Reference, property count -1"),
    ("object_as_id_zero", "11000100 0000000000000000", False, None, "object-as-id form with id 0"),
    ("object_as_id_zero_allowed", "11000100 0000000000000000", True, None, "object-as-id form with id 0, objects allowed"),
    ("dict_duplicate_key_position", "12000000 03000000 02000000 01000000 02000000 0a000000 02000000 02000000"
     " 02000000 00000000 02000000 01000000 02000000 14000000", False, None, "{1: 10, 2: 0, 1: 20}"),
    ("utf8_overlong_4_byte_nul", "04000000 04000000 f0808080", False, None, "overlong 4-byte form of NUL"),
    ("utf8_overlong_3_byte_slash", "04000000 03000000 e080af00", False,
     {"error": "InvalidUtf8", "why": UTF8_WHY}, "overlong 3-byte form of '/'"),
    ("utf8_surrogate", "04000000 03000000 eda08000", False,
     {"error": "InvalidUtf8", "why": UTF8_WHY}, "U+D800 encoded as UTF-8"),
    ("utf8_above_10ffff", "04000000 04000000 f4908080", False,
     {"error": "InvalidUtf8", "why": UTF8_WHY}, "U+110000"),
    ("utf8_5_byte_sequence", "04000000 05000000 f888808080000000", False,
     {"error": "InvalidUtf8", "why": UTF8_WHY}, "a 5-byte sequence"),
    ("nested_arrays_1025", {"nested_arrays": 1025}, False, None, "1025 Arrays nested in each other"),
    ("nested_arrays_1026", {"nested_arrays": 1026}, False, {"error": "TooDeep", "why": DEPTH_WHY},
     "1026 Arrays nested in each other"),
    ("nested_arrays_200000", {"nested_arrays": 200000}, False, {"error": "TooDeep", "why": DEPTH_WHY},
     "200000 Arrays nested in each other (1.6 MB)"),
]

LONE_SURROGATE_WHY = ("GdNet writes only well-formed UTF-8, so a lone surrogate in a .NET string becomes U+FFFD "
                      "(what Encoding.UTF8 does); Godot 3.2.3 writes the surrogate's 3-byte form.")

# (name, gdscript expression, value description, full_objects, gdnet)
ENCODE_CASES = [
    ("string_lone_surrogate", '"a" + char(0xD800)', {"type": "String", "code_units": [0x61, 0xD800]}, False,
     {"hex": "040000000400000061efbfbd", "why": LONE_SURROGATE_WHY}),
    ("null_object", "_nullobj()", {"type": "Object", "null": True}, False, None),
    ("null_object_full", "_nullobj()", {"type": "Object", "null": True}, True, None),
    ("rid_non_empty", "_rid()", None, False, None),  # value filled in from the RID's id
    ("poolstring_padding", 'PoolStringArray(["a", "abc", "abcd", ""])',
     {"type": "PoolStringArray", "values": ["a", "abc", "abcd", ""]}, False, None),
    ("nodepath_absolute_with_subname", 'NodePath("/root/x:p")',
     {"type": "NodePath", "absolute": True, "names": ["root", "x"], "subnames": ["p"]}, False, None),
]

GD_HEAD = '''extends SceneTree

func _hx(b):
	return b.hex_encode()

func _unhex(h):
	var out = PoolByteArray()
	for k in range(0, h.length(), 2):
		out.append(("0x" + h.substr(k, 2)).hex_to_int())
	return out

func _nested(n):
	var out = PoolByteArray()
	out.resize(n * 8)
	for k in range(n * 8):
		out[k] = 0
	for k in range(n):
		out[k * 8] = 0x13
		if k < n - 1:
			out[k * 8 + 4] = 1
	return out

func _nullobj():
	return bytes2var(_unhex("110001000000000000000000"))

var _rid_keep = RID()

func _rid():
	_rid_keep = PhysicsServer.shape_create(PhysicsServer.SHAPE_SPHERE)
	return _rid_keep

var _done = false
var _res = null

func _try(b, allow_objects):
	_done = false
	_res = null
	var r = bytes2var(b, allow_objects)
	_res = r
	_done = true

func _dec(name, b, allow_objects):
	printerr("DECSTART\\t", name)
	_try(b, allow_objects)
	if _done:
		var t = typeof(_res)
		var re = ""
		if t == TYPE_OBJECT:
			re = "object:" + (_res.get_class() if _res != null else "null")
		else:
			re = _hx(var2bytes(_res, false))
		var same = "same" if re == _hx(b) else "differs"
		print("DEC\\t", name, "\\tok\\t", t, "\\t", re if re.length() < 4096 else same)
	else:
		print("DEC\\t", name, "\\terror\\t-\\t-")
	printerr("DECEND\\t", name)

func _enc(name, v, full):
	var extra = str(v.get_id()) if typeof(v) == TYPE_RID else "-"
	print("ENC\\t", name, "\\t", _hx(var2bytes(v, full)), "\\t", extra)

func _init():
'''


def hexof(inp):
    return inp.replace(" ", "") if isinstance(inp, str) else None


def gd_bytes(inp):
    return '_unhex("%s")' % hexof(inp) if isinstance(inp, str) else "_nested(%d)" % inp["nested_arrays"]


def build_script(decode, malformed):
    lines = [GD_HEAD]
    for name, inp, ao, _, _ in decode:
        lines.append('\t_dec("%s", %s, %s)\n' % (name, gd_bytes(inp), "true" if ao else "false"))
    for m in malformed:
        lines.append('\t_dec("malformed/%s", _unhex("%s"), %s)\n' % (m["name"], m["hex"], "true" if m["allow_objects"] else "false"))
    for name, expr, _, full, _ in ENCODE_CASES:
        lines.append('\t_enc("%s", %s, %s)\n' % (name, expr, "true" if full else "false"))
    lines.append('\tprint("ALLDONE")\n\tquit(0)\n')
    return "".join(lines)


def run_godot(godot, script_text, seconds=120):
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "gen.gd")
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(script_text)
        r = subprocess.run(["timeout", str(seconds), godot, "--no-window", "-s", p], cwd=td, capture_output=True,
                           env=dict(os.environ, LANG="en_US.UTF-8"))
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def engine_errors(stderr):
    """name -> (last ERR_ code returned, routines that printed ERROR lines), from the lines between markers."""
    out, cur = {}, None
    for ln in stderr.splitlines():
        if ln.startswith("DECSTART\t"):
            cur = ln.split("\t", 1)[1]
            out[cur] = [None, []]
        elif ln.startswith("DECEND\t"):
            cur = None
        elif cur and ln.startswith("ERROR: "):
            fn = ln[len("ERROR: "):].split(":", 1)[0].strip()
            if fn not in out[cur][1]:
                out[cur][1].append(fn)
            m = re.search(r"Return(?:ed|ing): (ERR_[A-Z_]+)", ln)
            if m:
                out[cur][0] = m.group(1)
    return out


def result(name, row, errs, big_input):
    """The "godot" object for one DEC line's fields (ok, type id, re-encoding) and the stderr errors."""
    ok, type_id, re_hex = row
    if ok != "ok":
        code, routines = errs.get(name, (None, []))
        return {"outcome": "error", "error": code, "reported_by": routines}
    res = {"outcome": "value", "variant_type_id": int(type_id)}
    if re_hex.startswith("object:"):
        res["object_class"] = re_hex.split(":", 1)[1]
    elif big_input:
        res["reencodes_to_input"] = re_hex == "same"
    else:
        try:
            res["value"], _ = vcheck.decode(bytes.fromhex(re_hex), 0)
        except UnicodeDecodeError:  # Godot built a string that is not valid UTF-8
            res["var2bytes"] = re_hex
            return res
        res["reencoded_hex"] = vcheck.zero_padding(bytes.fromhex(re_hex)).hex()
    return res


def crash_check(godot, name, inp, allow_objects):
    """Feed one input in a Godot process of its own: it may take the engine down."""
    script = GD_HEAD + '\t_dec("%s", %s, %s)\n\tprint("ALLDONE")\n\tquit(0)\n' % (
        name, gd_bytes(inp), "true" if allow_objects else "false")
    rc, so, se = run_godot(godot, script)
    return rc, so, se


def one(v):
    return json.dumps(v, ensure_ascii=True, allow_nan=False)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "decode-rules.json")
    godot = sys.argv[2] if len(sys.argv) > 2 else "godot3-server"
    malformed = gv.malformed()
    in_process = [c for c in DECODE_CASES if not (isinstance(c[1], dict) and c[1]["nested_arrays"] > 5000)]
    alone = [c for c in DECODE_CASES if c not in in_process]
    rc, so, se = run_godot(godot, build_script(in_process, malformed))
    if "ALLDONE" not in so:
        sys.stderr.write(so[-3000:] + se[-3000:])
        raise SystemExit("godot run did not finish (exit %d)" % rc)
    errs = engine_errors(se)
    dec, enc = {}, {}
    for ln in so.splitlines():
        p = ln.split("\t")
        if p[0] == "DEC":
            dec[p[1]] = p[2:]
        elif p[0] == "ENC":
            enc[p[1]] = p[2:]

    decode_out = []
    for name, inp, ao, gdnet, note in DECODE_CASES:
        row = {"name": name, "note": note, "allow_objects": ao}
        if isinstance(inp, str):
            row["hex"] = hexof(inp)
        else:
            row["input"] = inp
        if (name, inp, ao, gdnet, note) in alone:
            crc, cso, cse = crash_check(godot, name, inp, ao)
            if "ALLDONE" in cso:
                r = [x for x in cso.splitlines() if x.startswith("DEC\t")][0].split("\t")[2:]
                row["godot"] = result(name, r, engine_errors(cse), True)
            elif crc < 0:
                row["godot"] = {"outcome": "crash", "signal": -crc}
            else:
                row["godot"] = {"outcome": "crash", "exit_code": crc}
        else:
            row["godot"] = result(name, dec[name], errs, not isinstance(inp, str))
        if gdnet is not None:
            row["gdnet"] = gdnet
        decode_out.append(row)

    encode_out = []
    for name, expr, desc, full, gdnet in ENCODE_CASES:
        hx, extra = enc[name]
        if desc is None:  # the RID: its id is only known after the run
            desc = {"type": "RID", "id": int(extra)}
            assert desc["id"] != 0, "the RID is empty"
        row = {"name": name, "gdscript": expr, "full_objects": full, "value": desc,
               "godot_hex": vcheck.zero_padding(bytes.fromhex(hx)).hex() if desc["type"] != "String" else hx}
        if row["godot_hex"] != hx:
            row["godot_hex_as_written"] = hx  # Godot 3.2.3 leaves NodePath padding uninitialised
        if gdnet is not None:
            row["gdnet"] = gdnet
        encode_out.append(row)

    malformed_out = []
    for m in malformed:
        r = dec["malformed/" + m["name"]]
        if r[0] != "ok":
            code, routines = errs.get("malformed/" + m["name"], (None, []))
            malformed_out.append({"name": m["name"], "error": code, "reported_by": routines})
    missing = [r["name"] for r in malformed_out if r["error"] is None] + \
              [r["name"] for r in decode_out if r["godot"].get("outcome") == "error" and r["godot"]["error"] is None]
    if missing:
        raise SystemExit("no error code seen for: " + ", ".join(missing))

    version = subprocess.run([godot, "--version"], capture_output=True).stdout.decode().strip()
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        fh.write(' "generator": %s,\n' % one("tests/GdNet.Tests/Variants/Data/gen_decode_rules.py"))
        fh.write(' "godot_version": %s,\n' % one(version))
        fh.write(' "decode": [\n' + ",\n".join("  " + one(x) for x in decode_out) + "\n ],\n")
        fh.write(' "encode": [\n' + ",\n".join("  " + one(x) for x in encode_out) + "\n ],\n")
        fh.write(' "malformed_errors": [\n' + ",\n".join("  " + one(x) for x in malformed_out) + "\n ]\n")
        fh.write("}\n")
    print("wrote %s: %d decode cases, %d encode cases, %d malformed error codes (%s)"
          % (out, len(decode_out), len(encode_out), len(malformed_out), version))


if __name__ == "__main__":
    main()
