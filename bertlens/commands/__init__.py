"""One module per command-line verb; each has `register(subparsers, common)`."""
