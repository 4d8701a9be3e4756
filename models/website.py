"""Website sources: the page of a member's website that lists its projects, and how to read it.

`healthmatch import website` registers one (or updates it) and crawls it; `healthmatch scrape
members` crawls every registered source again. The crawl outcome is kept for the secretariat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from models.common import optional_timestamp, timestamp


class WebsiteSourceBase(SQLModel):
    organisation_id: int = Field(foreign_key="organisation.id", unique=True)
    start_url: str = Field(min_length=1, max_length=2000)
    # SiteConfig options other than the start URL (link pattern, CSS selectors, limits).
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class WebsiteSource(WebsiteSourceBase, table=True):
    __tablename__ = "website_source"

    id: int | None = Field(default=None, primary_key=True)
    last_crawled_at: datetime | None = optional_timestamp()
    last_status: str = ""  # "ok: 12 projects, 1 page skipped" or "failed: reason"
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class WebsiteSourcePublic(WebsiteSourceBase):
    id: int
    last_crawled_at: datetime | None
    last_status: str
