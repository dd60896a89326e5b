#!/usr/bin/env bash
# weir run delivering ArcGIS portal webhook payloads to a receiver on 127.0.0.1 that
# checks their secret header. Usage: bash deliver-demo.sh [path/to/weir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weir=${1:-$here/../../build/bindings/cli/weir}
work=$(mktemp -d)
trap 'kill $rpid 2>/dev/null; rm -rf "$work"' EXIT
export HOOK_SECRET=demo-portal-secret
/usr/bin/python3 "$here/../receiver/receiver.py" secret-header "$HOOK_SECRET" > "$work/received" &
rpid=$!
until grep -q listening "$work/received" 2>/dev/null; do sleep 0.1; done
export RECEIVER_URL="http://127.0.0.1:$(awk '/listening/ {print $3}' "$work/received")"
echo "\$ weir run -r deliver.yaml --state \$STATE events.ndjson"
"$weir" run -r "$here/deliver.yaml" --state "$work/state" "$here/events.ndjson" || true
sleep 0.2
echo "--- what the receiver saw:"
grep -v listening "$work/received"
