"""Member websites: import one (register + crawl + store) and refresh them all.

Each site is crawled outside any transaction and stored in its own: one failing site is noted
as failed and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from models.db import session_scope
from models.organisation import Organisation
from models.website import WebsiteSource
from scrapers.errors import ImportFailed
from scrapers.report import ImportReport, ProgressFactory, no_progress
from scrapers.site_imports import (
    Fetch,
    check_member,
    crawl_member,
    mark_crawled,
    register_site,
    site_config,
    store_crawl,
)


def import_website(
    engine: Engine,
    org_id: int,
    start_url: str,
    options: dict[str, Any],
    fetch: Fetch,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """Register the member's website source (or change it) and import its projects; a listing
    that cannot be fetched raises and stores nothing, not even the registration."""
    config = site_config(start_url, options)
    with session_scope(engine) as session:
        check_member(session, org_id)
    result = crawl_member(config, org_id, fetch, progress)
    with session_scope(engine) as session:
        site = register_site(session, org_id, config)
        return store_crawl(session, site, result, progress)


@dataclass(frozen=True)
class SiteOutcome:
    org_id: int
    org_name: str
    start_url: str
    report: ImportReport | None  # None when the crawl failed
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.report is None


def _sites(engine: Engine, org_ids: list[int] | None) -> list[tuple[WebsiteSource, str]]:
    with session_scope(engine) as session:
        query = select(WebsiteSource, Organisation.name).join(
            Organisation, col(Organisation.id) == col(WebsiteSource.organisation_id)
        )
        if org_ids:
            query = query.where(col(WebsiteSource.organisation_id).in_(org_ids))
        rows = session.exec(query.order_by(col(WebsiteSource.organisation_id))).all()
        for site, _ in rows:
            session.expunge(site)
        return [(site, name) for site, name in rows]


def _refresh(engine: Engine, site: WebsiteSource, name: str, fetch: Fetch) -> SiteOutcome:
    try:
        config = site_config(site.start_url, site.options)
        result = crawl_member(config, site.organisation_id, fetch)
    except ImportFailed as exc:
        with session_scope(engine) as session:
            stored = session.get(WebsiteSource, site.id)
            if stored is not None:
                mark_crawled(stored, f"failed: {exc}")
        return SiteOutcome(site.organisation_id, name, site.start_url, None, str(exc))
    with session_scope(engine) as session:
        stored = session.get(WebsiteSource, site.id)
        assert stored is not None  # it was read a moment ago in this process
        report = store_crawl(session, stored, result)
    return SiteOutcome(site.organisation_id, name, site.start_url, report)


def scrape_members(
    engine: Engine,
    fetch: Fetch,
    *,
    org_ids: list[int] | None = None,
    on_done: Callable[[SiteOutcome], None] | None = None,
) -> list[SiteOutcome]:
    """Crawl every registered member website (or those of `org_ids`) again."""
    outcomes = []
    for site, name in _sites(engine, org_ids):
        outcome = _refresh(engine, site, name, fetch)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes
