"""Helpers for the `weir serve` tests: a real server on 127.0.0.1 (an
ephemeral port), real HTTP receivers and real WebSocket clients, all started
and stopped by the tests. Run with /usr/bin/python3 -m pytest tests/serve
(Debian's python3-websockets and python3-pytest); WEIR names the binary."""

import asyncio
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import pathlib
import signal
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WEIR = os.environ.get("WEIR", str(ROOT / "build" / "bindings" / "cli" / "weir"))


class Server:
    def __init__(self, tmp, rules, args=(), state=None, env=None):
        self.tmp = pathlib.Path(tmp)
        self.rules = [str(r) for r in rules]
        self.args = list(args)
        self.state = str(state or self.tmp / "state")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.addr = None
        self.log_path = self.tmp / f"serve-{time.monotonic_ns()}.log"

    def start(self):
        port_file = self.tmp / f"port-{time.monotonic_ns()}"
        cmd = [WEIR, "serve", "--listen", "127.0.0.1:0", "--state", self.state,
               "--port-file", str(port_file)] + self.args
        for r in self.rules:
            cmd += ["-r", r]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if port_file.exists() and port_file.read_text().endswith("\n"):
                host, port = port_file.read_text().strip().rsplit(":", 1)
                self.addr = (host, int(port))
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"weir serve exited {self.proc.returncode}: {self.output()}")
            time.sleep(0.02)
        raise AssertionError("weir serve did not start: " + self.output())

    def output(self):
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection(*self.addr, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = dict({"Content-Type": "application/json"}, **(headers or {}))
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, dict(r.getheaders())

    def json(self, method, path, body=None, headers=None):
        status, data, _ = self.request(method, path, body, headers)
        return status, json.loads(data) if data else None

    def post_events(self, lines, headers=None):
        body = "".join(json.dumps(l) + "\n" if not isinstance(l, str) else l + "\n"
                       for l in lines)
        h = dict({"Content-Type": "application/x-ndjson"}, **(headers or {}))
        return self.json("POST", "/events", body, h)

    def ws_url(self):
        return f"ws://{self.addr[0]}:{self.addr[1]}/ws"

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("weir serve did not stop on SIGTERM: " + self.output())
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def metrics(self, headers=None):
        status, data, _ = self.request("GET", "/metrics", headers=headers)
        assert status == 200
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out


@pytest.fixture
def serve(tmp_path):
    """serve(rules_text_or_paths, args=...) -> a started Server; all are
    stopped at the end of the test."""
    started = []

    def make(rules, args=(), state=None, env=None, start=True):
        paths = []
        if isinstance(rules, str):
            p = tmp_path / f"rules-{len(started)}.yaml"
            p.write_text(rules)
            paths = [p]
        else:
            paths = list(rules)
        s = Server(tmp_path, paths, args, state, env)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


class Receiver:
    """A real HTTP receiver on 127.0.0.1: records every POST; answers
    `status` (changeable while running)."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                status = receiver.status
                if status < 300:
                    with receiver.cond:
                        receiver.requests.append(
                            {"path": self.path, "headers": {k.lower(): v for k, v in
                                                            self.headers.items()},
                             "body": body})
                        receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n, timeout=15):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.requests) < n and time.time() < deadline:
                self.cond.wait(0.1)
            return list(self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def hmac_sha256(key, data):
    if isinstance(key, str):
        key = key.encode()
    return hmac.new(key, data, hashlib.sha256).digest()


def b64(b):
    return base64.b64encode(b).decode()


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))
