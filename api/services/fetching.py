"""The one Fetcher of a process, configured from the settings."""

from __future__ import annotations

from models.settings import Settings
from scrapers.fetch import Fetcher, FetchPolicy


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_mb * 1024 * 1024,
        min_interval=settings.fetch_min_interval_s,
        cache_dir=settings.fetch_cache_dir,
        allowed_origins=settings.allowed_origins(),
    )


def make_fetcher(settings: Settings) -> Fetcher:
    return Fetcher(fetch_policy(settings))
