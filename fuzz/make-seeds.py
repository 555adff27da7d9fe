#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from anywhere; rewrites them from scratch).

Sources: the Godot 3.2.3 golden vectors (../shared/godot3/vectors/variants.json: every value's encoding, objects,
malformed inputs; rpc-packets.json: the captured MultiplayerAPI packets, WebSocket frames and ENet datagrams), the
var2str corpus of the tests (tests/GdNet.Tests/Variants/Data/var2str.json), and small hand-made seeds for the
fuzz scene's RPCs (fuzz/GdNet.Fuzz/FuzzScene.cs) and for admission (tokens signed with AdmissionTarget.Key).
Record-based targets (mp-receive, gdmp) take records: u8 selector, u16 LE length, bytes.
"""
import base64, hashlib, hmac, json, os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("GDNET_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
OUT = os.path.join(ROOT, "fuzz", "corpus")
ADMISSION_KEY = b"gdnet-fuzz-admission-key-0123456789abcdef"  # = AdmissionTarget.Key
MAX_SEED = 4096

corpora = {}


def add(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_SEED:
        return
    seen = corpora.setdefault(target, {})
    digest = hashlib.sha1(data).hexdigest()[:10]
    if any(v == data for v in seen.values()):
        return
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:48]
    seen[f"{safe}-{digest}"] = data


def record(selector, payload):
    return struct.pack("<BH", selector, len(payload)) + payload


# ---- tiny Variant encoder for the hand-made RPC seeds -------------------------------------------------------------
def v_nil(): return struct.pack("<I", 0)
def v_bool(b): return struct.pack("<II", 1, 1 if b else 0)
def v_int(n): return struct.pack("<Ii", 2, n)
def v_long(n): return struct.pack("<Iq", 2 | 1 << 16, n)
def v_real(x): return struct.pack("<If", 3, x)
def v_str(s):
    b = s.encode("utf-8")
    return struct.pack("<II", 4, len(b)) + b + b"\0" * (-len(b) % 4)
def v_vec2(x, y): return struct.pack("<Iff", 5, x, y)
def v_vec3(x, y, z): return struct.pack("<Ifff", 7, x, y, z)
def v_color(r, g, b, a): return struct.pack("<Iffff", 14, r, g, b, a)
def v_array(*items): return struct.pack("<II", 19, len(items)) + b"".join(items)
def v_dict(*pairs): return struct.pack("<II", 18, len(pairs)) + b"".join(k + v for k, v in pairs)
def v_bytes(b): return struct.pack("<II", 20, len(b)) + b + b"\0" * (-len(b) % 4)
def v_ints(*n): return struct.pack("<II", 21, len(n)) + b"".join(struct.pack("<i", x) for x in n)
def v_nodepath(*names):
    body = struct.pack("<II", 15, 0x80000000 | len(names)) + struct.pack("<II", 0, 0)
    for n in names:
        b = n.encode(); body += struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4)
    return body


def call(method, args, path="Main/Lobby", command=0):
    body = bytearray([command, 0, 0, 0, 0]) + method.encode() + b"\0"
    if command == 0:
        body.append(len(args))
    for a in args:
        body += a
    offset = len(body)
    body += path.encode() + b"\0"
    struct.pack_into("<I", body, 1, 0x80000000 | offset)
    return bytes(body)


def rset(prop, value, path="Main/Lobby"):
    return call(prop, [value], path, command=1)


def main():
    variants = json.load(open(os.path.join(SHARED, "godot3", "vectors", "variants.json")))
    packets = json.load(open(os.path.join(SHARED, "godot3", "vectors", "rpc-packets.json")))
    var2str = json.load(open(os.path.join(ROOT, "tests", "GdNet.Tests", "Variants", "Data", "var2str.json")))

    # variant, variant-objects: every golden encoding, the objects, the malformed inputs, captured RPC arguments.
    for v in variants["values"]:
        for key in ("hex", "hex_full_objects"):
            if v.get(key) is not None:
                for t in ("variant", "variant-objects"):
                    add(t, v["name"], bytes.fromhex(v[key]))
    for o in variants["objects"]:
        add("variant", o["name"], bytes.fromhex(o["hex"]))
        add("variant-objects", o["name"], bytes.fromhex(o["hex_full_objects"]))
    for m in variants["malformed"]:
        add("variant-objects" if m.get("allow_objects") else "variant", "malformed_" + m["name"], bytes.fromhex(m["hex"]))

    # str2var: Godot's var2str output of every value, and the parse cases.
    for f in var2str["format"]:
        add("str2var", f["name"], f["text"])
    for p in var2str["parse"]:
        add("str2var", "parse_" + p["name"], p["text"])
    add("str2var", "object", 'Object(Reference,"script":null,"x":Vector2( 1, 2 ))')
    add("str2var", "comment", "[ 1, ; comment\n2, ]")

    # mp-receive: the captured MultiplayerAPI packets (each as one packet from the client, polled), the whole client
    # conversation of each capture as one input, and calls of every member of the fuzz scene.
    for c in packets["captures"]:
        conversation = b""
        for i, p in enumerate(c["packets"]):
            if p.get("payload_hex") and p.get("dir") == "c2s":
                payload = bytes.fromhex(p["payload_hex"])
                add("mp-receive", f"{c['transport']}_{i}", record(4, payload))
                conversation += record(0, payload)
        add("mp-receive", f"{c['transport']}_conversation", conversation)
    calls = [
        call("Ping", []), call("Echo", [v_int(3), v_str("x")]), call("Optional", [v_int(1)]), call("Any", [v_array(v_int(1), v_str("a"))]),
        call("Throws", []), call("Numbers", [v_long(1 << 40), v_real(1.5), v_real(2.5), v_bool(True), v_int(255), v_int(-3), v_int(7), v_long(9), v_int(-1)]),
        call("Maths", [v_vec2(1, 2), v_vec3(1, 2, 3)] + [v_nil()] * 8), call("Refs", [v_nodepath("a", "b"), v_array(), v_dict((v_str("k"), v_int(1))), v_nil(), v_nil(), v_nil()]),
        call("Pools", [v_bytes(b"ab"), v_ints(1, 2)] + [v_nil()] * 5), call("Mixed", [v_int(1), v_nil(), v_str("t")]),
        call("DoDisabled", []), call("DoRemote", []), call("DoRemoteSync", []), call("DoMaster", []), call("DoMasterSync", []),
        call("DoPuppet", [], "Main/Puppet"), call("DoPuppetSync", [], "Main/Puppet"), call("welcome", [v_int(2), v_str("srv")]),
        call("ping1", [v_int(1)], "Main/Lobby/Deep"), call("Configured", [], "Main/Lobby/Deep"), call("DoMaster", [], "Main/Lobby/Deep"),
        call("pong", [v_int(1)], "Main/Puppet"), call("sync_call", [v_color(1, 0, 0, 1)]),
        rset("Score", v_int(5)), rset("score", v_str("x")), rset("motd", v_str("hi"), "Main/Puppet"), rset("Position", v_vec2(3, 4)),
        rset("Speed", v_real(1)), rset("Items", v_array(v_int(1))), rset("Blob", v_bytes(b"xyz"), "Main/Puppet"), rset("Checked", v_str("y" * 80)),
        rset("ConfiguredValue", v_int(9), "Main/Lobby/Deep"), rset("Hidden", v_str("no")),
    ]
    for i, c in enumerate(calls):
        add("mp-receive", f"call_{i}", record(4, c))
    simplify = bytes([2]) + struct.pack("<I", 1) + b"Main/Lobby\0"
    cached = bytes([0]) + struct.pack("<I", 1) + b"Echo\0" + bytes([2]) + v_int(1) + v_str("z")
    add("mp-receive", "cached_path", record(0, simplify) + record(4, cached) + record(2, cached) + record(16 | 4, bytes([4, 1, 2])) + record(3, cached))
    add("mp-receive", "objects_on", record(8 | 4, call("Any", [bytes.fromhex(variants["objects"][0]["hex_full_objects"])])))

    # gdmp: the captured client-to-server WebSocket messages (gd_mp_api header + packet), relay and hosted rooms.
    ws = next(c for c in packets["captures"] if c["transport"] == "websocket")
    messages = [bytes.fromhex(u["frame_payload_hex"]) for u in ws["units"] if u.get("kind") == "ws_frame" and u.get("dir") == "c2s" and u.get("opcode") == 2]
    client = ws["ids"]["client"]
    for config in (0, 2):
        for i, m in enumerate(messages):
            # Re-address the captured header to member 2 of the harness (from 2, to the captured target).
            to = struct.unpack_from("<i", m, 5)[0]
            fixed = m[:1] + struct.pack("<ii", 2, 1 if to == 1 else (0 if to == 0 else 3)) + m[9:]
            add("gdmp", f"ws_{config}_{i}", bytes([config]) + record(4, fixed))
    def gd(t, f, to, payload=b""): return bytes([t]) + struct.pack("<ii", f, to) + payload
    add("gdmp", "relay_all", bytes([0]) + record(0, gd(0, 2, 0, call("Ping", []))) + record(1, gd(0, 3, -2, b"\4x")) + record(2, gd(0, 4, 3, b"\4y")) + record(3, gd(0, 5, 2, b"\4z")))
    add("gdmp", "hosted", bytes([2]) + record(4, gd(0, 2, 1, bytes([2]) + struct.pack("<I", 1) + b"Main/Lobby\0")) + record(4 | 8, gd(0, 2, 1, call("Ping", []))) + record(5, gd(0, 3, 1, call("DoMaster", []))))
    add("gdmp", "spoof_and_sys", bytes([1]) + record(0, gd(0, 9, 1, b"\4")) + record(1, gd(3, 3, 0, struct.pack("<i", 3))) + record(2, b"\0\1"))

    # enet: every captured datagram, with a header prefix: 32 peer slots, compression off, 1 MiB + 8 limit.
    enet = next(c for c in packets["captures"] if c["transport"] == "enet")
    prefix = bytes([31, 0]) + struct.pack("<I", (1 << 20) + 8)
    for u in enet["units"]:
        if u.get("kind") == "udp_datagram":
            add("enet", f"datagram_{u['index']}", prefix + bytes.fromhex(u["hex"]))
    add("enet", "compressed", bytes([31, 1]) + struct.pack("<I", 1008) + bytes.fromhex("4001deadbeef"))
    fragment = bytes.fromhex("0003") + bytes([0x88, 1]) + struct.pack(">HHHIIII", 1, 7, 4, 2, 0, 5008, 0) + b"abcd"
    add("enet", "oversized_fragment", bytes([31, 0]) + struct.pack("<I", 1008) + fragment)

    # enet: Godot's system messages (u32 message, u32 peer id; read as received by peer 2 + the first byte).
    for name, (msg, pid) in {"sys_add": (0, 5), "sys_remove": (1, 5), "sys_unknown": (7, 5), "sys_self": (0, 33), "sys_server": (0, 1)}.items():
        add("enet", name, bytes([31, 0]) + struct.pack("<I", 1008) + struct.pack("<II", msg, pid))

    # admission: request targets, Bearer headers, addresses and allow lists, HS256 tokens.
    def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    def jwt(claims, alg="HS256", key=ADMISSION_KEY):
        head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
        sig = b64(hmac.new(key, head.encode(), hashlib.sha256).digest()) if alg == "HS256" else ""
        return head + "." + sig
    far = 4102444800  # 2100-01-01
    good = jwt({"sub": "alice", "exp": far, "room": "lobby"})
    add("admission", "query_token", f"/lobby?token={good}\n\n127.0.0.1\n127.0.0.0/8,::1\n0")
    add("admission", "bearer", f"/lobby\nBearer {good}\n10.1.2.3\n10.0.0.0/8\n7")
    add("admission", "no_room_claim", f"/?token={jwt({'sub': 'bob', 'exp': far})}\n\n::ffff:127.0.0.1\n\n")
    add("admission", "wrong_room", f"/other?token={good}&x=1\n\n\n\n")
    add("admission", "expired", f"/lobby?token={jwt({'exp': 1000000000, 'room': 'lobby'})}\n\n\n\n")
    add("admission", "no_exp", f"/lobby?token={jwt({'room': 'lobby'})}\n\n\n\n")
    add("admission", "alg_none", f"/lobby?token={jwt({'exp': far}, alg='none')}\n\n\n\n")
    add("admission", "room_not_string", f"/lobby?token={jwt({'exp': far, 'room': ['lobby']})}\n\n\n\n")
    add("admission", "bad_key", f"/lobby?token={jwt({'exp': far}, key=b'x' * 32)}\n\n\n\n")
    add("admission", "escapes", f"/lob%62y?token={good}%20&token=2\nBearer  \n1.2.3.4\n1.2.3.0/33,garbage\n1")
    add("admission", "long_room", "/" + "a" * 65 + "\nBearer abc.def.ghi\n\n\n-5")

    shutil.rmtree(OUT, ignore_errors=True)
    total = 0
    for target, files in sorted(corpora.items()):
        os.makedirs(os.path.join(OUT, target))
        for name, data in sorted(files.items()):
            with open(os.path.join(OUT, target, name), "wb") as f:
                f.write(data)
            total += len(data)
        print(f"{target:16} {len(files):4} seeds")
    print(f"total {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
