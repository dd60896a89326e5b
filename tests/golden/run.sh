#!/usr/bin/env bash
# Golden tests of the weir CLI. Each tests/golden/cases/NAME.cmd is one shell
# command run from the repository root with $WEIR set to the binary; its
# stdout, stderr and exit status must equal NAME.stdout, NAME.stderr, NAME.rc.
#   WEIR=build/bindings/cli/weir bash tests/golden/run.sh            # check
#   WEIR=build/bindings/cli/weir bash tests/golden/run.sh --update   # rewrite
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${WEIR:?set WEIR to the weir binary}"
WEIR=$(cd "$(dirname "$WEIR")" && pwd)/$(basename "$WEIR")
export WEIR HOOK_SECRET=golden-secret
update=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
cd "$root"
for cmd in "$here"/cases/*.cmd; do
  name=$(basename "$cmd" .cmd)
  (cd "$root" && bash "$cmd" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc")
  if [ "$update" = "--update" ]; then
    cp "$tmp/out" "$here/cases/$name.stdout"
    cp "$tmp/err" "$here/cases/$name.stderr"
    cp "$tmp/rc" "$here/cases/$name.rc"
    continue
  fi
  ok=1
  for f in stdout:out stderr:err rc:rc; do
    exp="$here/cases/$name.${f%%:*}"
    if ! diff -u "$exp" "$tmp/${f##*:}" >"$tmp/diff"; then
      ok=0
      echo "--- $name: ${f%%:*} differs"
      head -40 "$tmp/diff"
    fi
  done
  if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
[ "$update" = "--update" ] && { echo "golden files rewritten"; exit 0; }
echo "golden: $pass passed, $fail failed"
[ $fail = 0 ]
