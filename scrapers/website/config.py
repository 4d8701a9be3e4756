"""Website crawling: limits, `PageRejected` and a site's `SiteConfig`."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from soupsieve import SelectorSyntaxError

from scrapers.errors import ImportFailed

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_LISTING_PAGES = 10
FOUND_BY = ("json-ld", "open-graph", "selectors", "html")
SOURCE_ROLE = "website"

PROJECT_TYPES = frozenset({"Project", "ResearchProject"})
FALLBACK_TYPES = frozenset(
    {"Article", "NewsArticle", "BlogPosting", "Report", "WebPage", "ItemPage", "CreativeWork"}
)
MAX_DESCRIPTION = 4000


class PageRejected(ImportFailed):
    """One page that cannot be used: not HTML, larger than 5 MB. ``str()`` is ``URL: reason``."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


def _check_selector(name: str, selector: str) -> None:
    if not selector:
        return
    try:
        BeautifulSoup("", "html.parser").select_one(selector)
    except (SelectorSyntaxError, NotImplementedError) as exc:  # pseudo-elements: unsupported
        raise ValueError(f"{name}: invalid CSS selector {selector!r} ({exc})") from exc


def _check_start_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"start_url: expected an http(s) URL, got {url!r}")


@dataclass(frozen=True)
class SiteConfig:
    """Where a member's projects are listed and how to read its project pages."""

    start_url: str  # the page listing the projects
    # regex a project page's absolute URL must match (re.search); "" = same-site links whose
    # path lies under the listing's path, or contains "project" (or projet/projekt/proyecto...)
    link_pattern: str = ""
    title_selector: str = ""  # CSS selectors, used when JSON-LD and Open Graph give nothing
    description_selector: str = ""
    date_selector: str = ""
    country_selector: str = ""
    max_pages: int = 50  # project pages followed at most
    follow_pagination: bool = True  # rel=next / "Next" links, at most MAX_LISTING_PAGES pages

    def __post_init__(self) -> None:
        _check_start_url(self.start_url)
        if self.link_pattern:
            try:
                re.compile(self.link_pattern)
            except re.error as exc:
                message = f"link_pattern: invalid regex {self.link_pattern!r} ({exc})"
                raise ValueError(message) from exc
        for name in ("title_selector", "description_selector", "date_selector", "country_selector"):
            _check_selector(name, getattr(self, name))
        if self.max_pages < 1:
            raise ValueError(f"max_pages: expected a positive integer, got {self.max_pages}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiteConfig:
        """A config from JSON-like data; ValueError naming unknown keys or the bad value."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(unknown)} (known: {', '.join(known)})")
        if "start_url" not in data:
            raise ValueError("start_url is required")
        for key, value in data.items():
            _check_type(key, value)
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_type(key: str, value: object) -> None:
    if key == "max_pages":
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    elif key == "follow_pagination":
        ok, expected = isinstance(value, bool), "true or false"
    else:
        ok, expected = isinstance(value, str), "a string"
    if not ok:
        raise ValueError(f"{key}: expected {expected}, got {value!r}")
