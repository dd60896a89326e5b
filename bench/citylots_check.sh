#!/usr/bin/env bash
# The engine against the slow reference evaluator on all of CityLots, with
# patterns of every operator: `weir filter --format count` must print the
# same counts as tests/reference_count.
#   bash bench/citylots_check.sh [RULES...]
# Default: citylots-operators.yaml (paths in properties and geometry) and
# citylots-properties.yaml (properties only: events are indexed up to a cut).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 0 ]; then
  for f in citylots-operators citylots-properties; do bash "$0" "$root/bench/rules/$f.yaml"; done
  exit 0
fi
rules=$1
bash "$root/bench/fetch_data.sh" >/dev/null
data=${WEIR_BENCH_DATA:-$root/bench/data}/citylots.ndjson
[ -x "$root/build/bindings/cli/weir" ] && [ -x "$root/build/tests/reference_count" ] ||
  bash "$root/scripts/build.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/time -f "weir: %e s" "$root/build/bindings/cli/weir" filter -r "$rules" --format count "$data" >"$tmp/weir"
/usr/bin/time -f "reference: %e s" "$root/build/tests/reference_count" "$rules" "$data" >"$tmp/ref"
if diff -u "$tmp/ref" "$tmp/weir"; then
  echo "citylots: counts agree for $(wc -l <"$tmp/weir") rules over $(wc -l <"$data") events"
  cat "$tmp/weir"
else
  echo "citylots: counts DIFFER (reference first)"; exit 1
fi
