"""Website pages: URLs and the parsing helpers shared by links, JSON-LD and extraction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag
from bs4.exceptions import ParserRejectedMarkup

from scrapers.eu_portal import one_line
from scrapers.website.config import MAX_DESCRIPTION, MAX_PAGE_BYTES, PageRejected

# --- URLs ---------------------------------------------------------------------------------------


def normalise_url(url: str, *, keep_fragment: bool = False) -> str:
    """Scheme and host lower-cased, default port and trailing slash dropped, no fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, parts.query, fragment))


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def absolute_url(href: str, base: str) -> str | None:
    """An http(s) URL without its fragment, or None (mailto:, javascript:, unparseable...)."""
    try:
        url = without_fragment(urljoin(base, href.strip()))
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def same_site(url: str, other: str) -> bool:
    return _site(url) == _site(other)


# --- parsing helpers ----------------------------------------------------------------------------


def charset_of(content_type: str) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


# A void element written without its slash (``<br>``) stays on a list that bs4's html.parser
# builder scans at every end tag: parsing time grows with the square of their number (80 s for
# 5 MB of ``<br>``-rich text). Written as ``<br />`` it never gets onto that list.
_VOID_TAG = re.compile(
    rb"<(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)(?=[\s/>])([^<>]*?)(?<!/)>",
    re.I,
)


def parse_page(html: bytes, page_url: str, charset: str | None = None) -> BeautifulSoup:
    if len(html) > MAX_PAGE_BYTES:
        raise PageRejected(page_url, "page larger than 5 MB")
    try:
        return BeautifulSoup(
            _VOID_TAG.sub(rb"<\1\2 />", html), "html.parser", from_encoding=charset
        )
    except ParserRejectedMarkup as exc:
        raise PageRejected(page_url, f"unreadable HTML ({exc})") from exc


def attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def base_url(soup: BeautifulSoup, page_url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        return absolute_url(attr(base, "href"), page_url) or page_url
    return page_url


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"\s+([,.;:!?)])", r"\1", text)


def tag_text(tag: Tag) -> str:
    return _one_line(tag.get_text(" "))


def own_text(paragraph: Tag) -> str:
    """A paragraph's text without that of paragraphs nested in it (unclosed ``<p>`` tags)."""
    name = paragraph.name
    strings = (s for s in paragraph.strings if s.find_parent(name) is paragraph)
    return _one_line(" ".join(strings))


def block_text(tag: Tag) -> str:
    """A tag's text, its paragraphs kept apart by blank lines."""
    paragraphs = [own_text(p) for p in tag.find_all(["p", "li"]) if isinstance(p, Tag)]
    paragraphs = [p for p in paragraphs if p]
    return "\n\n".join(paragraphs) if paragraphs else tag_text(tag)


def clean_block(text: str) -> str:
    """JSON-LD or meta text -> paragraphs of plain text (HTML and entities removed)."""
    text = unescape(text)  # escaped markup ("&lt;strong&gt;") is markup too
    paragraphs = (one_line(part) for part in re.split(r"\n\s*\n|<br\s*/?>\s*<br\s*/?>|</p>", text))
    return "\n\n".join(p for p in paragraphs if p)[:MAX_DESCRIPTION]


def inside(tag: Tag, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(parent.name in wanted for parent in tag.parents)
