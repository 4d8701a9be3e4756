"""HTTP API, CLI and the service layer that joins models, matcher and scrapers."""
