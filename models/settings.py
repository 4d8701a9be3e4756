"""The one settings class, read through `get_settings()`; nothing reads the environment early."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_INDEX = Path("healthmatch.index")


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP (a local relay)
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (usually port 587)
    SSL = "ssl"  # TLS from the first byte (usually port 465)


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

    api_max_body_kb: int = Field(default=1024, ge=1, description="Largest JSON request body.")
    api_max_upload_mb: int = Field(
        default=200, ge=1, description="Largest file uploaded to start an import job."
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins allowed to call the API from a browser "
        "(e.g. a network's own website); none by default.",
    )
    jobs_dir: Path = Field(
        default=Path.home() / ".cache" / "healthmatch" / "jobs",
        description="Where files uploaded for import jobs are kept until their job ends.",
    )

    fetch_cache_dir: Path | None = Field(
        default=Path.home() / ".cache" / "healthmatch" / "http",
        description="On-disk cache for conditional GETs of imported URLs; empty: no cache.",
    )
    fetch_allowed_origins: str = Field(
        default="",
        description="Comma-separated origins (http://host:port) exempt from the private-address "
        "guard, e.g. an intranet mirror; nothing by default.",
    )
    fetch_max_mb: int = Field(default=50, ge=1, description="Largest response body accepted.")
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    fetch_min_interval_s: float = Field(
        default=1.0, ge=0, description="Pause between two requests to the same host."
    )

    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that sends member mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.NONE,
        description="none, starttls (upgrade a plain connection) or ssl (TLS from the start).",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty: no authentication.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one SMTP exchange.")
    smtp_retries: int = Field(
        default=3, ge=0, description="Retries of a message the server could not take for now."
    )
    smtp_retry_base_s: float = Field(
        default=1.0, ge=0, description="First pause between retries; doubled after each."
    )
    mail_from: str = Field(
        default="healthmatch <noreply@localhost>", description="From: of the mail to members."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of this API, where the unsubscribe links in mail point.",
    )

    digest_fit_top: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="A call fits a member ranked among the first this many members for it.",
    )
    digest_min_score: float = Field(
        default=0.0,
        description="...and scoring at least this (standardised: 0 is the average organisation).",
    )

    @field_validator("fetch_cache_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def allowed_origins(self) -> frozenset[str]:
        return frozenset(o.strip() for o in self.fetch_allowed_origins.split(",") if o.strip())

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
