$WEIR explain -r examples/workflow-service/rules.yaml --rule no-such-rule examples/workflow-service/events.ndjson
$WEIR explain examples/workflow-service/events.ndjson
