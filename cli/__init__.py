"""The `casewise` command line: parses options, calls app/, prints. Nothing else lives here."""
