"""Member websites: register the page that lists a member's projects, crawl it, store the
projects it links to as projects of that member.

Crawling (network, no database) and storing (database, no network) are separate steps, so a
site that fails changes nothing and never holds a transaction open while it is fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from models.common import utcnow
from models.organisation import Organisation
from models.website import WebsiteSource
from scrapers.errors import ImportFailed
from scrapers.report import ImportReport, ProgressFactory, no_progress
from scrapers.store import store_projects
from scrapers.website import CrawlResult, FetchedPage, SiteConfig, crawl_site

SOURCE = "website"

Fetch = Callable[[str], FetchedPage]


class UnknownMember(ImportFailed):
    def __init__(self, org_id: int) -> None:
        super().__init__(f"no organisation with id {org_id}")


class BadSiteConfig(ImportFailed):
    """A site configuration that cannot be used, with the reason."""


def member_key(org_id: int) -> str:
    """The participant id a member's website projects cite."""
    return f"org:{org_id}"


def site_config(start_url: str, options: dict[str, Any]) -> SiteConfig:
    try:
        return SiteConfig.from_dict({**options, "start_url": start_url})
    except ValueError as exc:
        raise BadSiteConfig(f"site configuration: {exc}") from exc


def options_of(config: SiteConfig) -> dict[str, Any]:
    """What is stored beside the start URL: the options that differ from the defaults."""
    defaults = SiteConfig(start_url=config.start_url).to_dict()
    return {k: v for k, v in config.to_dict().items() if k != "start_url" and v != defaults[k]}


def check_member(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise UnknownMember(org_id)
    return org


def crawl_member(
    config: SiteConfig, org_id: int, fetch: Fetch, progress: ProgressFactory = no_progress
) -> CrawlResult:
    """The member's projects as its website shows them; FetchError when the listing fails."""
    advance = progress("pages", config.max_pages)
    return crawl_site(
        config, fetch, member_external_id=member_key(org_id), source=SOURCE, progress=advance
    )


def register_site(session: Session, org_id: int, config: SiteConfig) -> WebsiteSource:
    """The member's website source, created or pointed at the new configuration."""
    check_member(session, org_id)
    site = session.exec(
        select(WebsiteSource).where(WebsiteSource.organisation_id == org_id)
    ).first()
    if site is None:
        site = WebsiteSource(organisation_id=org_id, start_url=config.start_url)
    site.start_url = config.start_url
    site.options = options_of(config)
    site.updated_at = utcnow()
    session.add(site)
    session.flush()
    return site


@dataclass(frozen=True)
class CrawlSummary:
    projects: int
    skipped: int

    def status(self) -> str:
        skipped = f", {self.skipped} pages skipped" if self.skipped else ""
        return f"ok: {self.projects} projects{skipped}"


def store_crawl(
    session: Session,
    site: WebsiteSource,
    result: CrawlResult,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """The crawled projects, stored as the member's (idempotently), and the outcome noted."""
    org_id = site.organisation_id
    report = ImportReport(f"website {site.start_url}", rejected=list(result.rejected))
    projects = result.projects
    if projects:
        stored = store_projects(
            session, projects, {member_key(org_id): org_id}, progress("projects", len(projects))
        )
        report.counts["projects"] = stored.counts
    summary = CrawlSummary(len(projects), len(result.rejected))
    report.notes.append(f"{result.pages_fetched} pages fetched")
    mark_crawled(site, summary.status())
    session.add(site)
    return report


def mark_crawled(site: WebsiteSource, status: str) -> None:
    site.last_crawled_at = utcnow()
    site.last_status = status[:500]
