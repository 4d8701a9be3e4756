"""A listing page's project links and its next page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag

from scrapers.website.config import SiteConfig
from scrapers.website.pages import (
    absolute_url,
    attr,
    base_url,
    normalise_url,
    parse_page,
    same_site,
)

_PROJECT_WORD = re.compile(r"pro[jyg]e[ckt]?t", re.I)  # project, projet, projekt, proyecto...
_NOT_PROJECT_PATH = re.compile(
    r"/(?:tags?|categor(?:y|ies)|feed|author|search|page/\d+|wp-json|wp-login\.php)(?:/|$)", re.I
)
_PAGINATION_MARK = re.compile(r"paginat|pager|page-numbers|page-link", re.I)
_PAGINATION_RELS = frozenset({"next", "prev", "previous", "first", "last"})
_NEXT_WORDS = frozenset(
    {
        "next",
        "next page",
        "older",
        "older posts",
        "older entries",
        "more projects",
        "suivant",
        "page suivante",
        "weiter",
        "nächste",
        "nächste seite",
        "siguiente",
        "próxima",
        "próximo",
        "successivo",
        "avanti",
    }
)
_ARROWS = frozenset({"\u203a", "\u00bb", "\u2192", ">", ">>"})  # arrow-only link text


def _is_pagination(anchor: Tag) -> bool:
    rels = set(attr(anchor, "rel").lower().split())
    if rels & _PAGINATION_RELS:
        return True
    for node in [anchor, *list(anchor.parents)[:4]]:
        marks = f"{attr(node, 'class')} {attr(node, 'id')} {attr(node, 'aria-label')}"
        if _PAGINATION_MARK.search(marks):
            return True
    return False


def _listing_prefix(start_url: str) -> str:
    path = urlsplit(start_url).path or "/"
    return path if path.endswith("/") else path + "/"


def _looks_like_project(url: str, config: SiteConfig, pattern: re.Pattern[str] | None) -> bool:
    if pattern is not None:
        return bool(pattern.search(url))
    path = urlsplit(url).path
    listing = urlsplit(config.start_url).path
    if path.rstrip("/") == listing.rstrip("/") or _NOT_PROJECT_PATH.search(path):
        return False
    prefix = _listing_prefix(config.start_url)
    under_listing = path.startswith(prefix) and len(path.rstrip("/")) > len(prefix.rstrip("/"))
    return under_listing or bool(_PROJECT_WORD.search(path))


def links_in(soup: BeautifulSoup, page_url: str, config: SiteConfig) -> list[str]:
    base = base_url(soup, page_url)
    pattern = re.compile(config.link_pattern) if config.link_pattern else None
    excluded = {normalise_url(page_url), normalise_url(config.start_url)}
    following = next_in(soup, page_url)
    if following:
        excluded.add(normalise_url(following))
    links: dict[str, str] = {}
    for anchor in soup.find_all("a", href=True):
        if not isinstance(anchor, Tag) or _is_pagination(anchor):
            continue
        url = absolute_url(attr(anchor, "href"), base)
        if url is None or not same_site(url, page_url):
            continue
        key = normalise_url(url)
        if key not in excluded and key not in links and _looks_like_project(url, config, pattern):
            links[key] = url
    return list(links.values())


def project_links(
    html: bytes, page_url: str, config: SiteConfig, *, charset: str | None = None
) -> list[str]:
    """The project pages a listing links to: absolute, same-site, in page order, each once.

    Fragments are stripped; mailto:/javascript: links, other sites, the listing itself and its
    pagination links are left out. With ``config.link_pattern`` a link must match it.
    """
    return links_in(parse_page(html, page_url, charset), page_url, config)


def _is_next_anchor(anchor: Tag) -> bool:
    if "next" in attr(anchor, "rel").lower().split():
        return True
    labels = (anchor.get_text(" "), attr(anchor, "aria-label"), attr(anchor, "title"))
    for label in labels:
        raw = " ".join(label.split()).lower()
        words = re.sub("[\u203a\u00bb\u2192>\u00ab\u2039\u2190<]+", " ", raw).strip()
        if words in _NEXT_WORDS or (raw in _ARROWS and _is_pagination(anchor)):
            return True
    return False


def next_in(soup: BeautifulSoup, page_url: str) -> str | None:
    base = base_url(soup, page_url)
    here = normalise_url(page_url)
    candidates = [
        tag
        for tag in soup.find_all("link", href=True)
        if isinstance(tag, Tag) and "next" in attr(tag, "rel").lower().split()
    ]
    anchors = [tag for tag in soup.find_all("a", href=True) if isinstance(tag, Tag)]
    candidates += [tag for tag in anchors if _is_next_anchor(tag)]
    for tag in candidates:
        url = absolute_url(attr(tag, "href"), base)
        if url and same_site(url, page_url) and normalise_url(url) != here:
            return url
    return None


def next_listing_page(html: bytes, page_url: str, *, charset: str | None = None) -> str | None:
    """The listing's next page (``rel="next"`` or a "Next" link), same-site, or None."""
    return next_in(parse_page(html, page_url, charset), page_url)
