"""schema.org JSON-LD: project nodes, and the dates, countries and keywords they give."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.dates import parse_date
from scrapers.eu_portal import one_line
from scrapers.spreadsheet import country_code, slug, split_list
from scrapers.website.config import PROJECT_TYPES
from scrapers.website.pages import (
    absolute_url,
    attr,
    clean_block,
    normalise_url,
    parse_page,
    without_fragment,
)
from scrapers.website.records import PageProject

_MAX_JSONLD_DEPTH = 12


def _strip_script(text: str) -> str:
    text = text.strip()
    text = re.sub(r"^(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>$", "", text).strip()
    return re.sub(r"^<!--|-->$", "", text).strip()


def _jsonld_documents(soup: BeautifulSoup) -> Iterator[Any]:
    for script in soup.find_all("script"):
        if not isinstance(script, Tag):
            continue
        if attr(script, "type").split(";")[0].strip().lower() != "application/ld+json":
            continue
        try:
            yield json.loads(_strip_script(script.get_text()), strict=False)
        except (ValueError, RecursionError):
            continue  # malformed JSON-LD is skipped


def node_types(node: dict[str, Any]) -> set[str]:
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
        if node_types(value) & PROJECT_TYPES:
            return
        for key, item in value.items():
            if key != "@context" and isinstance(item, dict | list):
                yield from _walk(item, depth + 1)


def jsonld_nodes(soup: BeautifulSoup) -> list[dict[str, Any]]:
    return [node for document in _jsonld_documents(soup) for node in _walk(document)]


def jtext(value: Any) -> str:
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, list):
        return next((text for text in map(jtext, value) if text), "")
    if isinstance(value, dict):
        return jtext(value.get("@value") or value.get("name"))
    return ""


_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def jdate(value: Any, *, end: bool = False) -> date | None:
    """An ISO date, date-time, year-month or year; year and month round outwards for an end."""
    text = jtext(value)
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


def country_codes(texts: Iterable[str]) -> tuple[str, ...]:
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
        items = [jtext(item) for item in value]
    else:
        items = []
    return tuple(dict.fromkeys(item for item in items if item))


def _node_url(node: dict[str, Any], base: str) -> str | None:
    for key in ("url", "mainEntityOfPage", "@id"):
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and (url := absolute_url(value, base)):
            if key == "@id" and "#" in value and normalise_url(url) == normalise_url(base):
                continue  # "#project" names the node, not a page of its own
            return url
    return None


def _project_from_node(node: dict[str, Any], page_url: str, *, several: bool) -> PageProject | None:
    title = jtext(node.get("name")) or jtext(node.get("headline"))
    if not title:
        return None
    url = _node_url(node, page_url) or page_url
    if several and normalise_url(url) == normalise_url(page_url):
        url = f"{page_url}#{slug(title) or 'project'}"  # one page, several projects: tell apart
    places = (node.get(key) for key in ("areaServed", "location", "spatialCoverage"))
    return PageProject(
        url=url,
        title=title,
        description=clean_block(jtext_raw(node.get("description") or node.get("abstract"))),
        start_date=jdate(node.get("startDate")) or jdate(node.get("foundingDate")),
        end_date=jdate(node.get("endDate"), end=True),
        countries=country_codes(c for place in places for c in _country_candidates(place)),
        keywords=_jkeywords(node.get("keywords")),
        found_by="json-ld",
    )


def jtext_raw(value: Any) -> str:
    """Like `jtext` but keeps line breaks, for descriptions."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return next((text for text in map(jtext_raw, value) if text.strip()), "")
    if isinstance(value, dict):
        return jtext_raw(value.get("@value") or value.get("name"))
    return ""


def projects_from_nodes(nodes: list[dict[str, Any]], page_url: str) -> list[PageProject]:
    project_nodes = [node for node in nodes if node_types(node) & PROJECT_TYPES]
    several = len(project_nodes) > 1
    found = (_project_from_node(node, page_url, several=several) for node in project_nodes)
    return [project for project in found if project is not None]


def jsonld_projects(html: bytes, page_url: str, *, charset: str | None = None) -> list[PageProject]:
    """Only the schema.org Project/ResearchProject objects of a page (e.g. of a listing)."""
    page_url = without_fragment(page_url)
    return projects_from_nodes(jsonld_nodes(parse_page(html, page_url, charset)), page_url)
