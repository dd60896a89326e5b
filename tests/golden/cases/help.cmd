$WEIR --help && $WEIR filter --help && $WEIR check --help
