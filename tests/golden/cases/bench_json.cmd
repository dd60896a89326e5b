# weir bench --json on a small file; timing and memory figures vary, so they are masked.
set -o pipefail
$WEIR bench --json --repeat 2 -r tests/data/bench_rules.yaml tests/data/bench_events.ndjson \
  | sed -E 's/"(load_ms|compile_ms|seconds|events_per_s|mb_per_s|peak_rss_kb[a-z_]*)": [0-9.e+-]+/"\1": X/; s/"runs_seconds": \[[^]]*\]/"runs_seconds": [X]/'
