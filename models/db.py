"""Engines and sessions. SQLite gets WAL and a busy timeout; any other SQLAlchemy URL works too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from models.settings import Settings, get_settings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def make_engine(url: str | None = None, settings: Settings | None = None) -> Engine:
    """An engine for `url` (default: the settings' database URL)."""
    settings = settings or get_settings()
    url = url or settings.database_url
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    timeout_s = settings.sqlite_busy_timeout_ms / 1000
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout_s})
    event.listen(engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def temporary_engine(url: str | None = None, settings: Settings | None = None) -> Iterator[Engine]:
    """An engine for one short task, disposed (connections closed) afterwards."""
    engine = make_engine(url, settings)
    try:
        yield engine
    finally:
        engine.dispose()
