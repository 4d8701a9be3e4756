"""What a page says about projects: JSON-LD, Open Graph, selectors, plain HTML."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.eu_portal import one_line
from scrapers.website.config import FALLBACK_TYPES, MAX_DESCRIPTION, SiteConfig
from scrapers.website.jsonld import (
    country_codes,
    jdate,
    jsonld_nodes,
    jtext,
    jtext_raw,
    node_types,
    projects_from_nodes,
)
from scrapers.website.pages import (
    attr,
    block_text,
    clean_block,
    inside,
    own_text,
    parse_page,
    tag_text,
    without_fragment,
)
from scrapers.website.records import PageProject

_MIN_PARAGRAPH = 40
_MAX_PARAGRAPHS = 3


def _meta(soup: BeautifulSoup, key: str) -> str:
    for attribute in ("property", "name"):
        tag = soup.find("meta", attrs={attribute: key})
        if isinstance(tag, Tag) and (content := one_line(attr(tag, "content"))):
            return content
    return ""


def _site_name(soup: BeautifulSoup, nodes: list[dict[str, Any]]) -> str:
    name = _meta(soup, "og:site_name")
    if name:
        return name
    return next((jtext(n.get("name")) for n in nodes if "WebSite" in node_types(n)), "")


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
    return tag_text(tag) if tag is not None else ""


_LAYOUT = ("header", "nav", "footer", "aside", "form", "script", "style", "noscript")


def _main_container(soup: BeautifulSoup) -> Tag | None:
    for selector in ("main", "article", "[role=main]", "body"):
        tag = soup.select_one(selector)
        if tag is not None:
            return tag
    return None


def _main_heading(soup: BeautifulSoup, site: str) -> str:
    headings = [h for h in soup.find_all("h1") if isinstance(h, Tag)]
    headings.sort(key=lambda h: inside(h, _LAYOUT))  # stable: content headings first
    for heading in headings:
        text = tag_text(heading)
        if text and text.casefold() != site.casefold():
            return text
    return ""


def _main_paragraphs(soup: BeautifulSoup) -> str:
    container = _main_container(soup)
    if container is None:
        return ""
    chosen: list[str] = []
    for paragraph in container.find_all("p"):
        if not isinstance(paragraph, Tag) or inside(paragraph, _LAYOUT):
            continue
        text = own_text(paragraph)
        if len(text) >= _MIN_PARAGRAPH:
            chosen.append(text)
        if len(chosen) == _MAX_PARAGRAPHS:
            break
    return "\n\n".join(chosen)[:MAX_DESCRIPTION]


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
    stamps = [jdate(attr(t, "datetime")) for t in times if attr(t, "datetime")]
    spans = [(d, d) for d in stamps if d] or dates_in_text(tag_text(tag))
    if not spans:
        return None, None
    return spans[0][0], (spans[1][1] if len(spans) > 1 else None)


def _selector_countries(soup: BeautifulSoup, selector: str) -> tuple[str, ...]:
    tag = _select(soup, selector)
    if tag is None:
        return ()
    parts = re.split(r"\s*(?:[,;/|\n•·]|\band\b|&)\s*", tag.get_text("\n"))
    return country_codes(part for part in parts if part.strip())


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
        if node_types(node) & FALLBACK_TYPES:
            for key in keys:
                if text := jtext_raw(node.get(key)):
                    return text if key == "description" else jtext(text)
    return ""


def _description(
    soup: BeautifulSoup, config: SiteConfig, fallback_nodes: list[dict[str, Any]]
) -> str:
    meta = _meta(soup, "og:description") or _meta(soup, "description")
    if meta:
        return meta
    tag = _select(soup, config.description_selector)
    if tag is not None and (text := block_text(tag)):
        return text[:MAX_DESCRIPTION]
    node_text = _fallback_node_text(fallback_nodes, "description")
    return clean_block(node_text) if node_text else _main_paragraphs(soup)


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


def extract_soup(soup: BeautifulSoup, page_url: str, config: SiteConfig) -> list[PageProject]:
    nodes = jsonld_nodes(soup)
    projects = projects_from_nodes(nodes, page_url)
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
    page_url = without_fragment(page_url)
    return extract_soup(parse_page(html, page_url, charset), page_url, config)
