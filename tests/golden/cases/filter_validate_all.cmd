# --validate all also catches bad lines that match nothing.
$WEIR filter -r tests/data/any_a.yaml --validate all --format ids tests/data/bad_lines.ndjson
