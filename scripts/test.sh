#!/usr/bin/env bash
# Runs every test: the Release build's ctest suite (unit, differential,
# golden, concurrency), then the unit/differential/golden tests under
# ASan+UBSan, the concurrency tests under TSan, and short libFuzzer runs
# (WEIR_FUZZ_SECONDS per target, default 60).
# WEIR_QUICK=1 runs only the Release suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$root/scripts/install-deps.sh"

echo "== Release build and tests"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$jobs"
(cd "$root/build" && ctest --output-on-failure -j"$jobs" -LE scaleout)
# The NATS scale-out run (two workers, a SIGKILL, a server restart) alone,
# so that its timing is not shared with the rest of the suite.
(cd "$root/build" && ctest --output-on-failure -L scaleout)
[ "${WEIR_QUICK:-0}" = 1 ] && exit 0

echo "== Embedding: the installed package (CMake and pkg-config), the example service, Python"
bash "$root/scripts/embedding-test.sh"

echo "== ASan + UBSan"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DWEIR_SANITIZE=address,undefined -DWEIR_BUILD_BENCH=OFF >/dev/null
cmake --build "$root/build-asan" -j"$jobs" --target weir_sanitizer_tests
(cd "$root/build-asan" && ctest --output-on-failure -j"$jobs" -L 'unit|differential|golden')
# The scale-out run again with weir built with ASan/UBSan: it fails on any
# sanitizer report of either worker.
(cd "$root/build-asan" && ctest --output-on-failure -L scaleout)

echo "== TSan (concurrency)"
cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEIR_SANITIZE=thread -DWEIR_BUILD_BENCH=OFF >/dev/null
cmake --build "$root/build-tsan" -j"$jobs" --target concurrency_test stream_concurrency_test weir
(cd "$root/build-tsan" && ctest --output-on-failure -L concurrency)
# The threaded CLI pipeline under TSan, on a few thousand events.
for i in $(seq 200); do cat "$root/examples/workflow-service/events.ndjson"; done |
  "$root/build-tsan/bindings/cli/weir" filter -r "$root/examples/workflow-service/rules.yaml" \
    --threads 4 --format count >/dev/null
echo "tsan: threaded filter pipeline passed"

echo "== libFuzzer (${WEIR_FUZZ_SECONDS:-60}s per target)"
bash "$root/scripts/fuzz.sh"

# Every stage above stops the script on a failure; reaching here, all passed.
count() { (cd "$1" && shift && ctest -N "$@" | sed -n 's/^Total Tests: //p'); }
total=$(( $(count "$root/build") + $(count "$root/build-asan" -L 'unit|differential|golden|scaleout') \
          + $(count "$root/build-tsan" -L concurrency) + 1 + 4 + 4 ))
echo "(ctest suites in the Release, ASan/UBSan and TSan builds, the TSan pipeline run, 4 fuzzers,"
echo " 4 embedding checks: find_package, pkg-config, the example service, the Python tests)"
echo "weir: $total passed, 0 failed"
