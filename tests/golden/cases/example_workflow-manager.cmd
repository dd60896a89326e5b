$WEIR filter -r examples/workflow-manager/rules.yaml --format ids examples/workflow-manager/events.ndjson
