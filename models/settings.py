"""The one settings class, read through `get_settings()`; nothing reads the environment early."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache
def get_settings() -> Settings:
    return Settings()
