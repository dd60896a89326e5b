"""`weir serve` end to end: real server, real HTTP and WebSocket clients on
127.0.0.1, every wait bounded."""

import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import websockets

from conftest import ROOT, Receiver, b64, hmac_sha256, run

RULES = """
rules:
  - id: job-closed
    filter: {msgType: JobState, message.jobStatus: Closed}
  - id: step-error
    pattern: {msgType: [StepError]}
"""

WM_EVENTS = [l for l in (ROOT / "examples/workflow-manager/events.ndjson").read_text().splitlines()
             if l.strip()]


def job_of(line):
    e = json.loads(line)
    return e.get("jobId") or (e.get("message") or {}).get("jobId")


async def sync(ws):
    """A round trip: the server answers a message that is not JSON with an
    Error, after handling everything sent before it."""
    await ws.send("not json")
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if m.get("msgType") == "Error":
            return


async def drain(ws, quiet=0.5):
    """Messages until none comes for `quiet` seconds."""
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(ws.recv(), quiet))
        except asyncio.TimeoutError:
            return got


def test_health_ready_metrics(serve):
    s = serve(RULES)
    assert s.json("GET", "/healthz") == (200, {"status": "ok"})
    assert s.json("GET", "/readyz")[0] == 200
    status, data, headers = s.request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = data.decode()
    for name in ("weir_events_total", "weir_events_bad_total", "weir_events_matched_total",
                 "weir_outbox_pending", "weir_websocket_clients", "weir_websocket_dropped_total"):
        assert f"\n{name} " in "\n" + text, name
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=data, capture_output=True,
                           timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
    assert s.stop() == 0


def test_events_answers(serve):
    s = serve(RULES, ["--max-body", "4096"])
    closed = '{"msgType":"JobState","message":{"jobId":"j1","jobStatus":"Closed"}}'
    other = '{"msgType":"StepStarted","message":{"jobId":"j1"}}'
    status, body = s.post_events([closed, "{broken", other, "", "[1]"])
    assert status == 202, body
    assert body["accepted"] == 2 and body["matched"] == 1
    assert [b["line"] for b in body["bad"]] == [2, 5]
    assert all(b["reason"] for b in body["bad"])
    # One event as application/json (it may span lines).
    status, body = s.json("POST", "/events", json.loads(closed))
    assert (status, body["accepted"], body["matched"]) == (202, 1, 1)
    # Nothing valid: 400; nothing at all: 400; too large: 413.
    assert s.post_events(["{nope", "[]"])[0] == 400
    assert s.request("POST", "/events", "", {"Content-Type": "application/x-ndjson"})[0] == 400
    big = "\n".join([other] * 200)
    assert s.request("POST", "/events", big, {"Content-Type": "application/x-ndjson"})[0] == 413
    assert s.request("POST", "/events", "x", {"Content-Type": "text/csv"})[0] == 415
    m = s.metrics()
    assert m["weir_events_total"] == 3 and m["weir_events_matched_total"] == 2
    assert m["weir_events_bad_total"] >= 2
    assert s.stop() == 0


def test_websocket_clients_get_their_jobs_only(serve):
    s = serve(RULES)
    jobs = sorted({job_of(l) for l in WM_EVENTS})
    a_jobs, b_jobs = set(jobs[:2]), {jobs[2]}

    async def main():
        async with websockets.connect(s.ws_url()) as a, websockets.connect(s.ws_url()) as b, \
                websockets.connect(s.ws_url()) as c:
            await a.send(json.dumps({"msgType": "subscribe", "jobIds": sorted(a_jobs),
                                     "senderId": "a"}))
            await b.send(json.dumps({"msgType": "subscribe", "jobIds": sorted(b_jobs),
                                     "senderId": "b"}))
            # c: a rule in the pattern dialect instead of job ids.
            await c.send(json.dumps({"msgType": "subscribe",
                                     "rule": {"pattern": {"msgType": ["StepInfoRequired"]}}}))
            ack = json.loads(await asyncio.wait_for(c.recv(), 10))
            assert ack["msgType"] == "subscribed"
            await sync(a)
            await sync(b)
            status, body = await asyncio.to_thread(s.post_events, WM_EVENTS)
            assert status == 202 and body["accepted"] == len(WM_EVENTS)
            got_a, got_b, got_c = await asyncio.gather(drain(a), drain(b), drain(c))
            assert got_a == [l for l in WM_EVENTS if job_of(l) in a_jobs]
            assert got_b == [l for l in WM_EVENTS if job_of(l) in b_jobs]
            assert got_c == [l for l in WM_EVENTS if '"msgType":"StepInfoRequired"' in l]
            assert got_a and got_b and got_c

            # a drops one job, b drops everything; c unsubscribes its rule.
            first = sorted(a_jobs)[0]
            await a.send(json.dumps({"msgType": "unsubscribe", "jobIds": [first]}))
            await b.send(json.dumps({"msgType": "unsubscribe", "all": True}))
            await c.send(json.dumps({"msgType": "unsubscribe",
                                     "subscription": ack["subscription"]}))
            await sync(a)
            await sync(b)
            await sync(c)
            # The job id read at the top level as well.
            extra = [json.dumps({"jobId": j, "msgType": "StepInfoRequired"}) for j in jobs]
            status, _ = await asyncio.to_thread(s.post_events, WM_EVENTS + extra)
            assert status == 202
            got_a, got_b, got_c = await asyncio.gather(drain(a), drain(b), drain(c))
            keep = a_jobs - {first}
            assert got_a == [l for l in WM_EVENTS + extra if job_of(l) in keep]
            assert got_b == [] and got_c == []

    run(main())
    assert s.metrics()["weir_websocket_subscription_rules"] == 0
    assert s.stop() == 0


def test_concurrent_requests_each_get_their_own_answer(serve, tmp_path):
    # Requests queued together are matched and recorded as one batch; each
    # answer must still count only its own lines, and every match is recorded.
    out = tmp_path / "closed.ndjson"
    s = serve(f"""
rules:
  - id: job-closed
    filter: {{msgType: JobState, message.jobStatus: Closed}}
    actions: [{{file: {{path: "{out}"}}}}]
""")
    import concurrent.futures

    def client(c):
        answers = []
        for r in range(40):
            n_closed, n_other, n_bad = (c + r) % 4, (c * r) % 3, r % 3
            lines = []
            for i in range(n_closed):
                lines.append(json.dumps({"msgType": "JobState",
                                         "message": {"jobId": f"c{c}r{r}i{i}", "jobStatus": "Closed"}}))
            lines += ['{"msgType":"StepStarted"}'] * n_other + ["{bad"] * n_bad
            if not lines:
                lines = ['{"msgType":"StepStarted"}']
                n_other = 1
            status, body = s.post_events(lines)
            bad_lines = list(range(n_closed + n_other + 1, n_closed + n_other + n_bad + 1))
            answers.append((status, body, n_closed, n_closed + n_other, bad_lines))
        return answers

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = [a for f in [pool.submit(client, c) for c in range(8)] for a in f.result()]
    want_ids = set()
    for status, body, matched, accepted, bad_lines in results:
        assert status == (202 if accepted else 400), body
        assert (body["accepted"], body["matched"]) == (accepted, matched), body
        assert [b["line"] for b in body["bad"]] == bad_lines, body
    for c in range(8):
        for r in range(40):
            want_ids |= {f"c{c}r{r}i{i}" for i in range((c + r) % 4)}
    deadline = time.time() + 20
    got = []
    while time.time() < deadline:
        got = [json.loads(l)["event"]["message"]["jobId"]
               for l in (out.read_text().splitlines() if out.exists() else [])]
        if len(got) >= len(want_ids):
            break
        time.sleep(0.1)
    assert sorted(got) == sorted(want_ids)
    assert s.stop() == 0


def test_client_messages_are_ingested(serve, tmp_path):
    out = tmp_path / "responses.ndjson"
    s = serve(f"""
rules:
  - id: responses
    pattern: {{msgType: [StepInfoResponse]}}
    actions: [{{file: {{path: "{out}"}}}}]
""")
    reply = {"msgType": "StepInfoResponse", "message": {"jobId": "j9", "stepId": "s1"}}

    async def main():
        async with websockets.connect(s.ws_url()) as ws, websockets.connect(s.ws_url()) as w2:
            await w2.send(json.dumps({"msgType": "subscribe", "jobIds": ["j9"]}))
            await sync(w2)
            await ws.send(json.dumps(reply))
            # Another client subscribed to j9 sees it too.
            assert json.loads(await asyncio.wait_for(w2.recv(), 10)) == reply

    run(main())
    deadline = time.time() + 10
    while time.time() < deadline and not (out.exists() and out.read_text().strip()):
        time.sleep(0.05)
    assert json.loads(out.read_text().splitlines()[0])["event"] == reply
    assert s.stop() == 0


def raw_ws(addr):
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.create_connection(addr, timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = b64(os.urandom(16))
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]

    def send_text(text):
        data = text.encode()
        mask = os.urandom(4)
        hdr = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else
                               bytes([0x80 | 126]) + len(data).to_bytes(2, "big"))
        sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    return sock, send_text


def test_client_that_does_not_read_is_cut_off(serve):
    s = serve(RULES, ["--client-queue", "64"])
    sock, send = raw_ws(s.addr)
    send(json.dumps({"msgType": "subscribe", "jobIds": ["hot"]}))
    n, pad = 600, "x" * 16000
    events = [json.dumps({"jobId": "hot", "seq": i, "pad": pad}) for i in range(n)]

    async def main():
        async with websockets.connect(s.ws_url(), max_size=None, max_queue=None) as good:
            await good.send(json.dumps({"msgType": "subscribe", "jobIds": ["hot"]}))
            await sync(good)
            got = []
            for i in range(0, n, 25):
                status, _ = await asyncio.to_thread(s.post_events, events[i:i + 25])
                assert status == 202
                got += await drain(good, 0.05)
            got += await drain(good, 1.0)
            assert [json.loads(g)["seq"] for g in got] == list(range(n))

    run(main(), timeout=120)
    m = s.metrics()
    assert m["weir_websocket_dropped_total"] == 1
    assert m["weir_websocket_clients"] == 0
    sock.close()
    assert s.stop() == 0


def test_token_auth(serve, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("first-token\n\nsecond-token\n")
    s = serve(RULES, ["--token-file", str(tokens)])
    assert s.request("GET", "/healthz")[0] == 200
    for method, path in [("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/events"),
                         ("GET", "/webhooks"), ("POST", "/hooks/x"), ("GET", "/nothing")]:
        assert s.request(method, path, "{}")[0] == 401, path
        assert s.request(method, path, "{}", {"Authorization": "Bearer wrong"})[0] == 401, path
    ok = {"Authorization": "Bearer second-token"}
    assert s.request("GET", "/metrics", headers=ok)[0] == 200
    assert s.request("POST", "/events", '{"a":1}',
                     dict(ok, **{"Content-Type": "application/json"}))[0] == 202

    async def main():
        async with websockets.connect(s.ws_url()) as bad:
            await bad.send(json.dumps({"msgType": "subscribe", "jobIds": ["j"], "token": "no"}))
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(bad.recv(), 10)
            assert e.value.code == 1008
        async with websockets.connect(s.ws_url()) as anon:
            await anon.send(json.dumps({"msgType": "StepInfoResponse", "jobId": "j"}))
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(anon.recv(), 10)
        async with websockets.connect(s.ws_url()) as good, \
                websockets.connect(s.ws_url(), extra_headers=ok) as by_header:
            await good.send(json.dumps({"msgType": "subscribe", "jobIds": ["j"],
                                        "token": "first-token", "senderId": "s"}))
            await by_header.send(json.dumps({"msgType": "subscribe", "jobIds": ["j"]}))
            await sync(good)
            await sync(by_header)
            await asyncio.to_thread(s.request, "POST", "/events", '{"jobId":"j"}',
                                    dict(ok, **{"Content-Type": "application/json"}))
            assert await asyncio.wait_for(good.recv(), 10) == '{"jobId":"j"}'
            assert await asyncio.wait_for(by_header.recv(), 10) == '{"jobId":"j"}'

    run(main())
    assert "first-token" not in s.output() and "second-token" not in s.output()
    assert s.stop() == 0


def test_sighup_reload_keeps_running_set_on_mistakes(serve, tmp_path):
    rules = tmp_path / "live.yaml"
    rules.write_text("rules:\n  - id: a\n    filter: {kind: a}\n")
    s = serve([rules])
    assert s.post_events([{"kind": "a"}])[1]["matched"] == 1
    rules.write_text("rules:\n  - id: a\n    filter: {kind: a}\n    colour: red\n")
    s.send(signal.SIGHUP)
    deadline = time.time() + 10
    while "reload refused" not in s.output() and time.time() < deadline:
        time.sleep(0.05)
    assert "live.yaml:4:5" in s.output() and "reload refused" in s.output()
    assert s.json("GET", "/readyz")[0] == 200
    assert s.post_events([{"kind": "a"}])[1]["matched"] == 1
    rules.write_text("rules:\n  - id: b\n    filter: {kind: b}\n")
    s.send(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded" not in s.output() and time.time() < deadline:
        time.sleep(0.05)
    assert s.post_events([{"kind": "a"}, {"kind": "b"}])[1]["matched"] == 1
    m = s.metrics()
    assert m['weir_reloads_total{result="failed"}'] == 1
    assert m['weir_reloads_total{result="ok"}'] == 1
    assert s.stop() == 0


def test_signed_hooks(serve):
    secret = "whsec_" + b64(b"0123456789abcdef0123456789abcdef")
    s = serve("""
sources:
  uipath: {signature: uipath, secret: "${UIPATH_SECRET}"}
  std: {signature: standard, secret: "${STD_SECRET}"}
  gh: {signature: github, secret: gh-secret}
rules:
  - id: faulted
    pattern: {Type: [job.faulted]}
""", env={"UIPATH_SECRET": "ui-secret", "STD_SECRET": secret})
    body = json.dumps({"Type": "job.faulted", "Job": {"Id": 7}}).encode()
    ct = {"Content-Type": "application/json"}

    def post(name, headers):
        return s.json("POST", f"/hooks/{name}", body, dict(ct, **headers))

    good = b64(hmac_sha256("ui-secret", body))
    status, ans = post("uipath", {"X-UiPath-Signature": good})
    assert (status, ans["matched"]) == (202, 1)
    assert post("uipath", {"X-UiPath-Signature": b64(hmac_sha256("wrong", body))})[0] == 401
    assert post("uipath", {})[0] == 401
    assert post("gh", {"X-Hub-Signature-256": "sha256=" +
                       hmac_sha256("gh-secret", body).hex()})[0] == 202
    assert post("gh", {"X-Hub-Signature-256": "sha256=00"})[0] == 401

    key = __import__("base64").b64decode(secret[6:])

    def std_headers(ts):
        sig = b64(hmac_sha256(key, f"msg_1.{ts}.".encode() + body))
        return {"webhook-id": "msg_1", "webhook-timestamp": str(ts),
                "webhook-signature": f"v1,{sig}"}

    assert post("std", std_headers(int(time.time())))[0] == 202
    assert post("std", std_headers(int(time.time()) - 400))[0] == 401  # replayed
    assert post("nobody", {})[0] == 404
    m = s.metrics()
    # Refused hooks matched nothing.
    assert m["weir_events_matched_total"] == 3
    assert m["weir_hooks_refused_total"] == 4
    out = s.output()
    assert "ui-secret" not in out and secret not in out
    assert s.stop() == 0


def test_tls(serve, tmp_path):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)
    s = serve(RULES, ["--tls-cert", str(cert), "--tls-key", str(key)])
    ctx = ssl.create_default_context(cafile=str(cert))
    import http.client
    c = http.client.HTTPSConnection(*s.addr, context=ctx, timeout=10)
    c.request("POST", "/events", '{"jobId":"t1"}', {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 202 and json.loads(r.read())["accepted"] == 1
    c.close()

    async def main():
        url = f"wss://{s.addr[0]}:{s.addr[1]}/ws"
        async with websockets.connect(url, ssl=ctx) as ws:
            await ws.send(json.dumps({"msgType": "subscribe", "jobIds": ["t1"]}))
            await sync(ws)

            def post():
                c = http.client.HTTPSConnection(*s.addr, context=ctx, timeout=10)
                c.request("POST", "/events", '{"jobId":"t1","n":2}',
                          {"Content-Type": "application/json"})
                assert c.getresponse().status == 202
            await asyncio.to_thread(post)
            assert await asyncio.wait_for(ws.recv(), 10) == '{"jobId":"t1","n":2}'

    run(main())
    # Plain HTTP on the TLS port is refused.
    plain = socket.create_connection(s.addr, timeout=5)
    plain.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" not in plain.recv(100)
    plain.close()
    assert s.stop() == 0
