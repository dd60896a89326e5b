#!/usr/bin/env bash
# Live demo: webhooks registered through weir serve's /webhooks (the ArcGIS
# portal's registry, in JSON), the portal's events posted to /events, and a
# receiver that prints what each webhook delivered. WEIR names the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weir=${WEIR:-$here/../../build/bindings/cli/weir}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# A receiver: prints path, the secret header's presence and the event's operations.
cat >"$tmp/receiver.py" <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ops = ",".join(f"{e['source']}:{e['operation']}" for e in body.get("events", []))
        print(f"receiver {self.path}: secret header {'ok' if self.headers.get('secret') == 'portal-demo-secret' else 'WRONG'}; {ops}", flush=True)
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
/usr/bin/python3 "$tmp/receiver.py" "$tmp/rport" &
printf 'rules:\n  - id: placeholder\n    filter: {never: here}\n' >"$tmp/rules.yaml"
"$weir" serve -r "$tmp/rules.yaml" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --state "$tmp/state" 2>"$tmp/serve.log" &
for _ in $(seq 100); do [ -s "$tmp/port" ] && [ -s "$tmp/rport" ] && break; sleep 0.05; done
addr=$(cat "$tmp/port")
hook="http://127.0.0.1:$(cat "$tmp/rport")"

register() {
  curl -s -H 'Content-Type: application/json' -d "$1" "http://$addr/webhooks"
  echo
}
echo "POST /webhooks:"
register '{"name":"Shares","url":"'"$hook"'/shares","secret":"portal-demo-secret","signature":"secret-header","events":["/items/share"],"config":{"deactivationPolicy":{"numberOfFailures":5,"daysInPast":5}}}'
register '{"name":"Group members","url":"'"$hook"'/groups","secret":"portal-demo-secret","signature":"secret-header","events":["/groups/addUsers","/groups/removeUsers"]}'
echo "GET /webhooks:"
curl -s "http://$addr/webhooks" | /usr/bin/python3 -c 'import json,sys; [print(" ", w["name"], w["events"], "secret", w["secret"]) for w in json.load(sys.stdin)["webhooks"]]'
echo "POST /events:"
curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$here/events.ndjson" "http://$addr/events"
echo
sleep 2
