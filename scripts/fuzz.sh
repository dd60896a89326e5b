#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++, ASan+UBSan) in build-fuzz/, replays
# the saved crashers in fuzz/regressions/<target>/, then fuzzes each target for
# WEIR_FUZZ_SECONDS (default 60) on a copy of fuzz/corpus/<target>/ kept in
# build-fuzz/ (fuzz/ itself is never written). Exits non-zero when a target
# crashes and prints the reproducer. Usage: scripts/fuzz.sh [target...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
secs=${WEIR_FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(event_fuzzer ndjson_fuzzer rules_fuzzer compiled_fuzzer)

echo "== fuzz: build (${targets[*]})"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DWEIR_BUILD_FUZZ=ON \
  -DWEIR_BUILD_TESTS=OFF -DWEIR_BUILD_BENCH=OFF \
  -DWEIR_SANITIZE=fuzzer-no-link,address,undefined >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

# The first report in a log: ours (***) or the sanitizer's, without
# libFuzzer's own frames.
report() {  # log file
  grep -a -E -m1 -A50 '^==[0-9]+==|^\*\*\* |runtime error:' "$1" |
    grep -a -v -E ' in fuzzer::|libc\.so|libc_start|in _start |^NOTE: |^      Combine|^0x' |
    head -40 || tail -40 "$1"
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  out="$build/fuzz-out/$t"
  rm -rf "$out"
  mkdir -p "$out/corpus" "$out/artifacts"
  opts=(-dict="$root/fuzz/json.dict" -timeout=25 -rss_limit_mb=2048 -max_len=8192
        -print_final_stats=1)

  regressions=("$root"/fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== fuzz: $t: replaying ${#regressions[@]} saved crashers"
    if ! "$bin" "${opts[@]}" "${regressions[@]}" >"$out/regressions.log" 2>&1; then
      echo "fuzz: $t FAILED on a saved crasher; log: $out/regressions.log" >&2
      grep -E '^Running: ' "$out/regressions.log" | tail -1 >&2 || true
      report "$out/regressions.log" >&2
      failed+=("$t")
      continue
    fi
  fi

  echo "== fuzz: $t for ${secs}s"
  cp -r "$root/fuzz/corpus/$t/." "$out/corpus/"
  if "$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix="$out/artifacts/" \
       "$out/corpus" >"$out/fuzz.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$out/fuzz.log" |
      tr '\n' ' ' | sed "s/^/fuzz: $t: /"; echo
  else
    echo "fuzz: $t FAILED; log: $out/fuzz.log" >&2
    report "$out/fuzz.log" >&2
    for a in "$out"/artifacts/*; do
      [ -e "$a" ] || continue
      echo "fuzz: reproducer: $a" >&2
      echo "fuzz:   replay with: $bin $a" >&2
      echo "fuzz:   minimize with: $bin -minimize_crash=1 -runs=100000 $a" >&2
      echo "fuzz:   keep it as a regression: cp $a $root/fuzz/regressions/$t/" >&2
    done
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets passed"
