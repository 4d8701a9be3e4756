"""The one settings class, read through `get_settings()`; nothing reads the environment early."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_INDEX = Path("healthmatch.index")


class Settings(BaseSettings):
    """Every setting can be given as an environment variable prefixed `HEALTHMATCH_`."""

    model_config = SettingsConfigDict(env_prefix="HEALTHMATCH_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///healthmatch.db",
        description="Any SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    api_page_size_max: int = Field(default=200, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    embedding_model: str = Field(
        default="minilm",
        description="Sentence encoder of the search index, a name in matcher.embedders.ENCODERS.",
    )
    index_path: Path | None = Field(
        default=None,
        description="Search index file; default: see `search_index_path`.",
    )

    def search_index_path(self) -> Path:
        """`index_path`, else `X.db.index` beside a SQLite file `X.db`, else `healthmatch.index`
        in the working directory."""
        if self.index_path is not None:
            return self.index_path
        url = make_url(self.database_url)
        database = url.database or ""
        if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
            return DEFAULT_INDEX
        return Path(f"{database}.index")


@lru_cache
def get_settings() -> Settings:
    return Settings()
