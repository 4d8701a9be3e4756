"""Matching engine: plain data in, scores out (no database, no HTTP)."""
