"""What every command shares: the Typer apps, the error edge and the progress bars.

Domain errors are turned into one `error: ...` line and exit status 1 here, and only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.demo import NotADemoDatabase
from models.migrate import SchemaNotReady
from scrapers.errors import ImportFailed
from scrapers.pipeline import ProgressFactory
from scrapers.store import Progress as Advance

app = typer.Typer(help="healthmatch: partners, calls and consortia for health networks.")
db_app = typer.Typer(help="Database schema (Alembic migrations).")
import_app = typer.Typer(
    help="Import data into the database, from a file or (for most kinds) a URL."
)
scrape_app = typer.Typer(help="Refresh data from registered websites.")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(scrape_app, name="scrape")

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


def safe_url(url: str) -> str:
    """A database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)
