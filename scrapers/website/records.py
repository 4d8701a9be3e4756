"""What one page says about one project (`PageProject`) and its `ProjectRecord`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from models.project import ParticipantRole
from scrapers.records import ParticipantRecord, ProjectRecord
from scrapers.website.config import SOURCE_ROLE
from scrapers.website.pages import normalise_url


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
