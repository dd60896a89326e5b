#!/usr/bin/env bash
# Fetch and prepare the weir benchmark data sets.
#
#   bench/fetch_data.sh            # writes into bench/data/ (git-ignored)
#   WEIR_BENCH_DATA=/some/dir bench/fetch_data.sh
#
# Produces (all one JSON object per line, '\n'-terminated):
#   citylots.ndjson        206,560 GeoJSON features of SF City Lots, from the npm package
#                          simdjson@0.9.2 (jsonexamples/sf_citylots.json.gz)
#   octokit.ndjson         every example payload of @octokit/webhooks-examples@7.6.1
#                          (api.github.com and ghes-3{1..5}), compact, in package order
#   octokit-100mb.ndjson   octokit.ndjson replayed line by line until >= 100,000,000 bytes
#
# Only the Debian and npm registries are needed (`npm pack`). Idempotent: tarballs and
# outputs are verified by sha256 and kept; anything already present and verified is skipped.
# Any checksum or count mismatch is a hard error.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${WEIR_BENCH_DATA:-$here/data}"
mkdir -p "$data"
data="$(cd "$data" && pwd)"

# --- pinned inputs and outputs ----------------------------------------------------------------
SIMDJSON_PKG="simdjson@0.9.2"
SIMDJSON_TGZ="simdjson-0.9.2.tgz"
SIMDJSON_SHA256="e14b0719df38e2ad6c465faf307dcb9182a0029b01ddae07b740b010a9ed46bb"

OCTOKIT_PKG="@octokit/webhooks-examples@7.6.1"
OCTOKIT_TGZ="octokit-webhooks-examples-7.6.1.tgz"
OCTOKIT_SHA256="89e6cb1c6345d32e3dd775617fa54effbdc26c859e514898d7728e95e9738280"
OCTOKIT_FILES=(api.github.com ghes-31 ghes-32 ghes-33 ghes-34 ghes-35)   # package/<dir>/index.json

CITYLOTS_LINES=206560
CITYLOTS_BYTES=189365052
CITYLOTS_SHA256="ebb68f6274c4e5fa1db5afca8d03df8ea4466368d2e089a5a42d370338030ad3"
OCTOKIT_LINES=726
OCTOKIT_BYTES=6948009
OCTOKIT_NDJSON_SHA256="902ddbe829879e47b58e40a1b5b8e8263ad4ccc361a46bb56acff334812e19f9"
REPLAY_MIN_BYTES=100000000
REPLAY_LINES=10422
REPLAY_BYTES=100004072
REPLAY_SHA256="e35822984caf7beebfe1ffc14f97c8c1f854d064048e8eb2d4ae092f3170d90b"

# --- helpers ----------------------------------------------------------------------------------
die() { echo "fetch_data.sh: error: $*" >&2; exit 1; }
log() { echo "fetch_data.sh: $*" >&2; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed"; }

tmp="$(mktemp -d "$data/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# verified FILE SHA256 LINES BYTES: the file exists and has exactly this content.
verified() {
  local f="$1" sum="$2" lines="$3" bytes="$4"
  [[ -f "$f" ]] || return 1
  [[ "$(stat -c %s "$f")" == "$bytes" ]] || return 1
  [[ "$(wc -l <"$f")" -eq "$lines" ]] || return 1
  [[ "$(sha256 "$f")" == "$sum" ]] || return 1
}

# check_output TMPFILE FINAL SHA256 LINES BYTES: verify a freshly built file, then move it in place.
check_output() {
  local t="$1" f="$2" sum="$3" lines="$4" bytes="$5" got
  got="$(wc -l <"$t")"
  [[ "$got" -eq "$lines" ]] || die "$(basename "$f"): expected $lines lines, got $got"
  got="$(stat -c %s "$t")"
  [[ "$got" == "$bytes" ]] || die "$(basename "$f"): expected $bytes bytes, got $got"
  got="$(sha256 "$t")"
  [[ "$got" == "$sum" ]] || die "$(basename "$f"): sha256 mismatch: expected $sum, got $got"
  mv -f "$t" "$f"
  log "wrote $f ($lines lines, $bytes bytes)"
}

# fetch_tgz SPEC FILE SHA256: make sure $data/FILE is the npm tarball with that sha256.
fetch_tgz() {
  local spec="$1" file="$2" sum="$3" got
  if [[ -f "$data/$file" && "$(sha256 "$data/$file")" == "$sum" ]]; then
    return 0
  fi
  need npm
  log "npm pack $spec"
  (cd "$tmp" && npm pack --ignore-scripts --silent "$spec" >/dev/null)
  [[ -f "$tmp/$file" ]] || die "npm pack $spec did not produce $file"
  got="$(sha256 "$tmp/$file")"
  if [[ "$got" != "$sum" ]]; then
    die "sha256 of $file from npm is $got, expected $sum (refusing to use it)"
  fi
  mv -f "$tmp/$file" "$data/$file"
}

need sha256sum
need tar
need gzip

# --- CityLots ---------------------------------------------------------------------------------
if verified "$data/citylots.ndjson" "$CITYLOTS_SHA256" "$CITYLOTS_LINES" "$CITYLOTS_BYTES"; then
  log "citylots.ndjson: present and verified"
else
  fetch_tgz "$SIMDJSON_PKG" "$SIMDJSON_TGZ" "$SIMDJSON_SHA256"
  tar -xzf "$data/$SIMDJSON_TGZ" -C "$tmp" package/jsonexamples/sf_citylots.json.gz
  # One feature per line in the original file; strip trailing whitespace (\r, spaces).
  gzip -dc "$tmp/package/jsonexamples/sf_citylots.json.gz" \
    | { grep '^{ "type": "Feature"' || true; } \
    | sed 's/[[:space:]]*$//' >"$tmp/citylots.ndjson"
  check_output "$tmp/citylots.ndjson" "$data/citylots.ndjson" \
    "$CITYLOTS_SHA256" "$CITYLOTS_LINES" "$CITYLOTS_BYTES"
fi

# --- Octokit webhook examples -----------------------------------------------------------------
if verified "$data/octokit.ndjson" "$OCTOKIT_NDJSON_SHA256" "$OCTOKIT_LINES" "$OCTOKIT_BYTES"; then
  log "octokit.ndjson: present and verified"
else
  fetch_tgz "$OCTOKIT_PKG" "$OCTOKIT_TGZ" "$OCTOKIT_SHA256"
  tar -xzf "$data/$OCTOKIT_TGZ" -C "$tmp"
  : >"$tmp/octokit.ndjson"
  # Layout: package/<api>/index.json = [{name, description, actions, properties, examples: [payload...]}...]
  for d in "${OCTOKIT_FILES[@]}"; do
    src="$tmp/package/$d/index.json"
    [[ -f "$src" ]] || die "$OCTOKIT_TGZ has no package/$d/index.json"
    if command -v jq >/dev/null 2>&1; then
      jq -c '.[].examples[]' "$src" >>"$tmp/octokit.ndjson"
    else
      need node
      node -e '
        const fs = require("fs");
        const out = [];
        for (const ev of JSON.parse(fs.readFileSync(process.argv[1], "utf8")))
          for (const ex of ev.examples) out.push(JSON.stringify(ex) + "\n");
        fs.appendFileSync(process.argv[2], out.join(""));' "$src" "$tmp/octokit.ndjson"
    fi
  done
  check_output "$tmp/octokit.ndjson" "$data/octokit.ndjson" \
    "$OCTOKIT_NDJSON_SHA256" "$OCTOKIT_LINES" "$OCTOKIT_BYTES"
fi

# --- Octokit replayed to >= 100 MB ------------------------------------------------------------
if verified "$data/octokit-100mb.ndjson" "$REPLAY_SHA256" "$REPLAY_LINES" "$REPLAY_BYTES"; then
  log "octokit-100mb.ndjson: present and verified"
else
  # Whole passes over octokit.ndjson, stopping after the first line that reaches the target.
  awk -v min="$REPLAY_MIN_BYTES" '
    { lines[NR] = $0 }
    END {
      if (NR == 0) exit 1
      total = 0
      for (;;) for (i = 1; i <= NR; i++) {
        print lines[i]; total += length(lines[i]) + 1
        if (total >= min) exit 0
      }
    }' "$data/octokit.ndjson" >"$tmp/octokit-100mb.ndjson"
  check_output "$tmp/octokit-100mb.ndjson" "$data/octokit-100mb.ndjson" \
    "$REPLAY_SHA256" "$REPLAY_LINES" "$REPLAY_BYTES"
fi

log "data ready in $data"
