"""Import jobs the secretariat starts over the API; they run in the background and report here."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.common import long_text, optional_timestamp, short_code, timestamp


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the server stopped while it ran; nothing of it was stored


class ImportKind(StrEnum):
    """The import kinds an API job runs: each reads one file (uploaded, or fetched from a URL)."""

    IATI = "iati"  # IATI activity XML (1.0x or 2.0x, plain or gzipped): projects, organisations
    CSV = "csv"  # members (and their projects) as CSV
    XLSX = "xlsx"  # members (and their projects) as an XLSX workbook
    EU_PORTAL = "eu-portal"  # Funding & Tenders topicDetails/search JSON, CSV export, open calls
    GRANTS_GOV = "grants-gov"  # a Grants.gov XML extract, or the zip it is published in
    FEED = "feed"  # a funder's RSS or Atom feed: one call per entry
    CORDIS = "cordis"  # the published CORDIS zip (project.csv, organization.csv inside)


# the kinds whose importer takes a provenance `source` label
KINDS_WITH_SOURCE = frozenset({ImportKind.FEED, ImportKind.CORDIS})


class ImportJobBase(SQLModel):
    kind: str = Field(max_length=32)  # an import kind: iati, csv, xlsx, eu-portal, ...
    source: str = Field(default="", max_length=2000)  # the uploaded file's name, or the URL


class ImportJob(ImportJobBase, table=True):
    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    options: str = long_text()  # JSON: the kind's options (e.g. the source label)
    upload_path: str = Field(default="", max_length=2000)  # server-side copy of an upload
    state: JobState = short_code(JobState.QUEUED, index=True)
    stage: str = Field(default="", max_length=64)
    done: int = 0
    total: int = 0
    summary: str = long_text()
    error: str = long_text()
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = timestamp()
    started_at: datetime | None = optional_timestamp()
    finished_at: datetime | None = optional_timestamp()


class ImportJobPublic(ImportJobBase):
    id: int
    state: JobState
    stage: str
    done: int
    total: int
    summary: str
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportJobsPublic(SQLModel):
    data: list[ImportJobPublic]
    count: int
