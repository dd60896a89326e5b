$WEIR filter -r examples/workflow-service/rules.yaml --format event < examples/workflow-service/events.ndjson
