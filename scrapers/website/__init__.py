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

from scrapers.website.config import (
    FOUND_BY,
    MAX_LISTING_PAGES,
    MAX_PAGE_BYTES,
    PageRejected,
    SiteConfig,
)
from scrapers.website.crawl import CrawlResult, FetchedPage, crawl_site
from scrapers.website.extract import dates_in_text, extract_projects
from scrapers.website.jsonld import jsonld_projects
from scrapers.website.links import next_listing_page, project_links
from scrapers.website.pages import normalise_url
from scrapers.website.records import PageProject, to_project_record

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
