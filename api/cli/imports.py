"""`healthmatch import KIND PATH|URL`: every source through its service function.

A URL is fetched first (the guarded fetcher: size cap, timeouts, robots.txt, private addresses
refused), then imported like a file, in one transaction: a failed import stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from api.cli.common import cli_errors, err, import_app, progress_bars
from api.services.fetching import make_fetcher
from models.db import session_scope, temporary_engine
from models.migrate import require_current
from models.settings import get_settings
from scrapers.call_imports import import_eu_portal, import_feed, import_grants_gov
from scrapers.inputs import is_url, local_copy
from scrapers.pipeline import (
    ImportReport,
    ProgressFactory,
    import_bench,
    import_cordis,
    import_iati,
    import_spreadsheet,
)
from scrapers.spreadsheet import template_csv, template_xlsx

Location = Annotated[str, typer.Argument(metavar="PATH|URL", help="A file, or an http(s) URL.")]


@contextmanager
def local_paths(locations: Sequence[str]) -> Iterator[list[Path]]:
    """Each location as a local file; URLs are fetched (and their copies removed afterwards)."""
    with ExitStack() as stack:
        fetcher = stack.enter_context(make_fetcher(get_settings()))
        paths = []
        for location in locations:
            if is_url(location):
                err.print(f"fetching {location}")
            paths.append(stack.enter_context(local_copy(location, fetcher)))
        yield paths


Importer = Callable[[Session, ProgressFactory], ImportReport]


def run_import(importer: Importer) -> None:
    """One import in one transaction, with progress bars; its summary on stdout."""
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        with progress_bars() as progress, session_scope(engine) as session:
            report = importer(session, progress)
    typer.echo(report.summary())


@import_app.command("bench")
def import_bench_command(
    folder: Annotated[Path, typer.Argument(help="Folder in the benchmark JSONL format.")],
    source: Annotated[
        str | None, typer.Option(help="Provenance source name (default: folder name).")
    ] = None,
) -> None:
    """Load organisations, projects (with participants) and calls; importing twice is a no-op."""
    run_import(lambda s, p: import_bench(s, folder, source=source, progress=p))


@import_app.command("iati")
def import_iati_command(location: Location) -> None:
    """Load IATI activities (1.0x or 2.0x XML) as projects and their organisations."""
    with cli_errors(), local_paths([location]) as (path,):
        run_import(lambda s, p: import_iati(s, path, progress=p))


@import_app.command("csv")
def import_csv_command(
    locations: Annotated[
        list[str],
        typer.Argument(metavar="PATH|URL...", help="Members CSV, optionally a projects CSV."),
    ],
) -> None:
    """Load members (and their projects) from CSV; rejected rows are listed with their reasons."""
    with cli_errors(), local_paths(locations) as paths:
        run_import(lambda s, p: import_spreadsheet(s, paths, progress=p))


@import_app.command("xlsx")
def import_xlsx_command(
    locations: Annotated[
        list[str],
        typer.Argument(metavar="PATH|URL...", help="Workbook: members (and projects) sheets."),
    ],
) -> None:
    """Load members (and their projects) from XLSX; rejected rows are listed with their reasons."""
    with cli_errors(), local_paths(locations) as paths:
        run_import(lambda s, p: import_spreadsheet(s, paths, progress=p))


@import_app.command("template")
def import_template_command(
    out: Annotated[Path, typer.Argument(help="File to write.")],
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Write XLSX, not CSV.")] = False,
) -> None:
    """Write a members template (canonical headers and one example row) to import with csv/xlsx."""
    try:
        out.write_bytes(template_xlsx() if xlsx else template_csv())
    except OSError as exc:
        typer.echo(f"error: {out}: cannot write ({exc.strerror})", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"template written to {out}")


@import_app.command("eu-portal")
def import_eu_portal_command(
    location: Annotated[
        str,
        typer.Argument(
            metavar="PATH|URL",
            help="topicDetails JSON, search API response, CSV export, the open-calls collection, "
            "or a folder of them.",
        ),
    ],
) -> None:
    """Load EU Funding & Tenders topics as calls; a topic met in several formats is one call."""
    with cli_errors(), local_paths([location]) as (path,):
        run_import(lambda s, p: import_eu_portal(s, path, progress=p))


@import_app.command("cordis")
def import_cordis_command(
    locations: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH|URL...",
            help="project.csv and organization.csv (topics.csv optional), a folder holding "
            "them, or the published zip archive.",
        ),
    ],
    source: Annotated[str, typer.Option(help="Provenance source name.")] = "cordis",
) -> None:
    """Load CORDIS projects and the organisations taking part (with roles) as published."""
    with cli_errors(), local_paths(locations) as paths:
        run_import(lambda s, p: import_cordis(s, paths, source=source, progress=p))


@import_app.command("grants-gov")
def import_grants_gov_command(location: Location) -> None:
    """Load a Grants.gov XML extract (or its published zip) as calls, forecasts as forthcoming."""
    with cli_errors(), local_paths([location]) as (path,):
        run_import(lambda s, p: import_grants_gov(s, path, progress=p))


@import_app.command("feed")
def import_feed_command(
    location: Location,
    source: Annotated[
        str | None,
        typer.Option(help="Provenance source name (default: feed:HOST, or feed:FILE-NAME)."),
    ] = None,
) -> None:
    """Load a funder's RSS or Atom feed: one call per entry, deadlines read from its text."""
    feed_url = location.strip() if is_url(location) else ""
    with cli_errors(), local_paths([location]) as (path,):
        run_import(lambda s, p: import_feed(s, path, feed_url=feed_url, source=source, progress=p))


@import_app.command("website")
def import_website_command(
    url: Annotated[str, typer.Argument(metavar="URL", help="The page listing its projects.")],
    org: Annotated[int, typer.Option("--org", metavar="ORG_ID", help="The member's id.")],
    link_pattern: Annotated[
        str, typer.Option(help="Regex a project page's URL must match (default: guessed).")
    ] = "",
    title_selector: Annotated[str, typer.Option(help="CSS selector of a project's title.")] = "",
    description_selector: Annotated[
        str, typer.Option(help="CSS selector of a project's description.")
    ] = "",
    date_selector: Annotated[str, typer.Option(help="CSS selector of a project's dates.")] = "",
    country_selector: Annotated[
        str, typer.Option(help="CSS selector of a project's countries.")
    ] = "",
    max_pages: Annotated[int, typer.Option(min=1, help="Project pages followed at most.")] = 50,
) -> None:
    """Import a member's projects from its website and remember the site for `scrape members`.

    Project pages are read through schema.org JSON-LD first, then Open Graph, then the given
    CSS selectors, then the page's main heading and text."""
    from api.services.websites import import_website

    options = {
        "link_pattern": link_pattern,
        "title_selector": title_selector,
        "description_selector": description_selector,
        "date_selector": date_selector,
        "country_selector": country_selector,
        "max_pages": max_pages,
    }
    settings = get_settings()
    with cli_errors(), temporary_engine(settings=settings) as engine:
        require_current(engine)
        with make_fetcher(settings) as fetcher, progress_bars() as progress:
            report = import_website(engine, org, url, options, fetcher.get, progress)
    typer.echo(report.summary())
