"""Importers: pure parsers over bytes (fetch -> parse) and idempotent storing into `models`."""
