"""The `healthmatch` command: a thin edge over the service functions.

Domain errors are turned into one `error: ...` line and exit status 1 here, and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from api.demo import NotADemoDatabase, is_demo_database, load_demo
from models.db import session_scope, temporary_engine
from models.migrate import (
    SchemaNotReady,
    current_revision,
    head_revision,
    require_current,
    upgrade,
)
from models.settings import Settings, get_settings
from scrapers.errors import ImportFailed
from scrapers.pipeline import ProgressFactory, import_bench
from scrapers.store import Progress as Advance

app = typer.Typer(help="healthmatch: partners, calls and consortia for health networks.")
db_app = typer.Typer(help="Database schema (Alembic migrations).")
import_app = typer.Typer(help="Import data into the database.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")

err = Console(stderr=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Known failures become one clear line on stderr and exit status 1."""
    try:
        yield
    except (ImportFailed, NotADemoDatabase, SchemaNotReady) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except OperationalError as exc:
        reason = str(exc.orig) if exc.orig else str(exc)
        typer.echo(f"error: database: {reason}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def progress_bars() -> Iterator[ProgressFactory]:
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bars:

        def factory(label: str, total: int) -> Advance:
            task = bars.add_task(label, total=total)
            return lambda n: bars.advance(task, n)

        yield factory


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create or migrate the schema of the configured database (HEALTHMATCH_DATABASE_URL)."""
    url = get_settings().database_url
    with cli_errors():
        upgrade(url, revision)
        with temporary_engine(url) as engine:
            reached = current_revision(engine)
    typer.echo(f"database at {_safe(url)} is at revision {reached}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the configured database and the newest one available."""
    with cli_errors(), temporary_engine() as engine:
        revision = current_revision(engine)
    typer.echo(f"current: {revision or 'empty'}; newest: {head_revision()}")


@import_app.command("bench")
def import_bench_command(
    folder: Annotated[Path, typer.Argument(help="Folder in the benchmark JSONL format.")],
    source: Annotated[
        str | None, typer.Option(help="Provenance source name (default: folder name).")
    ] = None,
) -> None:
    """Load organisations, projects (with participants) and calls; importing twice is a no-op."""
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        with progress_bars() as progress, session_scope(engine) as session:
            report = import_bench(session, folder, source=source, progress=progress)
    typer.echo(report.summary())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the API on the configured database."""
    settings = get_settings()
    with cli_errors(), temporary_engine(settings=settings) as engine:
        require_current(engine)
    _run_server(settings, host or settings.host, port or settings.port)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    db: Annotated[Path, typer.Option(help="Demo database file (replaced).")] = Path(
        "healthmatch-demo.db"
    ),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build it, do not serve.")] = False,
) -> None:
    """Create a fresh demo database, load the demo network into it, and serve it."""
    url = f"sqlite:///{db.resolve()}"
    with cli_errors():
        _remove_old_demo(db, url)
        upgrade(url)
        with (
            temporary_engine(url) as engine,
            progress_bars() as progress,
            session_scope(engine) as session,
        ):
            reports = load_demo(session, progress)
    for report in reports:
        typer.echo(report.summary())
    if not no_serve:
        _run_server(Settings(database_url=url), host, port)


def _remove_old_demo(db: Path, url: str) -> None:
    if not db.exists():
        return
    try:
        with temporary_engine(url) as engine, session_scope(engine) as session:
            ours = is_demo_database(session)
    except DatabaseError:  # not SQLite at all, or not our schema
        ours = False
    if not ours:
        raise NotADemoDatabase(db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run_server(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO)
    err.print(f"serving on http://{host}:{port} (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
