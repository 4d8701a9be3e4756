"""`healthmatch scrape members`: refresh every registered member website."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.common import cli_errors, scrape_app
from api.services.fetching import make_fetcher
from api.services.websites import SiteOutcome, scrape_members
from models.db import temporary_engine
from models.migrate import require_current
from models.settings import get_settings


def _show(outcome: SiteOutcome) -> None:
    where = f"{outcome.org_name} [id {outcome.org_id}] {outcome.start_url}"
    if outcome.report is None:
        typer.echo(f"{where}: failed: {outcome.error}")
        return
    typer.echo(f"{where}:")
    typer.echo("  " + outcome.report.summary().replace("\n", "\n  "))


@scrape_app.command("members")
def scrape_members_command(
    org: Annotated[
        list[int] | None,
        typer.Option("--org", metavar="ORG_ID", help="Only this member (repeat for several)."),
    ] = None,
) -> None:
    """Crawl every member website registered with `import website` again; a site that fails is
    reported and the others go on (exit status 1 if any failed)."""
    settings = get_settings()
    with cli_errors(), temporary_engine(settings=settings) as engine:
        require_current(engine)
        with make_fetcher(settings) as fetcher:
            outcomes = scrape_members(engine, fetcher.get, org_ids=org, on_done=_show)
    if not outcomes:
        typer.echo("no member websites registered: add one with `healthmatch import website`")
        return
    failed = sum(o.failed for o in outcomes)
    typer.echo(f"{len(outcomes)} websites crawled, {failed} failed")
    if failed:
        raise typer.Exit(1)
