$WEIR explain -r examples/workflow-service/rules.yaml --json - < examples/workflow-service/events.ndjson
