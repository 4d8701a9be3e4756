"""An organisation's page (profile, people, projects, calls, look-alikes) and its edit form."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from api.deps import EngineDep, SessionDep, SettingsDep
from api.services.auth import Principal, can_manage_organisation
from api.services.catalogue import (
    PageParams,
    get_organisation,
    list_people,
    list_projects,
)
from api.services.editing.organisations import update_organisation
from api.services.errors import InvalidInput, NotFound
from api.services.matching import calls_for_organisation, similar_organisations
from api.services.search_index import SearchIndexError, load_index
from api.web import options
from api.web.core import (
    CsrfForm,
    PageError,
    WebUserDep,
    form_list,
    form_text,
    redirect,
    render,
    url_with,
)
from api.web.routes.search import result_view
from models.call import Call
from models.network import Membership, Network
from models.organisation import Organisation, OrganisationUpdate
from models.reference import load_countries

router = APIRouter()
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
LIMITS = {"name": 500, "city": 200, "website": 500, "description": 10_000, "contact_email": 320}


def organisation_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise PageError(404, "error.404")
    return int(raw)


def _networks(session: Session, org_id: int) -> list[str]:
    rows = session.exec(
        select(Network.name)
        .join(Membership, col(Membership.network_id) == col(Network.id))
        .where(col(Membership.organisation_id) == org_id)
        .order_by(col(Network.name))
    ).all()
    return list(rows)


def _matching(session: Session, settings: Any, engine: Any, org_id: int) -> dict[str, Any]:
    """Calls for it and similar organisations, or None for each when the index cannot tell."""
    try:
        search = load_index(settings, engine=engine)
    except SearchIndexError:
        return {"calls": None, "similar": None}
    try:
        similar = similar_organisations(search=search, org_id=org_id, top=5)
        ranking = calls_for_organisation(session=session, search=search, org_id=org_id, top=5)
    except NotFound:  # added since the index was built
        return {"calls": None, "similar": None}
    calls = []
    for hit in ranking.hits:
        call = session.get(Call, int(hit.id)) if hit.id.isdigit() else None
        deadline = call.next_deadline if call is not None else None
        url = call.url if call is not None else ""
        calls.append({"title": hit.name, "score": hit.score, "deadline": deadline, "url": url})
    return {
        "calls": calls,
        "similar": [result_view(i, hit) for i, hit in enumerate(similar.hits, 1)],
    }


@router.get("/organisations/{raw_id}", response_class=HTMLResponse, include_in_schema=False)
def organisation_page(
    raw_id: str,
    request: Request,
    user: WebUserDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> HTMLResponse:
    org_id = organisation_id(raw_id)
    principal = user.principal
    try:
        org = get_organisation(session, principal, org_id)
    except NotFound as exc:
        raise PageError(404, "error.404") from exc
    people, _ = list_people(session, principal, PageParams(limit=200), organisation_id=org_id)
    projects, _ = list_projects(session, PageParams(limit=100), organisation_id=org_id)
    context = {
        "org": org,
        "hq": options.country_name(org.hq_country) if org.hq_country else "",
        "countries": [options.country_name(c) for c in org.countries],
        "languages": [options.language_name(c) for c in org.languages],
        "networks": _networks(session, org_id),
        "people": people,
        "projects": [
            {"project": p, "countries": [options.country_name(c) for c in p.countries]}
            for p in projects
        ],
        "can_edit": can_manage_organisation(principal, org_id),
        **_matching(session, settings, engine, org_id),
    }
    return render(request, "organisation.html", context)


# --- editing -----------------------------------------------------------------------------------


def _editable(
    session: Session, principal: Principal, request: Request, org_id: int
) -> Organisation:
    """The organisation, when this principal may edit it: else a redirect to sign in (anonymous)
    or a 403 page; the form is never rendered for anyone else."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise PageError(404, "error.404")
    if not principal.is_authenticated:
        raise SignInFirst(url_with(request))
    if not can_manage_organisation(principal, org_id):
        raise PageError(403, "error.403")
    return org


class SignInFirst(Exception):
    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _values_of(org: Organisation) -> dict[str, Any]:
    return {
        "name": org.name,
        "aliases": ", ".join(org.aliases),
        "hq_country": org.hq_country or "",
        "city": org.city,
        "org_type": str(org.org_type),
        "website": org.website,
        "description": org.description,
        "languages": ", ".join(org.languages),
        "countries": list(org.countries),
        "themes": ", ".join(org.themes),
        "contact_email": org.contact_email,
    }


def validate(values: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Field -> (i18n key of the error, its placeholders)."""
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    if not values["name"]:
        errors["name"] = ("err.required", {})
    for name, limit in LIMITS.items():
        if name not in errors and len(values[name]) > limit:
            errors[name] = ("err.too_long", {"max": limit})
    known = load_countries()
    if values["hq_country"] and values["hq_country"] not in known:
        errors["hq_country"] = ("err.country", {})
    if any(code not in known for code in values["countries"]):
        errors["countries"] = ("err.country", {})
    if values["org_type"] not in options.ORG_TYPES:
        errors["org_type"] = ("err.type", {})
    website = values["website"]
    if "website" not in errors and website and not re.match(r"^https?://[^\s/]+\.\S*$", website):
        errors["website"] = ("err.url", {})
    email = values["contact_email"]
    if "contact_email" not in errors and email and not EMAIL.match(email):
        errors["contact_email"] = ("err.email", {})
    if any(not LANGUAGE.match(code) for code in _split(values["languages"].lower())):
        errors["languages"] = ("err.language", {})
    return errors


def _edit_page(
    request: Request, org: Organisation, values: dict[str, Any], errors: dict[str, Any], status: int
) -> HTMLResponse:
    context = {
        "org_id": org.id,
        "org_name": org.name,
        "values": values,
        "errors": errors,
        "country_choices": options.countries(),
        "type_choices": options.ORG_TYPES,
    }
    return render(request, "edit.html", context, status=status)


@router.get("/organisations/{raw_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_page(raw_id: str, request: Request, user: WebUserDep, session: SessionDep) -> Response:
    try:
        org = _editable(session, user.principal, request, organisation_id(raw_id))
    except SignInFirst as exc:
        return redirect(url_with_next(exc.back))
    return _edit_page(request, org, _values_of(org), {}, 200)


def url_with_next(back: str) -> str:
    from urllib.parse import quote

    return f"/signin?next={quote(back, safe='/')}"


@router.post("/organisations/{raw_id}/edit", include_in_schema=False)
def edit(
    raw_id: str, request: Request, user: WebUserDep, session: SessionDep, form: CsrfForm
) -> Response:
    org_id = organisation_id(raw_id)
    try:
        org = _editable(session, user.principal, request, org_id)
    except SignInFirst as exc:
        return redirect(url_with_next(exc.back))
    values: dict[str, Any] = {
        name: form_text(form, name)
        for name in (
            "name",
            "aliases",
            "hq_country",
            "city",
            "org_type",
            "website",
            "description",
            "languages",
            "themes",
            "contact_email",
        )
    }
    values["hq_country"] = values["hq_country"].upper()
    values["countries"] = [c.upper() for c in form_list(form, "countries")]
    errors = validate(values)
    if errors:
        return _edit_page(request, org, values, errors, 422)
    update = OrganisationUpdate(
        name=values["name"],
        aliases=_split(values["aliases"]),
        hq_country=values["hq_country"] or None,
        city=values["city"],
        org_type=values["org_type"],
        website=values["website"],
        description=values["description"],
        languages=_split(values["languages"].lower()),
        countries=values["countries"],
        themes=_split(values["themes"]),
        contact_email=values["contact_email"],
    )
    try:
        update_organisation(session, user.principal, org_id, update)
    except InvalidInput as exc:
        session.rollback()
        errors = {"form": ("edit.has_errors", {}), "detail": (str(exc), {})}
        return _edit_page(request, org, values, errors, 422)
    return redirect(f"/organisations/{org_id}", flash="flash.saved")
