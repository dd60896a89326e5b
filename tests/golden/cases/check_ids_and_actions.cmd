# Rule ids are strings (JSON 12 is a number, YAML 12 is text); action
# diagnostics name the action; an action with a bad setting is still defined
# (no second "unknown action"); $${ is a literal ${.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
cat > "$t/ids.json" <<'JSON'
{"rules": [
  {"id": 12, "filter": {"x": "y"}},
  {"id": null, "filter": {"x": "y"}},
  {"id": ["a"], "filter": {"x": "y"}}
]}
JSON
cat > "$t/actions.yaml" <<'YAML'
rules:
  - id: 12
    filter: {x: y}
    actions: [audit, {file: {path: "${NOPE}"}}]
  - id: literal
    filter: {x: y}
    actions: [{exec: {command: "echo $${HOME}"}}]
actions:
  audit: {file: {path: a.ndjson, mode: append}}
YAML
$WEIR check "$t/ids.json" "$t/actions.yaml" 2>&1 | sed "s#$t#TMP#g"; echo "rc=${PIPESTATUS[0]}"
