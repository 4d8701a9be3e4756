"""Find partners: the search form, its filters and the explained results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from api.deps import EngineDep, SessionDep, SettingsDep
from api.services.matching import DESCRIPTION_PREFIX, InvalidFilter, make_filters, search_partners
from api.services.search_index import SearchIndexError, load_index
from api.web import options
from api.web.core import PageError, WebUserDep, render
from matcher.search import EmptyQuery, Hit, MatchError
from models.shortlist import Shortlist

router = APIRouter()
TOP = 20
MAX_QUERY = 2000
# the query parameter of each filter (as in the API) -> the `make_filters` argument
FILTERS = {
    "country": "countries",
    "region": "regions",
    "income_group": "income_groups",
    "type": "org_types",
    "language": "languages",
    "network": "networks",
}


@dataclass(frozen=True)
class ResultView:
    rank: int
    id: str
    name: str
    score: float
    projects: list[tuple[str, bool]]  # (title, is the organisation's own description)
    terms: list[str]
    countries: list[str]
    themes: list[str]


def result_view(rank: int, hit: Hit) -> ResultView:
    explanation = hit.explanation
    return ResultView(
        rank=rank,
        id=hit.id,
        name=hit.name,
        score=hit.score,
        projects=[(p.title, p.id.startswith(DESCRIPTION_PREFIX)) for p in explanation.projects],
        terms=list(explanation.terms),
        countries=[options.country_name(c) for c in explanation.countries],
        themes=list(explanation.themes),
    )


def my_shortlists(session: Session, user_id: int | None) -> list[tuple[int, str]]:
    if user_id is None:
        return []
    rows = session.exec(
        select(Shortlist.id, Shortlist.name)
        .where(col(Shortlist.owner_id) == user_id)
        .order_by(col(Shortlist.created_at).desc(), col(Shortlist.id).desc())
    ).all()
    return [(sid, name) for sid, name in rows if sid is not None]


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    return {
        "country": options.countries(),
        "region": [(r, r) for r in options.regions()],
        "income_group": [(g, f"income.{g}") for g in options.INCOME_GROUPS],
        "type": [(k, f"type.{k}") for k in options.ORG_TYPES],
        "language": options.languages(session),
        "network": options.networks(session),
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> HTMLResponse:
    params = request.query_params
    asked = "q" in params
    q = params.get("q", "")[:MAX_QUERY]
    chosen = {name: [v for v in params.getlist(name) if v.strip()][:50] for name in FILTERS}
    context: dict[str, Any] = {
        "q": q,
        "chosen": chosen,
        "choices": filter_choices(session),
        "results": None,
        "error": None,
        "shortlists": my_shortlists(session, user.principal.user_id),
    }
    status = 200
    if asked:
        try:
            filters = make_filters(**{FILTERS[name]: values for name, values in chosen.items()})
            if not q.strip():
                raise EmptyQuery()
            search = load_index(settings, engine=engine)
            ranking = search_partners(search=search, text=q, filters=filters, top=TOP)
            context["results"] = [result_view(i, hit) for i, hit in enumerate(ranking.hits, 1)]
        except SearchIndexError as exc:
            raise PageError(503, "error.503") from exc
        except EmptyQuery:
            context["error"], status = ("search.blank", ""), 422
        except InvalidFilter as exc:
            context["error"], status = ("search.bad_filter", str(exc)), 422
        except MatchError as exc:
            context["error"], status = ("search.blank", str(exc)), 422
    return render(request, "search.html", context, status=status)
