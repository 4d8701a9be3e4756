"""The `healthmatch` command: a thin edge over the service functions.

Domain errors are turned into one `error: ...` line and exit status 1 here, and only here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError

from api.demo import NotADemoDatabase, demo_settings, is_demo_database, load_demo
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
from scrapers.pipeline import (
    ProgressFactory,
    import_bench,
    import_eu_portal,
    import_iati,
    import_spreadsheet,
)
from scrapers.spreadsheet import template_csv, template_xlsx
from scrapers.store import Progress as Advance

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.services.matching import Ranking
    from matcher.base import FitProgress
    from matcher.filters import Filters
    from matcher.search import PartnerSearch

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
    with cli_errors(), _search_errors():
        _remove_old_demo(db, url)
        upgrade(url)
        with temporary_engine(url) as engine, progress_bars() as progress:
            reports = load_demo(engine, progress, settings)
    for report in reports:
        typer.echo(report.summary())
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


# --- search: the index and the rankings over it --------------------------------------------------
# The matcher is imported inside the commands: it pulls in scikit-learn, which the others do not
# need.

CountryOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--country", metavar="CC", help="Works in this country (ISO alpha-2; repeat: any of them)."
    ),
]
HqCountryOpt = Annotated[
    list[str] | None,
    typer.Option("--hq-country", metavar="CC", help="Headquartered in this country."),
]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--region", metavar="REGION", help="World Bank region of the HQ or a country of work."
    ),
]
IncomeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--income-group", metavar="GROUP", help="World Bank income group of the HQ: L, LM, UM, H."
    ),
]
TypeOpt = Annotated[
    list[str] | None,
    typer.Option("--type", metavar="TYPE", help="Organisation type (ngo, research, ...)."),
]
LanguageOpt = Annotated[
    list[str] | None, typer.Option("--language", metavar="LANG", help="Working language.")
]
NetworkOpt = Annotated[
    list[str] | None, typer.Option("--network", metavar="SLUG", help="Network slug.")
]
TopOpt = Annotated[
    int, typer.Option("--top", min=1, max=1000, metavar="N", help="Results to show.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@contextmanager
def _search_errors() -> Iterator[None]:
    from api.services.errors import NotFound
    from api.services.matching import InvalidFilter
    from api.services.search_index import SearchIndexError
    from matcher.embedders import UnknownModel
    from matcher.search import MatchError

    try:
        yield
    except (SearchIndexError, MatchError, InvalidFilter, NotFound, UnknownModel) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def _searching() -> Iterator[tuple[PartnerSearch, Engine]]:
    """The search index of the configured database, after checking the schema; a line on stderr
    when the index is older than the data."""
    from api.services.search_index import check_index, load_index

    settings = get_settings()
    with cli_errors(), _search_errors(), temporary_engine(settings=settings) as engine:
        require_current(engine)
        search = load_index(settings, engine=engine)
        stale = check_index(engine, settings)
        if stale is not None:
            typer.echo(f"warning: {stale}", err=True)
        yield search, engine


def _filters(
    country: list[str] | None,
    hq_country: list[str] | None,
    region: list[str] | None,
    income_group: list[str] | None,
    org_type: list[str] | None,
    language: list[str] | None,
    network: list[str] | None,
) -> Filters:
    from api.services.matching import make_filters

    with _search_errors():
        return make_filters(
            countries=country or (),
            hq_countries=hq_country or (),
            regions=region or (),
            income_groups=income_group or (),
            org_types=org_type or (),
            languages=language or (),
            networks=network or (),
        )


def _short(text: str, width: int = 72) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(ranking: Ranking, heading: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(ranking.to_json(), ensure_ascii=False))
        return
    typer.echo(heading)
    if not ranking.hits:
        typer.echo("no results")
    for rank, hit in enumerate(ranking.hits, start=1):
        typer.echo(f"{rank:>3}. {_short(hit.name)}  [id {hit.id}]  score {hit.score:.3f}")
        why = hit.explanation
        projects = [
            "(own description)" if p.id.startswith("org:") else _short(p.title, 60)
            for p in why.projects[:2]
        ]
        details = {
            "projects": "; ".join(projects),
            "terms": ", ".join(why.terms),
            "countries": ", ".join(why.countries),
        }
        for label, value in details.items():
            if value:
                typer.echo(f"     {label}: {value}")


@app.command("index")
def index_command() -> None:
    """Build the search index of the configured database; unchanged text is not embedded again."""
    from api.services.search_index import build_index, check_model, stage_progress

    settings = get_settings()
    with cli_errors(), _search_errors(), temporary_engine(settings=settings) as engine:
        check_model(settings)
        require_current(engine)
        with progress_bars() as bars:
            report = build_index(engine, settings, stage_progress(bars))
    typer.echo(report.summary())


@app.command()
def search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What you look for partners for.")],
    country: CountryOpt = None,
    hq_country: HqCountryOpt = None,
    region: RegionOpt = None,
    income_group: IncomeOpt = None,
    org_type: TypeOpt = None,
    language: LanguageOpt = None,
    network: NetworkOpt = None,
    top: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """Organisations ranked for a description of what you need, with the evidence."""
    from api.services.matching import search_partners

    filters = _filters(country, hq_country, region, income_group, org_type, language, network)
    with _searching() as (index, _engine):
        ranking = search_partners(search=index, text=text, filters=filters, top=top)
    _show(ranking, f'partners for "{_short(text)}"', as_json)


@app.command()
def match(
    call_id: Annotated[
        int, typer.Argument(metavar="CALL_ID", help="Id of a call in the database.")
    ],
    top: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """Organisations ranked for one call of the database."""
    from api.services.matching import members_for_call

    with _searching() as (index, engine), session_scope(engine) as session:
        ranking = members_for_call(session=session, search=index, call_id=call_id, top=top)
    _show(ranking, f"organisations for call {call_id}: {_short(ranking.query.text)}", as_json)


@app.command("calls-for")
def calls_for(
    org_id: Annotated[
        int, typer.Argument(metavar="ORG_ID", help="Id of an organisation in the database.")
    ],
    top: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """The open calls of the database that fit one organisation best."""
    from api.services.matching import calls_for_organisation

    with _searching() as (index, engine), session_scope(engine) as session:
        ranking = calls_for_organisation(session=session, search=index, org_id=org_id, top=top)
    _show(ranking, f"open calls for organisation {org_id}: {_short(ranking.query.text)}", as_json)


@app.command()
def similar(
    org_id: Annotated[
        int, typer.Argument(metavar="ORG_ID", help="Id of an organisation in the database.")
    ],
    country: CountryOpt = None,
    hq_country: HqCountryOpt = None,
    region: RegionOpt = None,
    income_group: IncomeOpt = None,
    org_type: TypeOpt = None,
    language: LanguageOpt = None,
    network: NetworkOpt = None,
    top: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """Organisations whose projects resemble this organisation's."""
    from api.services.matching import similar_organisations

    filters = _filters(country, hq_country, region, income_group, org_type, language, network)
    with _searching() as (index, _engine):
        ranking = similar_organisations(search=index, org_id=org_id, filters=filters, top=top)
    _show(ranking, f"similar to organisation {org_id}: {_short(ranking.query.text)}", as_json)


@app.command("eval")
def eval_command(
    evidence_dir: Annotated[
        Path, typer.Argument(help="Benchmark folder: organisations.jsonl and projects.jsonl.")
    ],
    queries: Annotated[
        Path | None,
        typer.Option(help="Folder with calls.jsonl, optional qrels.jsonl [default: EVIDENCE_DIR]."),
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="Ranking method (default: matcher.methods.DEFAULT_METHOD).")
    ] = None,
    lead: Annotated[
        str | None,
        typer.Option(help="'coordinator': give each call's coordinator as the lead (consortia)."),
    ] = None,
    top: Annotated[str, typer.Option(help="Rows per call in --scores-out: N or 'all'.")] = "100",
    scores_out: Annotated[
        Path | None, typer.Option(help="Write the top scores as JSON Lines {call, org, score}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Vector cache (SQLite) [default: ~/.cache/healthmatch/eval-vectors.sqlite]"
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Cache no embeddings.")] = False,
) -> None:
    """Rank every organisation for every call of a benchmark and report recall, nDCG and MRR."""
    # imported here: the matcher pulls in scikit-learn, which the other commands do not need
    from api.services import evaluation
    from matcher.methods import DEFAULT_METHOD

    name = method or DEFAULT_METHOD
    with cli_errors(), _eval_errors():
        rows = _parse_top(top)
        use_lead = _parse_lead(lead)
        evaluation.check_method(name)
        benchmark = evaluation.load_benchmark(evidence_dir, queries)
        evaluation.check_run(benchmark, lead=use_lead, scores_out=scores_out)
        store = None if no_cache else (cache or evaluation.default_cache_path())
        with evaluation.open_cache(store) as vectors, _stage_progress() as progress:
            report = evaluation.run_eval(
                benchmark,
                name,
                lead=use_lead,
                top=rows,
                scores_out=scores_out,
                cache=vectors,
                progress=progress,
            )
    summary: dict[str, Any] = (
        report.to_json() if report else {"method": name, "calls": 0, "scores_out": str(scores_out)}
    )
    if as_json:
        typer.echo(json.dumps(summary))
        return
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        typer.echo(f"{key:<{width}}  {shown}")
    if report is None:
        typer.echo(f"no qrels.jsonl in {benchmark.queries_dir}: scores only, no metrics")


@contextmanager
def _eval_errors() -> Iterator[None]:
    from api.services.evaluation import EvaluationError
    from matcher.methods import UnknownMethod

    try:
        yield
    except (EvaluationError, UnknownMethod) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _parse_top(value: str) -> int | None:
    from api.services.evaluation import EvaluationError

    text = value.strip().lower()
    if text == "all":
        return None
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise EvaluationError(f"--top must be a whole number >= 1 or 'all', got '{value}'")
    return int(text)


def _parse_lead(value: str | None) -> bool:
    from api.services.evaluation import EvaluationError

    if value is None:
        return False
    if value != "coordinator":
        raise EvaluationError(f"--lead accepts only 'coordinator', got '{value}'")
    return True


@contextmanager
def _stage_progress() -> Iterator[FitProgress]:
    """A FitProgress (stage, done, total) drawn as one rich bar per stage, on stderr."""
    from api.services.search_index import stage_progress

    with progress_bars() as bars:
        yield stage_progress(bars)
