"""Where each imported row came from, so that importing the same source twice changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import timestamp


class Provenance(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "entity_type", "external_id", name="uq_provenance_source_id"),
        Index("ix_provenance_entity", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=32)  # "organisation", "project", "call", ...
    entity_id: int
    source: str = Field(max_length=64)  # e.g. "cordis-he", "eu-portal", "iati"
    external_id: str = Field(max_length=255)
    content_hash: str = Field(max_length=64)  # sha256 of the parsed record
    fetched_at: datetime = timestamp()
