#!/usr/bin/env bash
# Embedding checks: installs the Release build (build/) into a scratch prefix,
# builds tests/consumer against it with CMake (find_package) and with
# pkg-config, runs both; builds and runs examples/notification-service (a
# service on the pipeline, the dispatcher and an executor of its own) against
# the same prefix; then installs the Python module into a venv of
# Debian's Python and runs its tests with pytest (WEIR_PY_BUILD_DIR: its
# CMake build directory, build-python by default). Usage: scripts/embedding-test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEIR_BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== embedding: cmake --install into a scratch prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
echo "== embedding: a consumer project with find_package(weir)"
cmake -S "$root/tests/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" >/dev/null
echo "embedding: find_package consumer passed"
echo "== embedding: the same with pkg-config"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
g++ -std=c++20 "$root/tests/consumer/consumer.cc" -o "$work/consumer-pc" \
  $(pkg-config --cflags --libs weir)
"$work/consumer-pc" >/dev/null
echo "embedding: pkg-config consumer passed"
echo "== embedding: examples/notification-service against the installed package"
cmake -S "$root/examples/notification-service" -B "$work/notification-service" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/notification-service" >/dev/null
timeout 120 "$work/notification-service/notification-service" >"$work/notification-service.out"
tail -n 1 "$work/notification-service.out" | grep -qx ok
echo "embedding: notification-service passed"

echo "== embedding: Python module (venv of Debian's Python, offline pip)"
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
WEIR_PY_BUILD_DIR="${WEIR_PY_BUILD_DIR:-$root/build-python}" \
  "$work/venv/bin/pip" install -q --no-build-isolation --no-index "$root/bindings/python"
(cd "$work" && "$work/venv/bin/python" -m pytest -q "$root/tests/python")
