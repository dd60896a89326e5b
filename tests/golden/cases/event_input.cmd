# A byte-order mark before the first event is skipped; a gzip file gets a
# hint once.
t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
printf '\xef\xbb\xbf{"a":1}\n{"a":2}\n' | $WEIR filter -r tests/data/any_a.yaml -f ids; echo "bom: rc=$?"
gzip -c examples/workflow-service/events.ndjson > "$t/events.ndjson.gz"
$WEIR filter -r examples/workflow-service/rules.yaml "$t/events.ndjson.gz" 2>&1 | sed "s#$t#TMP#g" | head -3
