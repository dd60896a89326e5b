$WEIR filter -r examples/workflow-service/rules.yaml examples/workflow-service/events.ndjson
