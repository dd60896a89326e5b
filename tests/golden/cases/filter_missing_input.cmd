# One input that cannot be read among several: reported, the others are
# processed; exit 2 (an unreadable input outranks bad lines).
r=examples/workflow-service/rules.yaml
$WEIR filter -r $r -f ids examples/workflow-service/events.ndjson /nonexistent.ndjson tests/data/bad_lines.ndjson; echo "rc=$?"
