# Webhook actions load libcurl when first needed (actions/curl_api.h): without it, a rule file
# with a webhook action gets a diagnostic at the action's url; a rule file without webhooks
# loads as before.
export RECEIVER_URL=http://127.0.0.1:9/hook
WEIR_LIBCURL=/nonexistent/libcurl.so.4 $WEIR check examples/arcgis-portal-webhooks/deliver.yaml
echo "rc $?"
WEIR_LIBCURL=/nonexistent/libcurl.so.4 $WEIR check examples/workflow-service/rules.yaml \
  | sed "s/compiled in [0-9.]* ms/compiled in N ms/"
