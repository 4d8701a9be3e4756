"""The crawl of a member's website: listing pages, then project pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bs4 import BeautifulSoup

from scrapers.errors import FetchError
from scrapers.records import ProjectRecord
from scrapers.website.config import MAX_LISTING_PAGES, PageRejected, SiteConfig
from scrapers.website.extract import extract_soup
from scrapers.website.jsonld import jsonld_nodes, projects_from_nodes
from scrapers.website.links import links_in, next_in
from scrapers.website.pages import charset_of, normalise_url, parse_page, without_fragment
from scrapers.website.records import PageProject, to_project_record


class FetchedPage(Protocol):
    """What a fetcher returns: the URL after redirects, the body and the Content-Type header."""

    @property
    def url(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...


@dataclass
class CrawlResult:
    projects: list[ProjectRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "URL: reason"
    pages_fetched: int = 0  # fetches that returned a page (listing pages included)
    links_skipped: int = 0  # project links beyond max_pages, not followed


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--"))


def _is_html(content_type: str, content: bytes) -> bool:
    mime = content_type.split(";")[0].strip().lower()
    return mime in _HTML_TYPES if mime else _looks_like_html(content)


def _fetch_soup(
    fetch: Callable[[str], FetchedPage], url: str, result: CrawlResult
) -> tuple[str, BeautifulSoup]:
    """(URL after redirects, parsed page); FetchError or PageRejected when unusable."""
    page = fetch(url)
    result.pages_fetched += 1
    final_url = without_fragment(page.url or url)
    if not _is_html(page.content_type, page.content):
        kind = page.content_type.split(";")[0].strip() or "unknown type"
        raise PageRejected(url, f"not an HTML page ({kind})")
    return final_url, parse_page(page.content, url, charset_of(page.content_type))


def _crawl_listing(
    config: SiteConfig, fetch: Callable[[str], FetchedPage], result: CrawlResult
) -> tuple[list[str], list[PageProject]]:
    """Project links and inline JSON-LD projects of the listing and its next pages."""
    links: dict[str, str] = {}
    inline: list[PageProject] = []
    visited: set[str] = set()
    url: str | None = config.start_url
    while url and len(visited) < MAX_LISTING_PAGES and normalise_url(url) not in visited:
        visited.add(normalise_url(url))
        try:
            final_url, soup = _fetch_soup(fetch, url, result)
        except (FetchError, PageRejected) as exc:
            if url == config.start_url:
                raise  # no listing, no crawl
            result.rejected.append(f"{url}: {exc.reason}")
            break
        visited.add(normalise_url(final_url))
        for link in links_in(soup, final_url, config):
            links.setdefault(normalise_url(link), link)
        inline += projects_from_nodes(jsonld_nodes(soup), final_url)
        url = next_in(soup, final_url) if config.follow_pagination else None
    return list(links.values()), inline


class _Collected:
    """Projects kept once each: by normalised URL, and by title for the listing's own."""

    def __init__(self) -> None:
        self.projects: dict[str, PageProject] = {}

    def add(self, project: PageProject) -> None:
        self.projects.setdefault(normalise_url(project.url, keep_fragment=True), project)

    def add_if_new(self, project: PageProject) -> None:
        titles = {p.title.casefold() for p in self.projects.values()}
        if project.title.casefold() not in titles:
            self.add(project)


def _crawl_page(
    link: str,
    config: SiteConfig,
    fetch: Callable[[str], FetchedPage],
    result: CrawlResult,
    collected: _Collected,
) -> None:
    try:
        final_url, soup = _fetch_soup(fetch, link, result)
    except (FetchError, PageRejected) as exc:
        result.rejected.append(f"{link}: {exc.reason}")
        return
    projects = extract_soup(soup, final_url, config)
    if not projects:
        result.rejected.append(f"{link}: no project found")
    for project in projects:
        collected.add(project)


def crawl_site(
    config: SiteConfig,
    fetch: Callable[[str], FetchedPage],
    *,
    member_external_id: str,
    source: str = "website",
    progress: Callable[[int], None] | None = None,
) -> CrawlResult:
    """The member's projects as its website lists them.

    The listing (and, with ``follow_pagination``, up to `MAX_LISTING_PAGES` of its pages) gives
    the project links; at most ``max_pages`` of them are fetched. A listing that cannot be fetched
    or read raises (`FetchError`, `PageRejected`): the crawl fails as a whole. A project page that
    cannot be fetched, is not HTML or holds no project is listed in ``rejected`` as ``URL: reason``
    and the crawl goes on. JSON-LD projects on the listing itself count too, unless a project page
    gave the same URL or title. ``progress`` is called with the number of project pages done.
    """
    result = CrawlResult()
    links, inline = _crawl_listing(config, fetch, result)
    followed = links[: config.max_pages]
    result.links_skipped = len(links) - len(followed)
    collected = _Collected()
    for done, link in enumerate(followed, start=1):
        _crawl_page(link, config, fetch, result, collected)
        if progress is not None:
            progress(done)
    for project in inline:
        collected.add_if_new(project)
    result.projects = [
        to_project_record(project, member_external_id=member_external_id, source=source)
        for project in collected.projects.values()
    ]
    return result
