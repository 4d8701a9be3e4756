"""`healthmatch db`: create, migrate and inspect the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import cli_errors, db_app, safe_url
from models.db import temporary_engine
from models.migrate import current_revision, head_revision, upgrade
from models.settings import get_settings


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create or migrate the schema of the configured database (HEALTHMATCH_DATABASE_URL)."""
    url = get_settings().database_url
    with cli_errors():
        upgrade(url, revision)
        with temporary_engine(url) as engine:
            reached = current_revision(engine)
    typer.echo(f"database at {safe_url(url)} is at revision {reached}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the configured database and the newest one available."""
    with cli_errors(), temporary_engine() as engine:
        revision = current_revision(engine)
    typer.echo(f"current: {revision or 'empty'}; newest: {head_revision()}")
