#!/usr/bin/env python3
"""A small webhook receiver for the examples: listens on 127.0.0.1, checks each
request's signature the way the receiving system would, and prints one line
per request. Usage: receiver.py SCHEME SECRET [--port N]
(SCHEME: uipath | secret-header | standard | github | arcgis | none).
Prints "listening on PORT" first; stops on SIGTERM or Ctrl-C."""
import base64
import hashlib
import hmac
import http.server
import json
import sys


def check(scheme, secret, headers, body):
    mac = lambda key, data: hmac.new(key, data, hashlib.sha256).digest()
    key = secret.encode()
    if scheme == "uipath":  # UiPath Orchestrator: base64 HMAC-SHA256 of the body
        return hmac.compare_digest(headers.get("X-UiPath-Signature", ""),
                                   base64.b64encode(mac(key, body)).decode())
    if scheme == "secret-header":  # ArcGIS portal webhooks: the secret as it is
        return hmac.compare_digest(headers.get("secret", ""), secret)
    if scheme == "github":
        return hmac.compare_digest(headers.get("X-Hub-Signature-256", ""),
                                   "sha256=" + mac(key, body).hex())
    if scheme == "arcgis":
        return hmac.compare_digest(headers.get("x-esriHook-Signature", ""),
                                   "sha256=" + base64.b64encode(mac(key, body)).decode())
    if scheme == "standard":
        k = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        want = "v1," + base64.b64encode(mac(k, signed)).decode()
        return want in headers.get("webhook-signature", "").split(" ")
    return True


def main():
    scheme, secret = sys.argv[1], sys.argv[2]
    port = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--port" else 0
    seen = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = check(scheme, secret, self.headers, body)
            wid = self.headers.get("webhook-id", "")
            dup = wid in seen
            seen.add(wid)
            event = json.loads(body)
            what = event.get("Type") or event.get("uri") or ",".join(
                f"{e.get('source')}/{e.get('operation')}" for e in event.get("events", []))
            print(f"received {wid} signature {'ok' if ok else 'BAD'}"
                  f"{' (duplicate)' if dup else ''}: {what}", flush=True)
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
