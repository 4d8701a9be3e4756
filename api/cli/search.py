"""`healthmatch index`, `search`, `match`, `calls-for` and `similar`: the search index and the
rankings over it.

The matcher is imported inside the commands: it pulls in scikit-learn, which the other commands do
not need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import app, cli_errors, progress_bars
from models.db import session_scope, temporary_engine
from models.migrate import require_current
from models.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.services.matching import Ranking
    from matcher.filters import Filters
    from matcher.search import PartnerSearch


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
def search_errors() -> Iterator[None]:
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
def searching() -> Iterator[tuple[PartnerSearch, Engine]]:
    """The search index of the configured database, after checking the schema; a line on stderr
    when the index is older than the data."""
    from api.services.search_index import check_index, load_index

    settings = get_settings()
    with cli_errors(), search_errors(), temporary_engine(settings=settings) as engine:
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

    with search_errors():
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
    with cli_errors(), search_errors(), temporary_engine(settings=settings) as engine:
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
    with searching() as (index, _engine):
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

    with searching() as (index, engine), session_scope(engine) as session:
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

    with searching() as (index, engine), session_scope(engine) as session:
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
    with searching() as (index, _engine):
        ranking = similar_organisations(search=index, org_id=org_id, filters=filters, top=top)
    _show(ranking, f"similar to organisation {org_id}: {_short(ranking.query.text)}", as_json)
