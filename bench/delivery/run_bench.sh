#!/usr/bin/env bash
# weir run beside its limits, in one run: SQLite's own batched insert (and
# insert + delete) of the same events, weir run with a file action on every
# event, and weir run without matches beside weir filter.
# Usage: bench/delivery/run_bench.sh [EVENTS] [N]   (default: 50,000 CityLots features)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
weir=${WEIR:-$root/build/bindings/cli/weir}
src=${1:-$root/bench/data/citylots.ndjson}
n=${2:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -"$n" "$src" > "$work/events.ndjson"
cd "$work"
for round in 1 2 3; do
  echo "-- round $round"
  /usr/bin/python3 "$here/sqlite_insert.py" events.ndjson "$work/b.db"
  rm -rf st audit.ndjson
  /usr/bin/time -f "weir run, a file action on every event: %e s" \
    "$weir" run -q -r "$here/file-every-event.yaml" --state st events.ndjson
  /usr/bin/time -f "weir filter --format count, no match: %e s" \
    "$weir" filter -r "$here/file-no-match.yaml" --format count events.ndjson >/dev/null
  rm -rf st
  /usr/bin/time -f "weir run, no match: %e s" "$weir" run -q -r "$here/file-no-match.yaml" --state st events.ndjson
done
