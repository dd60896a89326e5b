#!/usr/bin/env bash
# The bindings' cost on the same events, in one run: the C++ Matcher, the C
# API (weir_match) and the Python module's Engine.match_many; 2 and 4 Python
# threads against one; 20,000 subscriptions added one at a time from Python,
# and where that time goes in C++ (ParseRules vs RuleSet::Update).
# Installs the Release build (build/, or WEIR_BUILD_DIR) into a scratch
# prefix, builds bench/bindings_bench against it and the Python module into a
# venv of Debian's Python. Usage: bench/bindings_bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEIR_BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$root/bench/bindings_bench" -B "$work/bb" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/bb" >/dev/null
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
WEIR_PY_BUILD_DIR="${WEIR_PY_BUILD_DIR:-$root/build-python}" \
  "$work/venv/bin/pip" install -q --no-build-isolation --no-index "$root/bindings/python"
echo "== $(date -u +%FT%TZ), $(nproc) cpus, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$work" && "$work/venv/bin/python" "$root/bench/python_bench.py" --cxx-bench "$work/bb/bindings_bench" "$@")
echo "== where add() goes, in C++"
"$work/bb/bindings_bench" --adds "${WEIR_BENCH_ADDS:-20000}"
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
