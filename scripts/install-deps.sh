#!/usr/bin/env bash
# Installs what weir needs to build and test, from Debian packages. Idempotent:
# does nothing when everything is there already.
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config
      libsimdjson-dev libre2-dev libyaml-cpp-dev libyaml-dev libabsl-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      clang libclang-rt-14-dev jq
      libcurl4-openssl-dev libssl-dev ca-certificates libsqlite3-dev libboost-dev
      nats-server libnats-dev
      pybind11-dev python3-pybind11 python3-dev python3-venv python3-setuptools python3-wheel
      python3-pytest python3-websockets prometheus openssl curl python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
