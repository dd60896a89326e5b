$WEIR filter -r tests/data/any_a.yaml --max-event-bytes 20 --max-depth 3 --format ids tests/data/limits.ndjson
