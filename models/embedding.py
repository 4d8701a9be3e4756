"""Embedding cache: one vector per (model id, content hash); unchanged text is never re-embedded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from models.common import timestamp


class EmbeddingCache(SQLModel, table=True):
    __tablename__ = "embedding_cache"

    model_id: str = Field(primary_key=True, max_length=128)
    content_hash: str = Field(primary_key=True, max_length=64)
    dim: int
    vector: bytes = Field(sa_type=LargeBinary)  # float32, little-endian, `dim` values
    created_at: datetime = timestamp()
