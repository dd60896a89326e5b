$WEIR check tests/data/bad_actions.yaml
