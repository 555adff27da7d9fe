#!/usr/bin/env python3
"""Memory per idle WebSocket connection of `gdnet serve` (issue 13 §5.10).

Starts `gdnet serve` (the given CLI executable), reads its VmRSS, opens N raw WebSocket connections (rooms of ROOM_SIZE, default 10; LOBBY=1 keeps the rooms' lobby on; each
client reads its welcome and whatever follows), lets them sit idle, reads VmRSS again and prints the difference per
connection. Not a test: RSS depends on the GC and the allocator; run it on a quiet machine and compare runs.

  python3 tests/GdNet.WebSockets.Tests/tools/ws-idle-rss.py src/GdNet.Cli/bin/Release/net10.0/GdNet.Cli [N] [port]
"""
import asyncio, base64, os, subprocess, sys, time

cli = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
port = int(sys.argv[3]) if len(sys.argv) > 3 else 19480
room_size = int(os.environ.get("ROOM_SIZE", "10"))
lobby = os.environ.get("LOBBY") == "1"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def one(i, welcomed, hold):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /r{i // room_size} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode(errors="replace"))
    got = 0
    while got < 30:  # SYS_ID and SYS_ADD(1): two 15-byte frames
        data = await reader.read(4096)
        if not data:
            raise RuntimeError("closed")
        got += len(data)
    welcomed.append(i)
    while await reader.read(4096):  # keep reading (SYS_ADD of later room members) until the end
        pass
    writer.close()


async def main():
    server = subprocess.Popen([cli, "serve", "--port", str(port)] + (["--lobby", "conversation-v1"] if lobby else []) + ["--max-connections-per-ip", "0",
                               "--max-connections-per-second", "0", "--max-clients", str(count + 10),
                               "--stats-interval", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        # Warm up: a few connections come and go, so JIT and pools are in place before the first reading.
        warm = []
        tasks = [asyncio.create_task(one(100000 + i, warm, None)) for i in range(20)]
        while len(warm) < 20:
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        await asyncio.sleep(3)
        before = rss_kib(server.pid)
        welcomed = []
        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(one(i, welcomed, None)))
            if i % 50 == 49:
                await asyncio.sleep(0.02)
        deadline = time.time() + 120
        while len(welcomed) < count and time.time() < deadline:
            await asyncio.sleep(0.1)
        if len(welcomed) < count:
            raise RuntimeError(f"only {len(welcomed)} of {count} welcomed")
        await asyncio.sleep(5)
        after = rss_kib(server.pid)
        ended = sum(1 for t in tasks if t.done())
        if ended:
            raise RuntimeError(f"{ended} connections ended while they should sit idle")
        print(f"connections: {count}; VmRSS before {before} KiB, after {after} KiB; "
              f"per connection {(after - before) / count:.1f} KiB")
        for t in tasks:
            t.cancel()
    finally:
        server.terminate()
        server.wait(10)

asyncio.run(main())
