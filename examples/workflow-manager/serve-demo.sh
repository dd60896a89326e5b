#!/usr/bin/env bash
# Live demo: weir serve with the job rules, two WebSocket clients that
# subscribe to jobs, the job messages posted to /events. Prints what each
# client saw. WEIR names the binary (default build/bindings/cli/weir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weir=${WEIR:-$here/../../build/bindings/cli/weir}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

"$weir" serve -r "$here/rules.yaml" --listen 127.0.0.1:0 --port-file "$tmp/port" \
  --state "$tmp/state" >"$tmp/actions.ndjson" 2>"$tmp/serve.log" &
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
addr=$(cat "$tmp/port")

# The dispatcher's board follows two jobs; the field crew one.
/usr/bin/python3 "$here/ws_client.py" "ws://$addr/ws" board AWJU2U6o3PFyCS7Xe5xJ AWKb7Qz1RmT4cXy9Lp2D >"$tmp/board.txt" &
/usr/bin/python3 "$here/ws_client.py" "ws://$addr/ws" crew AWMd9Pw2XtB7eHr4Ku1F >"$tmp/crew.txt" &
sleep 1
echo "POST /events:"
curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$here/events.ndjson" "http://$addr/events"
echo
wait %2 %3
cat "$tmp/board.txt" "$tmp/crew.txt"
echo "rule actions (stdout executor): $(wc -l <"$tmp/actions.ndjson") lines"
