$WEIR explain --help
