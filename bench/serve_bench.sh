#!/usr/bin/env bash
# POST /events throughput of `weir serve` against its bare HTTP server (the
# same Beast server answering 202 without matching or recording), in one run:
# one event per request and batched NDJSON. Then WebSocket fan-out
# (bench/ws_fanout.py). Binaries: WEIR (default build/bindings/cli/weir) and
# SERVE_LOAD (default build/bench/serve_load).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
weir=${WEIR:-$root/build/bindings/cli/weir}
load=${SERVE_LOAD:-$root/build/bench/serve_load}
events=${EVENTS:-$root/examples/workflow-manager/events.ndjson}
n_single=${N_SINGLE:-100000}
n_batch=${N_BATCH:-1000000}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# The job rules of the Workflow Manager example, each matched event recorded
# in the outbox and appended to a file (the cheapest real action).
sed "s/actions: \[stdout\]/actions: [sink]/" "$root/examples/workflow-manager/rules.yaml" \
  > "$tmp/rules.yaml"
printf 'actions:\n  sink: {file: {path: "%s/out.ndjson"}}\n' "$tmp" >> "$tmp/rules.yaml"
# The same rules without actions: matching and the 202 path only.
sed "/actions: \[stdout\]/d" "$root/examples/workflow-manager/rules.yaml" > "$tmp/match.yaml"

start() {  # start NAME ARGS...: a server on a free port; sets port
  local name=$1; shift
  rm -f "$tmp/$name.port"
  "$weir" serve --listen 127.0.0.1:0 --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.log" &
  for _ in $(seq 200); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
  port=$(sed 's/.*://' "$tmp/$name.port")
}

run() {  # run LABEL PORT ARGS...
  local label=$1 p=$2; shift 2
  printf '%-34s ' "$label"
  "$load" --port "$p" --events "$events" "$@"
}

start bare --bare
bare=$port
start match -r "$tmp/match.yaml" --state "$tmp/state-match" --threads "${THREADS:-1}"
matching=$port
start serve -r "$tmp/rules.yaml" --state "$tmp/state" --threads "${THREADS:-1}"
served=$port
for rep in 1 2 3; do
  echo "-- run $rep"
  run "bare, 1 event/request, 16 conns" $bare -n "$n_single" -c 16 --batch 1
  run "match only, 1 event/request" $matching -n "$n_single" -c 16 --batch 1
  run "match+outbox, 1 event/request" $served -n "$n_single" -c 16 --batch 1
  run "bare, 1000 events/request, 4 conns" $bare -n "$n_batch" -c 4 --batch 1000
  run "match only, 1000 events/request" $matching -n "$n_batch" -c 4 --batch 1000
  run "match+outbox, 1000 events/request" $served -n "$n_batch" -c 4 --batch 1000
done
echo "matched actions written: $(wc -l < "$tmp/out.ndjson") (delivery continues after the 202s)"
