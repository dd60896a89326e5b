$WEIR filter -r examples/workflow-service/rules.yaml --format ids examples/workflow-service/events.ndjson
