$WEIR filter -r examples/arcgis-portal-webhooks/rules.yaml --format ids examples/arcgis-portal-webhooks/events.ndjson
