# Output order equals input order with threads too.
$WEIR filter -r examples/workflow-service/rules.yaml --threads 3 --format ids examples/workflow-service/events.ndjson
