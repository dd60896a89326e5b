$WEIR check examples/workflow-service/rules.yaml | sed 's/compiled in [0-9.]* ms/compiled in N ms/'
