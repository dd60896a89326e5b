$WEIR check tests/data/bad_rules.yaml
