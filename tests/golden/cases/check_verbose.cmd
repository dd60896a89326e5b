$WEIR check -v tests/data/any_a.yaml | sed 's/compiled in [0-9.]* ms/compiled in N ms/'
