"""Service functions: the one place each read or write is implemented (routes and CLI call them)."""
