#!/usr/bin/env bash
# Scale-out on NATS JetStream with real parts on 127.0.0.1: a nats-server,
# the webhook receiver, two `weir run --outbox nats` workers sharing one
# consumer. 100,000 events (half match a webhook rule; one in a thousand is
# not JSON). Half-way, worker A is killed with SIGKILL and its state
# directory deleted; later the server is restarted. Every matched event
# must reach the receiver (by webhook-id: each exactly once after
# de-duplication), and the split of work is reported.
#
# Env: WEIR, NATS_TOOL, HTTP_RECEIVER (built binaries); EVENTS (default 100000).
set -euo pipefail
: "${WEIR:?}" "${NATS_TOOL:?}" "${HTTP_RECEIVER:?}"
N=${EVENTS:-100000}
tmp=$(mktemp -d)
pids=()
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for f in "$tmp"/*.err; do [ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }; done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
now() { date +%s.%N; }
t_start=$(now)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
url="nats://127.0.0.1:$port"
start_server() {
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" >>"$tmp/server.log" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do
    "$NATS_TOOL" count "$url" NONE >/dev/null 2>&1 && break
    grep -q "Server is ready" "$tmp/server.log" 2>/dev/null && break
    sleep 0.05
  done
}
start_server

"$HTTP_RECEIVER" --port 0 --dedupe --out "$tmp/received.ndjson" >"$tmp/receiver.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/receiver.port" ] && break; sleep 0.05; done
rport=$(head -1 "$tmp/receiver.port")
stats() { curl -s "http://127.0.0.1:$rport/_stats"; }
distinct() { stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["distinct_ids"])'; }

cat >"$tmp/rules.yaml" <<YAML
rules:
  - id: kind-a
    filter:
      kind: a
    actions: [hook]
actions:
  hook:
    webhook:
      url: http://127.0.0.1:$rport/hook
      headers:
        X-Worker: \${WORKER}
      retry: {attempts: 50, backoff: 100ms, max_backoff: 1s}
YAML

"$NATS_TOOL" add-stream "$url" EVENTS 'events.>'
t0=$(now)
"$NATS_TOOL" gen "$url" events.in "$N" >/dev/null
echo "published $N events in $(python3 -c "print(round($(now)-$t0,2))") s"
expected=$(( N / 2 ))

worker() {  # name
  WORKER=$1 "$WEIR" run -r "$tmp/rules.yaml" --source "$url" --stream EVENTS --consumer fleet \
    --outbox nats --ack-wait 5s -s "$tmp/state-$1" >"$tmp/$1.out" 2>"$tmp/$1.err" &
  pids+=($!)
  eval "pid_$1=$!"
}
t_run=$(now)
since_run() { python3 -c "print(round($(now)-$t_run,1))"; }
worker A
worker B

wait_for() {  # count, deadline seconds
  local end=$(( $(date +%s) + $2 ))
  while [ "$(distinct)" -lt "$1" ]; do
    [ "$(date +%s)" -gt "$end" ] && { echo "timed out at $(distinct) of $1"; return 1; }
    sleep 0.1
  done
}

wait_for $(( expected / 2 )) 90
kill -KILL "$pid_A" || { echo "worker A was not running"; exit 1; }
rm -rf "$tmp/state-A"
echo "killed worker A with SIGKILL at $(distinct) delivered ($(since_run) s); its state directory deleted"

wait_for $(( expected * 7 / 10 )) 90
kill -TERM "$server"
wait "$server" || true
echo "nats-server stopped at $(distinct) delivered ($(since_run) s)"
sleep 1
start_server
echo "nats-server restarted ($(since_run) s)"

if ! wait_for "$expected" 120; then
  cat "$tmp/B.err" | tail -20
  exit 1
fi
t_done=$(now)
# Nothing left: the input consumer and the delivery consumer are drained.
for _ in $(seq 100); do
  p1=$("$NATS_TOOL" pending "$url" EVENTS fleet)
  p2=$("$NATS_TOOL" pending "$url" WEIR_ACTIONS weir-deliver)
  [ "$p1" = 0 ] && [ "$p2" = 0 ] && break
  sleep 0.1
done
kill -TERM "$pid_B"
rc=0
wait "$pid_B" || rc=$?
[ "$rc" -le 1 ] || { echo "worker B exited $rc"; tail -20 "$tmp/B.err"; exit 1; }
# Exit status 1 also means "some events were bad"; a sanitizer build reports
# through stderr as well.
for w in A B; do
  if grep -qE 'ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer' "$tmp/$w.err"; then
    echo "worker $w: a sanitizer report"; grep -A30 -E 'ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer' "$tmp/$w.err" | head -60
    exit 1
  fi
done

python3 - "$tmp/received.ndjson" "$N" "$p1" "$p2" <<'PY'
import json, sys, collections
path, n, p1, p2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ids, by_worker, events = collections.Counter(), collections.Counter(), set()
for line in open(path):
    r = json.loads(line)
    ids[r["headers"]["webhook-id"]] += 1
    by_worker[r["headers"].get("x-worker", "?")] += 1
    events.add(json.loads(r["body"])["n"])
want = {i for i in range(n) if i % 2 == 0}
missing = want - events
extra = events - want
dups = sum(c - 1 for c in ids.values())
print(f"requests {sum(ids.values())}, distinct webhook-ids {len(ids)}, duplicates {dups}")
print("deliveries by worker: " + ", ".join(f"{w} {c}" for w, c in sorted(by_worker.items())))
print(f"left: input consumer {p1}, delivery consumer {p2}")
ok = not missing and not extra and len(ids) == len(want) and p1 == "0" and p2 == "0"
if missing: print(f"MISSING {len(missing)} events, e.g. {sorted(missing)[:10]}")
if extra: print(f"UNEXPECTED {len(extra)} events")
sys.exit(0 if ok else 1)
PY
grep -h "events,\|delivered\|second time" "$tmp/B.err" | sed 's/^/worker B: /'
python3 -c "print(f'all {$expected} matched actions delivered in {round($t_done-$t_run,1)} s (two workers, one killed, a server restart); test {round($(now)-$t_start,1)} s')"
echo "PASS"
