"""A member's own website: the pages that list its projects become projects of that member.

Pure functions over HTML bytes plus one crawl function that is handed a fetch callable, so that
no network code lives here (the caller passes a real fetcher with its SSRF guard, robots.txt
check, timeouts and size cap).

What one page says about a project is read, in this order of preference:

1. schema.org JSON-LD (``<script type="application/ld+json">``, ``@graph`` arrays and lists
   included): ``Project`` and ``ResearchProject`` nodes, with ``name``, ``description``,
   ``startDate``/``foundingDate``, ``endDate``, ``areaServed``/``location``/``spatialCoverage``
   (countries) and ``keywords``. A page holding several such nodes yields several projects.
   Malformed JSON-LD is skipped, never fatal.
2. Open Graph (``og:title``, ``og:description``) and ``<meta name="description">``.
3. The CSS selectors of the site's `SiteConfig`.
4. ``Article``/``WebPage`` JSON-LD nodes (title and description only).
5. The page itself: its ``<h1>`` and the first substantial paragraphs of ``<main>``/``<article>``.

A site-name suffix (``"Malaria nets | Health Org"``) is taken off titles when the site names
itself (``og:site_name`` or a JSON-LD ``WebSite`` node). HTML is parsed with the standard
library's parser (``html.parser``), so broken markup degrades instead of failing; pages above
5 MB are refused. Text is decoded with the charset of the Content-Type header when given, else
the page's ``<meta charset>``, else bs4's detection.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from html import unescape
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag
from bs4.exceptions import ParserRejectedMarkup
from soupsieve import SelectorSyntaxError

from models.project import ParticipantRole
from scrapers.dates import parse_date
from scrapers.errors import FetchError, ImportFailed
from scrapers.eu_portal import one_line
from scrapers.records import ParticipantRecord, ProjectRecord
from scrapers.spreadsheet import country_code, slug, split_list

__all__ = [
    "FOUND_BY",
    "MAX_LISTING_PAGES",
    "MAX_PAGE_BYTES",
    "CrawlResult",
    "FetchedPage",
    "PageProject",
    "PageRejected",
    "SiteConfig",
    "crawl_site",
    "dates_in_text",
    "extract_projects",
    "jsonld_projects",
    "next_listing_page",
    "normalise_url",
    "project_links",
    "to_project_record",
]

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_LISTING_PAGES = 10
FOUND_BY = ("json-ld", "open-graph", "selectors", "html")
SOURCE_ROLE = "website"

PROJECT_TYPES = frozenset({"Project", "ResearchProject"})
FALLBACK_TYPES = frozenset(
    {"Article", "NewsArticle", "BlogPosting", "Report", "WebPage", "ItemPage", "CreativeWork"}
)
_MAX_JSONLD_DEPTH = 12
_MAX_DESCRIPTION = 4000
_MIN_PARAGRAPH = 40
_MAX_PARAGRAPHS = 3


class PageRejected(ImportFailed):
    """One page that cannot be used: not HTML, larger than 5 MB. ``str()`` is ``URL: reason``."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


# --- configuration ------------------------------------------------------------------------------


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


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _absolute(href: str, base: str) -> str | None:
    """An http(s) URL without its fragment, or None (mailto:, javascript:, unparseable...)."""
    try:
        url = _without_fragment(urljoin(base, href.strip()))
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _same_site(url: str, other: str) -> bool:
    return _site(url) == _site(other)


# --- parsing helpers ----------------------------------------------------------------------------


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


# A void element written without its slash (``<br>``) stays on a list that bs4's html.parser
# builder scans at every end tag: parsing time grows with the square of their number (80 s for
# 5 MB of ``<br>``-rich text). Written as ``<br />`` it never gets onto that list.
_VOID_TAG = re.compile(
    rb"<(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)(?=[\s/>])([^<>]*?)(?<!/)>",
    re.I,
)


def _soup(html: bytes, page_url: str, charset: str | None = None) -> BeautifulSoup:
    if len(html) > MAX_PAGE_BYTES:
        raise PageRejected(page_url, "page larger than 5 MB")
    try:
        return BeautifulSoup(
            _VOID_TAG.sub(rb"<\1\2 />", html), "html.parser", from_encoding=charset
        )
    except ParserRejectedMarkup as exc:
        raise PageRejected(page_url, f"unreadable HTML ({exc})") from exc


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _base_url(soup: BeautifulSoup, page_url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        return _absolute(_attr(base, "href"), page_url) or page_url
    return page_url


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"\s+([,.;:!?)])", r"\1", text)


def _tag_text(tag: Tag) -> str:
    return _one_line(tag.get_text(" "))


def _own_text(paragraph: Tag) -> str:
    """A paragraph's text without that of paragraphs nested in it (unclosed ``<p>`` tags)."""
    name = paragraph.name
    strings = (s for s in paragraph.strings if s.find_parent(name) is paragraph)
    return _one_line(" ".join(strings))


def _block_text(tag: Tag) -> str:
    """A tag's text, its paragraphs kept apart by blank lines."""
    paragraphs = [_own_text(p) for p in tag.find_all(["p", "li"]) if isinstance(p, Tag)]
    paragraphs = [p for p in paragraphs if p]
    return "\n\n".join(paragraphs) if paragraphs else _tag_text(tag)


def _clean_block(text: str) -> str:
    """JSON-LD or meta text -> paragraphs of plain text (HTML and entities removed)."""
    text = unescape(text)  # escaped markup ("&lt;strong&gt;") is markup too
    paragraphs = (one_line(part) for part in re.split(r"\n\s*\n|<br\s*/?>\s*<br\s*/?>|</p>", text))
    return "\n\n".join(p for p in paragraphs if p)[:_MAX_DESCRIPTION]


def _inside(tag: Tag, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(parent.name in wanted for parent in tag.parents)


# --- links --------------------------------------------------------------------------------------

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
    rels = set(_attr(anchor, "rel").lower().split())
    if rels & _PAGINATION_RELS:
        return True
    for node in [anchor, *list(anchor.parents)[:4]]:
        marks = f"{_attr(node, 'class')} {_attr(node, 'id')} {_attr(node, 'aria-label')}"
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


def _links_in(soup: BeautifulSoup, page_url: str, config: SiteConfig) -> list[str]:
    base = _base_url(soup, page_url)
    pattern = re.compile(config.link_pattern) if config.link_pattern else None
    excluded = {normalise_url(page_url), normalise_url(config.start_url)}
    following = _next_in(soup, page_url)
    if following:
        excluded.add(normalise_url(following))
    links: dict[str, str] = {}
    for anchor in soup.find_all("a", href=True):
        if not isinstance(anchor, Tag) or _is_pagination(anchor):
            continue
        url = _absolute(_attr(anchor, "href"), base)
        if url is None or not _same_site(url, page_url):
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
    return _links_in(_soup(html, page_url, charset), page_url, config)


def _is_next_anchor(anchor: Tag) -> bool:
    if "next" in _attr(anchor, "rel").lower().split():
        return True
    labels = (anchor.get_text(" "), _attr(anchor, "aria-label"), _attr(anchor, "title"))
    for label in labels:
        raw = " ".join(label.split()).lower()
        words = re.sub("[\u203a\u00bb\u2192>\u00ab\u2039\u2190<]+", " ", raw).strip()
        if words in _NEXT_WORDS or (raw in _ARROWS and _is_pagination(anchor)):
            return True
    return False


def _next_in(soup: BeautifulSoup, page_url: str) -> str | None:
    base = _base_url(soup, page_url)
    here = normalise_url(page_url)
    candidates = [
        tag
        for tag in soup.find_all("link", href=True)
        if isinstance(tag, Tag) and "next" in _attr(tag, "rel").lower().split()
    ]
    anchors = [tag for tag in soup.find_all("a", href=True) if isinstance(tag, Tag)]
    candidates += [tag for tag in anchors if _is_next_anchor(tag)]
    for tag in candidates:
        url = _absolute(_attr(tag, "href"), base)
        if url and _same_site(url, page_url) and normalise_url(url) != here:
            return url
    return None


def next_listing_page(html: bytes, page_url: str, *, charset: str | None = None) -> str | None:
    """The listing's next page (``rel="next"`` or a "Next" link), same-site, or None."""
    return _next_in(_soup(html, page_url, charset), page_url)


# --- JSON-LD ------------------------------------------------------------------------------------


def _strip_script(text: str) -> str:
    text = text.strip()
    text = re.sub(r"^(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>$", "", text).strip()
    return re.sub(r"^<!--|-->$", "", text).strip()


def _jsonld_documents(soup: BeautifulSoup) -> Iterator[Any]:
    for script in soup.find_all("script"):
        if not isinstance(script, Tag):
            continue
        if _attr(script, "type").split(";")[0].strip().lower() != "application/ld+json":
            continue
        try:
            yield json.loads(_strip_script(script.get_text()), strict=False)
        except (ValueError, RecursionError):
            continue  # malformed JSON-LD is skipped


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type", [])
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str)}


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON-LD node reachable from ``value``, not looking inside project nodes."""
    if depth > _MAX_JSONLD_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        if _types(value) & PROJECT_TYPES:
            return
        for key, item in value.items():
            if key != "@context" and isinstance(item, dict | list):
                yield from _walk(item, depth + 1)


def _jsonld_nodes(soup: BeautifulSoup) -> list[dict[str, Any]]:
    return [node for document in _jsonld_documents(soup) for node in _walk(document)]


def _jtext(value: Any) -> str:
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, list):
        return next((text for text in map(_jtext, value) if text), "")
    if isinstance(value, dict):
        return _jtext(value.get("@value") or value.get("name"))
    return ""


_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def _jdate(value: Any, *, end: bool = False) -> date | None:
    """An ISO date, date-time, year-month or year; year and month round outwards for an end."""
    text = _jtext(value)
    match = _YEAR_MONTH.match(text)
    try:
        if match:
            return _partial_date(int(match.group(1)), match.group(2), end=end)
        return parse_date(text) if text else None
    except ValueError:
        return None


def _partial_date(year: int, month: str | None, *, end: bool) -> date:
    if month is None:
        return date(year, 12, 31) if end else date(year, 1, 1)
    number = int(month)
    day = calendar.monthrange(year, number)[1] if end else 1
    return date(year, number, day)


def _country_candidates(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _country_candidates(item)
    elif isinstance(value, dict):
        for key in ("addressCountry", "address", "name"):
            yield from _country_candidates(value.get(key))


def _country(text: str) -> str | None:
    """ISO alpha-2 for a country name or code, or for the last part of "Nairobi, Kenya"."""
    for candidate in (text, text.rsplit(",", 1)[-1]):
        candidate = candidate.strip()
        if not candidate:
            continue
        try:
            return country_code(candidate)
        except ValueError:
            continue
    return None


def _countries(texts: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for text in texts:
        code = _country(text)
        if code:
            found.setdefault(code, None)
    return tuple(found)


def _jkeywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = list(split_list(one_line(value)))
    elif isinstance(value, list):
        items = [_jtext(item) for item in value]
    else:
        items = []
    return tuple(dict.fromkeys(item for item in items if item))


def _node_url(node: dict[str, Any], base: str) -> str | None:
    for key in ("url", "mainEntityOfPage", "@id"):
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and (url := _absolute(value, base)):
            if key == "@id" and "#" in value and normalise_url(url) == normalise_url(base):
                continue  # "#project" names the node, not a page of its own
            return url
    return None


def _project_from_node(node: dict[str, Any], page_url: str, *, several: bool) -> PageProject | None:
    title = _jtext(node.get("name")) or _jtext(node.get("headline"))
    if not title:
        return None
    url = _node_url(node, page_url) or page_url
    if several and normalise_url(url) == normalise_url(page_url):
        url = f"{page_url}#{slug(title) or 'project'}"  # one page, several projects: tell apart
    places = (node.get(key) for key in ("areaServed", "location", "spatialCoverage"))
    return PageProject(
        url=url,
        title=title,
        description=_clean_block(_jtext_raw(node.get("description") or node.get("abstract"))),
        start_date=_jdate(node.get("startDate")) or _jdate(node.get("foundingDate")),
        end_date=_jdate(node.get("endDate"), end=True),
        countries=_countries(c for place in places for c in _country_candidates(place)),
        keywords=_jkeywords(node.get("keywords")),
        found_by="json-ld",
    )


def _jtext_raw(value: Any) -> str:
    """Like `_jtext` but keeps line breaks, for descriptions."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((text for text in map(_jtext_raw, value) if text.strip()), "")
    if isinstance(value, dict):
        return _jtext_raw(value.get("@value") or value.get("name"))
    return ""


def _projects_from_nodes(nodes: list[dict[str, Any]], page_url: str) -> list[PageProject]:
    project_nodes = [node for node in nodes if _types(node) & PROJECT_TYPES]
    several = len(project_nodes) > 1
    found = (_project_from_node(node, page_url, several=several) for node in project_nodes)
    return [project for project in found if project is not None]


def jsonld_projects(html: bytes, page_url: str, *, charset: str | None = None) -> list[PageProject]:
    """Only the schema.org Project/ResearchProject objects of a page (e.g. of a listing)."""
    page_url = _without_fragment(page_url)
    return _projects_from_nodes(_jsonld_nodes(_soup(html, page_url, charset)), page_url)


# --- Open Graph, selectors, plain HTML ----------------------------------------------------------


def _meta(soup: BeautifulSoup, key: str) -> str:
    for attribute in ("property", "name"):
        tag = soup.find("meta", attrs={attribute: key})
        if isinstance(tag, Tag) and (content := one_line(_attr(tag, "content"))):
            return content
    return ""


def _site_name(soup: BeautifulSoup, nodes: list[dict[str, Any]]) -> str:
    name = _meta(soup, "og:site_name")
    if name:
        return name
    return next((_jtext(n.get("name")) for n in nodes if "WebSite" in _types(n)), "")


def _strip_site_name(title: str, site: str) -> str:
    if not site:
        return title
    separators = "\\s+[|\\-\u2013\u2014\u00b7\u2022:]\\s+"  # | - en dash, em dash, dots, colon
    stripped = re.sub(f"{separators}{re.escape(site)}$", "", title, flags=re.I)
    stripped = re.sub(f"^{re.escape(site)}{separators}", "", stripped, flags=re.I)
    return stripped.strip() or title


def _select(soup: BeautifulSoup, selector: str) -> Tag | None:
    return soup.select_one(selector) if selector else None


def _select_text(soup: BeautifulSoup, selector: str) -> str:
    tag = _select(soup, selector)
    return _tag_text(tag) if tag is not None else ""


_LAYOUT = ("header", "nav", "footer", "aside", "form", "script", "style", "noscript")


def _main_container(soup: BeautifulSoup) -> Tag | None:
    for selector in ("main", "article", "[role=main]", "body"):
        tag = soup.select_one(selector)
        if tag is not None:
            return tag
    return None


def _main_heading(soup: BeautifulSoup, site: str) -> str:
    headings = [h for h in soup.find_all("h1") if isinstance(h, Tag)]
    headings.sort(key=lambda h: _inside(h, _LAYOUT))  # stable: content headings first
    for heading in headings:
        text = _tag_text(heading)
        if text and text.casefold() != site.casefold():
            return text
    return ""


def _main_paragraphs(soup: BeautifulSoup) -> str:
    container = _main_container(soup)
    if container is None:
        return ""
    chosen: list[str] = []
    for paragraph in container.find_all("p"):
        if not isinstance(paragraph, Tag) or _inside(paragraph, _LAYOUT):
            continue
        text = _own_text(paragraph)
        if len(text) >= _MIN_PARAGRAPH:
            chosen.append(text)
        if len(chosen) == _MAX_PARAGRAPHS:
            break
    return "\n\n".join(chosen)[:_MAX_DESCRIPTION]


_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_TEXT_DATE = re.compile(
    rf"\b(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})\b"
    rf"|\b(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dm>{_MONTH})\.?,?\s+(?P<dy>\d{{4}})\b"
    rf"|\b(?P<mm>{_MONTH})\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?,\s*(?P<my>\d{{4}})\b"
    rf"|\b(?P<om>{_MONTH})\.?\s+(?P<oy>\d{{4}})\b"
    rf"|\b(?P<year>(?:19|20)\d{{2}})\b",
    re.I,
)
_MONTHS = {name[:3]: number for number, name in enumerate(calendar.month_name) if name}


def _month(name: str) -> int:
    return _MONTHS[name[:3].capitalize()]


def _date_span(match: re.Match[str]) -> tuple[date, date]:
    """The first and last day a date written in text may mean."""
    g = match.groupdict()
    if g["iy"]:
        day = date(int(g["iy"]), int(g["im"]), int(g["id"]))
        return day, day
    if g["dd"]:
        day = date(int(g["dy"]), _month(g["dm"]), int(g["dd"]))
        return day, day
    if g["mm"]:
        day = date(int(g["my"]), _month(g["mm"]), int(g["md"]))
        return day, day
    if g["om"]:
        year, month = int(g["oy"]), _month(g["om"])
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    year = int(g["year"])
    return date(year, 1, 1), date(year, 12, 31)


def dates_in_text(text: str) -> list[tuple[date, date]]:
    """Dates written in text ("1 March 2021", "March 2021", "2021-03-01", "2021"), as spans."""
    spans = []
    for match in _TEXT_DATE.finditer(text):
        try:
            spans.append(_date_span(match))
        except ValueError:
            continue  # 31 February and the like
    return spans


def _selector_dates(soup: BeautifulSoup, selector: str) -> tuple[date | None, date | None]:
    tag = _select(soup, selector)
    if tag is None:
        return None, None
    times = [tag] if tag.name == "time" else [t for t in tag.find_all("time") if isinstance(t, Tag)]
    stamps = [_jdate(_attr(t, "datetime")) for t in times if _attr(t, "datetime")]
    spans = [(d, d) for d in stamps if d] or dates_in_text(_tag_text(tag))
    if not spans:
        return None, None
    return spans[0][0], (spans[1][1] if len(spans) > 1 else None)


def _selector_countries(soup: BeautifulSoup, selector: str) -> tuple[str, ...]:
    tag = _select(soup, selector)
    if tag is None:
        return ()
    parts = re.split(r"\s*(?:[,;/|\n•·]|\band\b|&)\s*", tag.get_text("\n"))
    return _countries(part for part in parts if part.strip())


_ERROR_TITLE = re.compile(
    r"^(?:404\b|page not found|not found|error\b|access denied|forbidden|an error occurred)", re.I
)


def _title(
    soup: BeautifulSoup, config: SiteConfig, fallback_nodes: list[dict[str, Any]], site: str
) -> tuple[str, str]:
    """The page's project title and where it was found."""
    candidates: tuple[tuple[Callable[[], str], str], ...] = (
        (lambda: _meta(soup, "og:title"), "open-graph"),
        (lambda: _select_text(soup, config.title_selector), "selectors"),
        (lambda: _fallback_node_text(fallback_nodes, "headline", "name"), "json-ld"),
        (lambda: _main_heading(soup, site), "html"),
    )
    for read, found_by in candidates:
        title = _strip_site_name(read(), site)
        if title:
            return title, found_by
    return "", ""


def _fallback_node_text(nodes: list[dict[str, Any]], *keys: str) -> str:
    for node in nodes:
        if _types(node) & FALLBACK_TYPES:
            for key in keys:
                if text := _jtext_raw(node.get(key)):
                    return text if key == "description" else _jtext(text)
    return ""


def _description(
    soup: BeautifulSoup, config: SiteConfig, fallback_nodes: list[dict[str, Any]]
) -> str:
    meta = _meta(soup, "og:description") or _meta(soup, "description")
    if meta:
        return meta
    tag = _select(soup, config.description_selector)
    if tag is not None and (text := _block_text(tag)):
        return text[:_MAX_DESCRIPTION]
    node_text = _fallback_node_text(fallback_nodes, "description")
    return _clean_block(node_text) if node_text else _main_paragraphs(soup)


def _page_project(
    soup: BeautifulSoup, page_url: str, config: SiteConfig, nodes: list[dict[str, Any]]
) -> PageProject | None:
    """The one project a page without JSON-LD projects is about, or None."""
    site = _site_name(soup, nodes)
    title, found_by = _title(soup, config, nodes, site)
    if not title or _ERROR_TITLE.match(title):
        return None
    start, end = _selector_dates(soup, config.date_selector)
    return PageProject(
        url=page_url,
        title=title,
        description=_description(soup, config, nodes),
        start_date=start,
        end_date=end,
        countries=_selector_countries(soup, config.country_selector),
        found_by=found_by,
    )


def _complete(project: PageProject, soup: BeautifulSoup, config: SiteConfig) -> PageProject:
    """A page's only JSON-LD project, its missing fields filled from the rest of the page."""
    description = project.description or _description(soup, config, [])
    start, end = project.start_date, project.end_date
    if start is None and end is None:
        start, end = _selector_dates(soup, config.date_selector)
    countries = project.countries or _selector_countries(soup, config.country_selector)
    return replace(
        project, description=description, start_date=start, end_date=end, countries=countries
    )


def _extract(soup: BeautifulSoup, page_url: str, config: SiteConfig) -> list[PageProject]:
    nodes = _jsonld_nodes(soup)
    projects = _projects_from_nodes(nodes, page_url)
    if len(projects) == 1:
        return [_complete(projects[0], soup, config)]
    if projects:
        return projects
    single = _page_project(soup, page_url, config, nodes)
    return [single] if single else []


def extract_projects(
    html: bytes, page_url: str, config: SiteConfig, *, charset: str | None = None
) -> list[PageProject]:
    """What a page says about projects: several from JSON-LD, else at most one; [] if none.

    Raises `PageRejected` for a page larger than 5 MB.
    """
    page_url = _without_fragment(page_url)
    return _extract(_soup(html, page_url, charset), page_url, config)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageProject:
    """What one page says about one project."""

    url: str
    title: str
    description: str = ""
    start_date: date | None = None
    end_date: date | None = None
    countries: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    found_by: str = field(kw_only=True)  # one of FOUND_BY


def to_project_record(page: PageProject, *, member_external_id: str, source: str) -> ProjectRecord:
    """A `ProjectRecord` whose external id is the normalised page URL, led by the member.

    A project that shares its page with others (several JSON-LD projects, none with a URL of its
    own) keeps the ``#title-slug`` fragment it was given, so that each stays a project of its own.
    """
    lead = ParticipantRecord(
        org_external_id=member_external_id,
        role=ParticipantRole.LEAD.value,
        source_role=SOURCE_ROLE,
    )
    return ProjectRecord(
        source=source,
        external_id=normalise_url(page.url, keep_fragment=True),
        title=page.title,
        description=page.description,
        keywords=page.keywords,
        countries=page.countries,
        year=page.start_date.year if page.start_date else None,
        start_date=page.start_date,
        end_date=page.end_date,
        source_url=page.url,
        participants=(lead,),
    )


# --- crawling -----------------------------------------------------------------------------------


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
    final_url = _without_fragment(page.url or url)
    if not _is_html(page.content_type, page.content):
        kind = page.content_type.split(";")[0].strip() or "unknown type"
        raise PageRejected(url, f"not an HTML page ({kind})")
    return final_url, _soup(page.content, url, _charset(page.content_type))


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
        for link in _links_in(soup, final_url, config):
            links.setdefault(normalise_url(link), link)
        inline += _projects_from_nodes(_jsonld_nodes(soup), final_url)
        url = _next_in(soup, final_url) if config.follow_pagination else None
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
    projects = _extract(soup, final_url, config)
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
