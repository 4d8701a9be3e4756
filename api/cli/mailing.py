"""`healthmatch digest`, `forward` and `outbox`: mail to members, decided once, sent once.

Mail settings come from the HEALTHMATCH_SMTP_* variables (and HEALTHMATCH_MAIL_FROM,
HEALTHMATCH_PUBLIC_BASE_URL). A run that is killed or meets a mail server that is down loses
nothing and sends nothing twice: run `healthmatch outbox send` again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import app, cli_errors, progress_bars
from api.cli.search import searching
from models.db import session_scope, temporary_engine
from models.migrate import require_current
from models.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.services.outbox import SendReport

outbox_app = typer.Typer(
    help="The outbox of member mail: counts, and sending what is pending.",
    invoke_without_command=True,
)
app.add_typer(outbox_app, name="outbox")

TodayOpt = Annotated[
    datetime | None,
    typer.Option(
        "--today",
        formats=["%Y-%m-%d"],
        metavar="DATE",
        help="Act as if today were DATE (for tests and backfills): deadlines, frequency, backoff.",
    ),
]
RetryNowOpt = Annotated[
    bool,
    typer.Option("--retry-now", help="Retry pending messages now, ignoring their backoff."),
]


def _now(today: datetime | None) -> datetime:
    """Now, or the same time of day on `today`."""
    now = datetime.now(UTC)
    if today is None:
        return now
    return datetime.combine(today.date(), now.timetz())


@contextmanager
def _mail_errors() -> Iterator[None]:
    from api.services.errors import Conflict, InvalidInput, NotFound

    try:
        yield
    except (NotFound, Conflict, InvalidInput, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def _database() -> Iterator[Engine]:
    settings = get_settings()
    with cli_errors(), _mail_errors(), temporary_engine(settings=settings) as engine:
        require_current(engine)
        yield engine


def _finish(report: SendReport) -> None:
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


def _send(engine: Engine, now: datetime, retry_now: bool) -> SendReport:
    from api.services.outbox import send_outbox

    with progress_bars() as bars:
        return send_outbox(engine, get_settings(), now=now, retry_now=retry_now, progress=bars)


@app.command()
def digest(
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="DATE",
            help="Calls changed since DATE (default: each member's last digest, else 30 days).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; the default.")
    ] = False,
    send: Annotated[bool, typer.Option("--send", help="Decide the digests and send them.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Ignore members' frequency.")] = False,
    today: TodayOpt = None,
    retry_now: RetryNowOpt = False,
) -> None:
    """Each member's digest of the new or changed calls that fit it, with why and deadlines.

    Without --send (or with --dry-run) it prints each message, to whom and why, and writes
    nothing. Exit status 1 when a message failed or is left pending."""
    from api.services.digests import decide_digests, plan_digests, plan_lines

    if send and dry_run:
        typer.echo("error: --send and --dry-run exclude each other", err=True)
        raise typer.Exit(1)
    now = _now(today)
    start = None if since is None else since.replace(tzinfo=UTC)
    settings = get_settings()
    with searching() as (index, engine), _mail_errors():
        with session_scope(engine) as session:
            plan = plan_digests(session, index, settings, now=now, since=start, force=force)
        if not send:
            for line in plan_lines(plan):
                typer.echo(line)
            typer.echo("dry run: nothing written, nothing sent (--send sends)")
            return
        for line in plan.lines():
            typer.echo(line)
        decided = decide_digests(engine, settings, plan, now=now)
        for line in decided.lines():
            typer.echo(line)
        report = _send(engine, now, retry_now)
    _finish(report)


@app.command()
def forward(
    call_id: Annotated[int, typer.Argument(metavar="CALL_ID", help="Id of a call.")],
    preview: Annotated[
        bool, typer.Option("--preview", help="List the members it fits; the default.")
    ] = False,
    send: Annotated[bool, typer.Option("--send", help="Forward it to the chosen members.")] = False,
    top: Annotated[
        int | None, typer.Option(min=1, max=1000, metavar="N", help="Members ranked.")
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(metavar="X", help="Lowest standardised score that fits.")
    ] = None,
    only: Annotated[
        list[int] | None,
        typer.Option("--only", metavar="ID", help="Send to this organisation only (repeat)."),
    ] = None,
    exclude: Annotated[
        list[int] | None,
        typer.Option("--exclude", metavar="ID", help="Leave this organisation out (repeat)."),
    ] = None,
    note: Annotated[str, typer.Option(help="A note from the secretariat, above the call.")] = "",
    today: TodayOpt = None,
    retry_now: RetryNowOpt = False,
) -> None:
    """Forward one call to the members it fits: preview (default), then --send."""
    from api.services.forwarding import decide_forward, preview_forward

    if send and preview:
        typer.echo("error: --send and --preview exclude each other", err=True)
        raise typer.Exit(1)
    now = _now(today)
    settings = get_settings()
    with searching() as (index, engine), _mail_errors():
        if not send:
            with session_scope(engine) as session:
                shown = preview_forward(
                    session, index, settings, call_id, top=top, min_score=min_score
                )
            typer.echo(f"call {call_id}: {' '.join(shown.title.split())}")
            if not shown.candidates:
                typer.echo("no member fits")
            for c in shown.candidates:
                flag = f"  [{c.blocked}]" if c.blocked else ""
                typer.echo(
                    f"{c.rank:>3}. {c.name}  [id {c.organisation_id}]  score {c.score:.3f}  "
                    f"to {c.recipient or '-'}{flag}"
                )
                typer.echo(f"     why: {c.reason}")
            typer.echo("preview: nothing sent (--send sends; --only/--exclude edit the list)")
            return
        forwarded = decide_forward(
            engine,
            index,
            settings,
            call_id,
            only=only,
            exclude=exclude or (),
            note=note,
            top=top,
            min_score=min_score,
            now=now,
        )
        for line in forwarded.lines():
            typer.echo(line)
        report = _send(engine, now, retry_now)
    _finish(report)


@outbox_app.callback()
def outbox(ctx: typer.Context) -> None:
    """Messages per state, and the failed and unknown ones."""
    if ctx.invoked_subcommand is not None:
        return
    from api.services.outbox import counts, messages
    from models.mailing import MessageState

    with _database() as engine, session_scope(engine) as session:
        for state, count in counts(session).items():
            typer.echo(f"{state:<8} {count}")
        rows, _ = messages(session, states=[MessageState.FAILED, MessageState.UNKNOWN], limit=200)
        for row in rows:
            typer.echo(
                f"{row.state:<8} message {row.id} to {row.recipient} ({row.channel}, "
                f"{row.attempts} attempts): {row.subject}"
            )
            if row.last_error:
                typer.echo(f"         {row.last_error}")


@outbox_app.command("send")
def outbox_send(today: TodayOpt = None, retry_now: RetryNowOpt = False) -> None:
    """Send the pending messages that are due (exit status 1 if any failed or stay pending)."""
    with _database() as engine:
        report = _send(engine, _now(today), retry_now)
    _finish(report)


@outbox_app.command("resend-unknown")
def outbox_resend_unknown(today: TodayOpt = None) -> None:
    """Send again the messages a dead run left unknown (their members may get them twice)."""
    from api.services.outbox import resend_unknown

    with _database() as engine, progress_bars() as bars:
        report = resend_unknown(engine, get_settings(), now=_now(today), progress=bars)
    _finish(report)


@outbox_app.command("retry-failed")
def outbox_retry_failed(today: TodayOpt = None) -> None:
    """Put the failed messages back to pending and send them."""
    from api.services.outbox import retry_failed

    with _database() as engine:
        typer.echo(f"{retry_failed(engine)} failed messages back to pending")
        report = _send(engine, _now(today), True)
    _finish(report)
