#!/usr/bin/env bash
# Sets up, builds, and runs `weir filter` on the bundled Workflow Service
# example (the Workflow Service event catalogue's filters, examples/workflow-service/README.md): prints each matching event with the ids of its rules.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh" >/dev/null
cd "$root/examples/workflow-service"
echo "\$ weir filter -r rules.yaml events.ndjson" >&2
"$root/build/bindings/cli/weir" filter -r rules.yaml events.ndjson
