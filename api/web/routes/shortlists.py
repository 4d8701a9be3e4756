"""The signed-in user's shortlists: the list, one shortlist with its CSV/XLSX export links, and
"add to shortlist" from the results."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.services.catalogue import PageParams
from api.services.errors import Conflict, NotFound
from api.services.shortlists import (
    add_entry,
    create_shortlist,
    export_shortlist,
    get_shortlist,
    list_shortlists,
)
from api.web.core import CsrfForm, PageError, WebUserDep, form_text, redirect, render, safe_next
from api.web.i18n import pick_language, translator
from models.call import Call
from models.shortlist import ExportFormat, ShortlistCreate, ShortlistEntryCreate

router = APIRouter()


@router.get("/shortlists", response_class=HTMLResponse, include_in_schema=False)
def shortlists_page(request: Request, user: WebUserDep, session: SessionDep) -> Response:
    if not user.signed_in:
        return redirect("/signin?next=/shortlists")
    rows, _ = list_shortlists(session, user.principal, PageParams(limit=100))
    return render(request, "shortlists.html", {"shortlists": rows})


@router.post("/shortlists/add", include_in_schema=False)
def add_to_shortlist(
    request: Request, user: WebUserDep, session: SessionDep, form: CsrfForm
) -> Response:
    back = safe_next(form_text(form, "next", 2000), "/shortlists")
    if not user.signed_in:
        return redirect("/signin?next=/search")
    organisation = form_text(form, "organisation_id", 20)
    chosen = form_text(form, "shortlist_id", 20)
    if not organisation.isdigit():
        raise PageError(404, "error.404")
    try:
        if chosen.isdigit():
            shortlist_id = int(chosen)
        else:
            default = translator(pick_language(request))("shortlist.default_name")
            name = form_text(form, "new_name", 200) or default
            shortlist_id = create_shortlist(session, user.principal, ShortlistCreate(name=name)).id
        add_entry(
            session,
            user.principal,
            shortlist_id,
            ShortlistEntryCreate(organisation_id=int(organisation)),
        )
    except NotFound as exc:
        raise PageError(404, "error.404") from exc
    except Conflict:
        session.rollback()
        return redirect(back, flash="flash.already")
    return redirect(back, flash="flash.added")


@router.get("/shortlists/{shortlist_id}", response_class=HTMLResponse, include_in_schema=False)
def shortlist_page(
    request: Request, user: WebUserDep, session: SessionDep, shortlist_id: int
) -> Response:
    if not user.signed_in:
        return redirect(f"/signin?next=/shortlists/{shortlist_id}")
    try:
        shortlist = get_shortlist(session, user.principal, shortlist_id)
    except NotFound as exc:
        raise PageError(404, "error.404") from exc
    call = session.get(Call, shortlist.call_id) if shortlist.call_id else None
    return render(request, "shortlist.html", {"shortlist": shortlist, "call": call})


@router.get("/shortlists/{shortlist_id}/export.{fmt}", include_in_schema=False)
def export_page(
    request: Request, user: WebUserDep, session: SessionDep, shortlist_id: int, fmt: str
) -> Response:
    """The shortlist as a CSV or XLSX file (the service applies the privacy rule)."""
    if not user.signed_in:
        return redirect(f"/signin?next=/shortlists/{shortlist_id}")
    try:
        export = export_shortlist(session, user.principal, shortlist_id, ExportFormat(fmt))
    except (NotFound, ValueError) as exc:
        raise PageError(404, "error.404") from exc
    return Response(
        content=export.content,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )
