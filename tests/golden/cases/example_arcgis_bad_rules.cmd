$WEIR check examples/arcgis-portal-webhooks/bad-rules.yaml
