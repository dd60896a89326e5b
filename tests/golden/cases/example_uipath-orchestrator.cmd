$WEIR filter -r examples/uipath-orchestrator/rules.yaml --format ids examples/uipath-orchestrator/events.ndjson
