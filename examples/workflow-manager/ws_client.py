#!/usr/bin/python3
"""A Workflow Manager style WebSocket client for `weir serve`: subscribes to
the job ids given, prints one line per message it receives, and exits after
QUIET seconds without a message.

  ws_client.py ws://127.0.0.1:8080/ws NAME JOB_ID... [--token T] [--quiet 2]
"""
import argparse
import asyncio
import json

import websockets


async def main(a):
    async with websockets.connect(a.url) as ws:
        msg = {"msgType": "subscribe", "jobIds": a.jobs, "senderId": a.name}
        if a.token:
            msg["token"] = a.token
        await ws.send(json.dumps(msg))
        print(f"{a.name}: subscribed to {', '.join(a.jobs)}", flush=True)
        n = 0
        while True:
            try:
                m = json.loads(await asyncio.wait_for(ws.recv(), a.quiet))
            except asyncio.TimeoutError:
                break
            n += 1
            job = m.get("jobId") or m.get("message", {}).get("jobId")
            print(f"{a.name}: {m.get('msgType')} {job}", flush=True)
        print(f"{a.name}: {n} messages", flush=True)


p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("name")
p.add_argument("jobs", nargs="+")
p.add_argument("--token")
p.add_argument("--quiet", type=float, default=2.0)
asyncio.run(main(p.parse_args()))
