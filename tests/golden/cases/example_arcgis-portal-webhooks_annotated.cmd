$WEIR filter -r examples/arcgis-portal-webhooks/rules.yaml examples/arcgis-portal-webhooks/events.ndjson
