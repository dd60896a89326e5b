#!/usr/bin/env bash
# Events/s through NATS JetStream: the bare fetch-and-ack loop of cnats
# (nats_tool bare, batch 256) against `weir filter --source nats://…` with
# one and with two workers sharing a consumer, on the same server and
# events in one run. Each pass gets its own consumer of one stream of N
# events; a pass ends when its consumer has nothing pending.
#   WEIR=... NATS_TOOL=... bash bench/nats_scaleout.sh [N]
set -euo pipefail
: "${WEIR:?}" "${NATS_TOOL:?}"
N=${1:-100000}
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" >"$tmp/server.log" 2>&1 &
pids+=($!)
sleep 0.5
"$NATS_TOOL" add-stream "$url" BENCH 'bench.>'
"$NATS_TOOL" gen "$url" bench.in "$N" >/dev/null
printf 'rules:\n  - id: kind-a\n    filter:\n      kind: a\n' >"$tmp/rules.yaml"

echo "bare cnats fetch(256)+ack: $("$NATS_TOOL" bare "$url" BENCH bare 256)"
for workers in 1 2; do
  c="weir$workers"
  t0=$(date +%s.%N)
  wp=()
  for w in $(seq "$workers"); do
    "$WEIR" filter -r "$tmp/rules.yaml" --source "$url" --stream BENCH --consumer "$c" -f count \
      >/dev/null 2>"$tmp/$c-$w.err" &
    wp+=($!)
    pids+=($!)
  done
  sleep 0.3
  while [ "$("$NATS_TOOL" pending "$url" BENCH "$c" 2>/dev/null || echo 1)" != 0 ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  for p in "${wp[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  python3 -c "print(f'weir filter, $workers worker(s): {$N/($t1-$t0):.0f} events/s ({$t1-$t0:.2f} s)')"
done
