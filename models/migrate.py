"""Schema management through Alembic; the app never calls `create_all` outside tests."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from models.db import make_engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("models") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`, creating the SQLite file if needed."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@lru_cache
def head_revision() -> str | None:
    """The newest migration shipped with this code (read from disk once per process)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


class SchemaNotReady(Exception):
    """The database has no schema, or an older one than this code expects."""


def require_current(engine: Engine) -> None:
    if current_revision(engine) != head_revision():
        url = engine.url.render_as_string(hide_password=True)
        raise SchemaNotReady(
            f"database at {url} has no schema or an old one: run `healthmatch db upgrade` first"
        )
