$WEIR filter -r examples/workflow-service/rules.yaml --format ids examples/workflow-service/events.ndjson - < tests/data/bad_lines.ndjson
