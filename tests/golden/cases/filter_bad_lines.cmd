# Bad lines are reported, counted and skipped; the stream goes on; exit 1.
errs=$(mktemp)
$WEIR filter -r tests/data/any_a.yaml --errors "$errs" --format ids tests/data/bad_lines.ndjson
echo "rc=$?"
echo "--- errors file:"
cat "$errs"; rm -f "$errs"
