$WEIR explain -r examples/uipath-orchestrator/rules.yaml --rule faulted-bench-jobs --rule bench-robot-jobs --rule completed-with-large-sum examples/uipath-orchestrator/events.ndjson
