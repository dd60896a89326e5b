$WEIR filter -r examples/workflow-service/rules.yaml --format count examples/workflow-service/events.ndjson
