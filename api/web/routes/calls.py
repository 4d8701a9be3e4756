"""Calls: the list, a call's page (deadlines, budget, rules read from its conditions, the members
it fits) and the consortium builder (a GET form, so results are linkable and work without
JavaScript), with "swap a partner" links and "save as shortlist"."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_
from sqlmodel import Session, col, select

from api.deps import EngineDep, SessionDep, SettingsDep
from api.services.consortium import InvalidRules, RuleOverrides, propose_for_call
from api.services.errors import NotFound
from api.services.matching import members_for_call
from api.services.search_index import SearchIndexError, load_index
from api.services.shortlists import add_entry, create_shortlist
from api.web import options
from api.web.core import CsrfForm, PageError, WebUserDep, form_list, form_text, redirect, render
from api.web.routes.search import my_shortlists, result_view
from matcher.call_rules import parse_call_rules
from matcher.search import PartnerSearch
from models.call import Call, CallStatus
from models.organisation import Organisation
from models.shortlist import ShortlistCreate, ShortlistEntryCreate

router = APIRouter()
PAGE = 100
TOP_MEMBERS = 10
MAX_K = 5
MAX_SIZE = 20
# builder fields with whole-number values: name -> (lowest, highest)
NUMBERS = {
    "min_size": (1, MAX_SIZE),
    "max_size": (1, MAX_SIZE),
    "min_countries": (0, MAX_SIZE),
    "min_lmic": (0, MAX_SIZE),
    "k": (1, MAX_K),
}
RULE_NAMES = ("min_size", "max_size", "min_countries", "min_lmic")


def _get_call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise PageError(404, "error.404")
    return call


@router.get("/calls", response_class=HTMLResponse, include_in_schema=False)
def calls_page(request: Request, user: WebUserDep, session: SessionDep) -> HTMLResponse:
    """Open (and forthcoming) calls first, by next deadline; past deadlines only on request."""
    status = request.query_params.get("status", "")
    past = request.query_params.get("past") == "1"
    query = select(Call)
    if status in {s.value for s in CallStatus}:
        query = query.where(col(Call.status) == status)
    if not past:
        query = query.where(
            or_(col(Call.next_deadline).is_(None), col(Call.next_deadline) >= date.today())
        )
    rows = session.exec(query.limit(PAGE * 5)).all()
    rank = {CallStatus.OPEN: 0, CallStatus.FORTHCOMING: 1, CallStatus.CLOSED: 2}
    rows = sorted(
        rows,
        key=lambda c: (
            rank.get(CallStatus(c.status), 3),
            c.next_deadline is None,
            c.next_deadline or date.max,
            c.title.lower(),
        ),
    )[:PAGE]
    context = {
        "calls": rows,
        "status": status,
        "past": past,
        "statuses": [s.value for s in CallStatus],
        "today": date.today(),
    }
    return render(request, "calls.html", context)


# --- the builder's form -------------------------------------------------------------------------


def _organisations(session: Session) -> list[tuple[str, str]]:
    rows = session.exec(select(Organisation.id, Organisation.name).order_by(Organisation.name))
    return [(str(i), name) for i, name in rows.all() if i is not None]


def _ids(values: list[str], known: set[str], field: str, errors: dict[str, Any]) -> list[int]:
    chosen = [v for v in values if v.strip()][:50]
    if any(v not in known for v in chosen):
        errors[field] = ("err.choose", {})
        return []
    return sorted({int(v) for v in chosen})


def read_builder(
    request: Request, organisations: list[tuple[str, str]], default_lead: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The builder's values as typed (to show again) and the errors, from the query string."""
    params = request.query_params
    known = {i for i, _ in organisations}
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {name: params.get(name, "").strip()[:10] for name in NUMBERS}
    values["k"] = values["k"] or "3"
    for name, (low, high) in NUMBERS.items():
        text = values[name]
        if text and (not text.isdigit() or not low <= int(text) <= high):
            errors[name] = ("err.number", {"min": low, "max": high})
    lead = params.get("lead", "").strip() or (str(default_lead) if default_lead else "")
    if lead and lead not in known:
        errors["lead"] = ("err.choose", {})
    elif not lead:
        errors["lead"] = ("err.required", {})
    values["lead"] = lead
    values["types"] = [v for v in params.getlist("types") if v in options.ORG_TYPES][:10]
    values["include"] = _ids(params.getlist("include"), known, "include", errors)
    values["exclude"] = _ids(params.getlist("exclude"), known, "exclude", errors)
    return values, errors


def _number(text: str) -> int | None:
    return int(text) if text else None


def overrides_of(values: dict[str, Any]) -> RuleOverrides:
    return RuleOverrides(
        min_size=_number(values["min_size"]),
        max_size=_number(values["max_size"]),
        min_countries=_number(values["min_countries"]),
        min_lmic=_number(values["min_lmic"]),
        required_types={t: 1 for t in values["types"]},
        include=tuple(values["include"]),
        exclude=tuple(values["exclude"]),
    )


def swap_url(request: Request, organisation_id: int) -> str:
    """This builder's link with one more organisation excluded (another takes its place)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if ("exclude", str(organisation_id)) not in items:
        items.append(("exclude", str(organisation_id)))
    return f"{request.url.path}?{urlencode(items)}#results"


def coverage_level(value: float) -> int:
    """0..4: the shade of a coverage cell."""
    return 0 if value <= 0.05 else min(4, 1 + int(value * 4))


def _members_fit(session: Session, search: PartnerSearch, call_id: int) -> list[Any]:
    ranking = members_for_call(session=session, search=search, call_id=call_id, top=TOP_MEMBERS)
    return [result_view(i, hit) for i, hit in enumerate(ranking.hits, 1)]


@router.get("/calls/{call_id}", response_class=HTMLResponse, include_in_schema=False)
def call_page(
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    call_id: int,
) -> HTMLResponse:
    call = _get_call(session, call_id)
    parsed = parse_call_rules(call.conditions or "", call.text or "")
    search: PartnerSearch | None
    try:
        search = load_index(settings, engine=engine)
    except SearchIndexError:
        search = None
    today = date.today()
    context: dict[str, Any] = {
        "call": call,
        "deadlines": [(d, d < today.isoformat()) for d in call.deadlines or []],
        "parsed": parsed,
        "rule_names": RULE_NAMES,
        "members": _members_fit(session, search, call_id) if search else None,
        "shortlists": my_shortlists(session, user.principal.user_id),
        "report": None,
        "errors": {},
        "values": None,
        "type_choices": options.ORG_TYPES,
    }
    status = 200
    if user.signed_in:
        organisations = _organisations(session)
        values, errors = read_builder(request, organisations, user.principal.organisation_id)
        context.update(organisations=organisations, values=values, errors=errors)
        if request.query_params.get("build") == "1":
            if errors:
                status = 422
            elif search is None:
                raise PageError(503, "error.503")
            else:
                try:
                    report = propose_for_call(
                        session=session,
                        search=search,
                        call_id=call_id,
                        lead=int(values["lead"]),
                        overrides=overrides_of(values),
                        alternatives=int(values["k"]),
                    ).to_json()
                except InvalidRules as exc:
                    errors["rules"] = ("err.rules", {"detail": str(exc)})
                    status = 422
                except NotFound:
                    errors["rules"] = ("err.choose", {})
                    status = 422
                else:
                    context["report"] = report
                    context["swap"] = {
                        m["id"]: swap_url(request, m["id"])
                        for c in report["consortia"]
                        for m in c["members"]
                        if m["role"] == "partner"
                    }
                    context["level"] = coverage_level
                    context["names"] = dict(organisations)
    return render(request, "call.html", context, status=status)


@router.post("/calls/{call_id}/shortlist", include_in_schema=False)
def save_shortlist(
    request: Request, user: WebUserDep, session: SessionDep, form: CsrfForm, call_id: int
) -> Response:
    """A new shortlist for the call with the chosen consortium's members, in their order."""
    if not user.signed_in:
        return redirect(f"/signin?next=/calls/{call_id}")
    call = _get_call(session, call_id)
    members = [m for m in form_list(form, "organisation_id") if m.isdigit()][:MAX_SIZE]
    if not members:
        raise PageError(422, "err.required")
    name = form_text(form, "name", 200) or call.title[:200]
    try:
        created = create_shortlist(
            session, user.principal, ShortlistCreate(name=name, call_id=call_id)
        )
        for position, member in enumerate(dict.fromkeys(members)):
            add_entry(
                session,
                user.principal,
                created.id,
                ShortlistEntryCreate(organisation_id=int(member), position=position),
            )
    except NotFound as exc:
        session.rollback()
        raise PageError(404, "error.404") from exc
    return redirect(f"/shortlists/{created.id}", flash="flash.shortlist_saved")
