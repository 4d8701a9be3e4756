"""`healthmatch serve` and `healthmatch demo`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DatabaseError

from api.cli.common import app, cli_errors, err, progress_bars
from api.cli.search import search_errors
from api.demo import (
    NotADemoDatabase,
    add_demo_users,
    demo_settings,
    is_demo_database,
    load_demo,
    write_secret_file,
)
from models.db import session_scope, temporary_engine
from models.migrate import require_current, upgrade
from models.settings import Settings, get_settings


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
    """Create a fresh demo database, load the demo network, index it for search, and serve it."""
    url = f"sqlite:///{db.resolve()}"
    settings = demo_settings(url)
    with cli_errors(), search_errors():
        _remove_old_demo(db, url)
        upgrade(url)
        with temporary_engine(url) as engine, progress_bars() as progress:
            reports = load_demo(engine, progress, settings)
            with session_scope(engine) as session:
                access = add_demo_users(session)
    for report in reports:
        typer.echo(report.summary())
    key_file, signin_file = Path(f"{db}.key"), Path(f"{db}.signin")
    write_secret_file(key_file, access.key.key + "\n")
    write_secret_file(signin_file, access.signin_text())
    typer.echo(f"API key of the demo secretariat ({access.key.user_email}) written to {key_file}")
    typer.echo(f"web sign-ins of the demo secretariat and a demo member written to {signin_file}")
    if not no_serve:
        _run_server(settings, host, port)


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
    for suffix in ("", "-wal", "-shm", ".key", ".signin"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _run_server(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO)
    err.print(f"serving on http://{host}:{port} (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
