#!/usr/bin/python3
"""WebSocket fan-out of `weir serve`: CLIENTS clients (default 1,000) on
127.0.0.1, each subscribed to its own job and to one shared job; events are
posted in NDJSON batches stamped with the time just before the POST; each
client records receipt - stamp. Reports messages/s, latency p50/p99 and the
server's memory per connected client (RSS with the clients minus RSS
before, over CLIENTS).

  WEIR=build/bindings/cli/weir /usr/bin/python3 bench/ws_fanout.py [CLIENTS]

The clients are one asyncio process (python3-websockets), which bounds the
rates measured here; the server's own CPU time is printed beside them.
"""

import asyncio
import http.client
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import websockets

ROOT = pathlib.Path(__file__).resolve().parents[1]
WEIR = os.environ.get("WEIR", str(ROOT / "build/bindings/cli/weir"))
CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def post(addr, lines):
    c = http.client.HTTPConnection(*addr, timeout=60)
    body = "".join(lines)
    c.request("POST", "/events", body, {"Content-Type": "application/x-ndjson"})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 202, r.status


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


async def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "rules.yaml").write_text("rules:\n  - id: none\n    filter: {never: here}\n")
    proc = subprocess.Popen([WEIR, "serve", "-r", str(tmp / "rules.yaml"), "--listen",
                             "127.0.0.1:0", "--port-file", str(tmp / "port"), "--state",
                             str(tmp / "state"), "--max-clients", str(CLIENTS + 10)],
                            stderr=subprocess.DEVNULL)
    while not (tmp / "port").exists():
        await asyncio.sleep(0.02)
    host, port = (tmp / "port").read_text().strip().rsplit(":", 1)
    addr = (host, int(port))
    url = f"ws://{host}:{port}/ws"
    await asyncio.sleep(0.3)
    rss0 = rss_kb(proc.pid)

    latencies = []
    received = [0]
    done = asyncio.Event()
    expected = [0]

    async def client(i):
        ws = await websockets.connect(url, max_queue=None, ping_interval=None)
        await ws.send(json.dumps({"msgType": "subscribe", "jobIds": [f"j{i}", "all"]}))
        return ws

    async def reader(ws):
        async for m in ws:
            t = time.time()
            e = json.loads(m)
            latencies.append(t - e["t"])
            received[0] += 1
            if received[0] >= expected[0]:
                done.set()

    clients = []
    for k in range(0, CLIENTS, 100):
        clients += await asyncio.gather(*(client(i) for i in range(k, min(CLIENTS, k + 100))))
    await asyncio.sleep(1.0)
    rss1 = rss_kb(proc.pid)
    readers = [asyncio.create_task(reader(ws)) for ws in clients]

    async def phase(name, make, batches, per_batch, fanout):
        latencies.clear()
        received[0] = 0
        done.clear()
        expected[0] = batches * per_batch * fanout
        cpu0 = cpu_s(proc.pid)
        t0 = time.time()
        for b in range(batches):
            stamp = time.time()
            lines = [json.dumps({"jobId": make(b * per_batch + k), "t": stamp, "seq": k}) + "\n"
                     for k in range(per_batch)]
            await asyncio.to_thread(post, addr, lines)
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(done.wait(), 120)
        except asyncio.TimeoutError:
            pass
        secs = time.time() - t0
        cpu = cpu_s(proc.pid) - cpu0
        print(f"{name}: {received[0]}/{expected[0]} messages in {secs:.2f} s = "
              f"{received[0] / secs:,.0f} msg/s; latency p50 {pct(latencies, 0.5) * 1e3:.1f} ms, "
              f"p99 {pct(latencies, 0.99) * 1e3:.1f} ms; server CPU {cpu:.2f} s")

    await phase("unicast (each event to 1 of the clients)", lambda n: f"j{n % CLIENTS}",
                40, 500, 1)
    await phase(f"broadcast (each event to all {CLIENTS})", lambda n: "all", 40, 5, CLIENTS)
    print(f"{CLIENTS} clients: server RSS {rss0 / 1024:.1f} MiB before, {rss1 / 1024:.1f} MiB with "
          f"them: {(rss1 - rss0) / CLIENTS:.1f} KiB per connected client")
    for r in readers:
        r.cancel()
    for ws in clients:
        await ws.close()
    proc.terminate()
    proc.wait(30)


asyncio.run(main())
