#!/usr/bin/env bash
# Build bench/bare_pass (the simdjson "bare pass" baseline) against Debian's libsimdjson-dev.
#
#   bench/build_bare_pass.sh            # -> bench/bare_pass (or $OUT)
#   CXX=clang++ CXXFLAGS='-O2 -g' bench/build_bare_pass.sh
#
# No -march: the binary runs on any x86-64. simdjson picks its stage-1 kernel at run time
# (haswell/icelake/westmere/...); the On-Demand value code is compiled into this program for the
# default target (simdjson's "builtin" implementation, reported by bare_pass). The defines mirror
# the simdjson::simdjson CMake target (SIMDJSON_THREADS_ENABLED=1, linked with threads), so the
# numbers match what a CMake build of weir gets.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CXX="${CXX:-g++}"
OUT="${OUT:-$here/bare_pass}"
# shellcheck disable=SC2086  # CXXFLAGS is a list of flags
"$CXX" -std=c++20 ${CXXFLAGS:--O3} -Wall -Wextra -DNDEBUG -DSIMDJSON_THREADS_ENABLED=1 -pthread \
  "$here/bare_pass.cc" -o "$OUT" -lsimdjson
echo "built $OUT" >&2
