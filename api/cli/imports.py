"""`healthmatch import KIND`: every source through its service function in `scrapers.pipeline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import cli_errors, import_app, progress_bars
from models.db import session_scope, temporary_engine
from models.migrate import require_current
from scrapers.pipeline import import_bench, import_eu_portal, import_iati, import_spreadsheet
from scrapers.spreadsheet import template_csv, template_xlsx


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


@import_app.command("iati")
def import_iati_command(
    path: Annotated[Path, typer.Argument(help="IATI activity XML file (1.0x or 2.0x).")],
) -> None:
    """Load IATI activities as projects and their organisations; importing twice is a no-op."""
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        with progress_bars() as progress, session_scope(engine) as session:
            report = import_iati(session, path, progress=progress)
    typer.echo(report.summary())


def _import_spreadsheet(paths: list[Path]) -> None:
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        with progress_bars() as progress, session_scope(engine) as session:
            report = import_spreadsheet(session, paths, progress=progress)
    typer.echo(report.summary())


@import_app.command("csv")
def import_csv_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Members CSV, optionally followed by a projects CSV."),
    ],
) -> None:
    """Load members (and their projects) from CSV; rejected rows are listed with their reasons."""
    _import_spreadsheet(paths)


@import_app.command("xlsx")
def import_xlsx_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Workbook with a members sheet (and optionally a projects sheet)."),
    ],
) -> None:
    """Load members (and their projects) from XLSX; rejected rows are listed with their reasons."""
    _import_spreadsheet(paths)


@import_app.command("template")
def import_template_command(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write XLSX, not CSV.")] = False,
) -> None:
    """Write a members template (canonical headers and one example row) to import with csv/xlsx."""
    with cli_errors():
        try:
            out.write_bytes(template_xlsx() if xlsx else template_csv())
        except OSError as exc:
            typer.echo(f"error: {out}: cannot write ({exc.strerror})", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"template written to {out}")


@import_app.command("eu-portal")
def import_eu_portal_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="topicDetails JSON, search API response, CSV export, the open-calls collection, "
            "or a folder of them."
        ),
    ],
) -> None:
    """Load EU Funding & Tenders topics as calls; a topic met in several formats is one call."""
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        with progress_bars() as progress, session_scope(engine) as session:
            report = import_eu_portal(session, path, progress=progress)
    typer.echo(report.summary())
