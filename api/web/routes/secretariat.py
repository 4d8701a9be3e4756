"""The secretariat's pages (staff only, a 403 page for anyone else): import jobs with their live
progress and an upload form, new calls with a "preview forward" page each, the digest preview,
and sending (forward or digests) through the outbox, in the request, so that the result page
can say what was sent, skipped or failed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from api.deps import EngineDep, SessionDep, SettingsDep
from api.services import catalogue, jobs, outbox
from api.services.digests import decide_digests, plan_digests
from api.services.errors import Conflict, InvalidInput, NotFound
from api.services.forwarding import decide_forward, preview_forward
from api.services.search_index import SearchIndexError, load_index
from api.services.web_sessions import WebUser
from api.web.core import CsrfForm, PageError, WebUserDep, form_list, form_text, redirect, render
from matcher.search import PartnerSearch
from models.call import Call
from models.common import utcnow
from models.job import ImportJob, ImportKind
from models.mailing import OutboxMessage
from models.organisation import Organisation
from models.settings import Settings

router = APIRouter(prefix="/secretariat")
JOBS_SHOWN = 20
NEW_CALL_DAYS = 30


def staff_user(user: WebUserDep) -> WebUser:
    """The signed-in staff user; a 403 page (before any form is read) for anyone else."""
    if not user.principal.is_staff:
        raise PageError(403, "error.403")
    return user


StaffDep = Annotated[WebUser, Depends(staff_user)]


def _search(settings: Settings, engine: Any) -> PartnerSearch:
    try:
        return load_index(settings, engine=engine)
    except SearchIndexError as exc:
        raise PageError(503, "error.503") from exc


def _since(request: Request) -> date:
    text = request.query_params.get("since", "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return date.today() - timedelta(days=NEW_CALL_DAYS)


def _jobs(request: Request, session: Session) -> list[dict[str, Any]]:
    rows, _ = catalogue.get_page(
        session,
        ImportJob,
        catalogue.PageParams(limit=JOBS_SHOWN),
        order_by=[col(ImportJob.id).desc()],
    )
    runner: jobs.JobRunner | None = getattr(request.app.state, "import_jobs", None)
    shown = []
    for job in rows:
        stored = (job.stage, job.done, job.total)
        stage, done, total = runner.shown_progress(job) if runner else stored
        shown.append(
            {"job": job, "stage": stage, "done": done, "total": total, "state": str(job.state)}
        )
    return shown


def _home(
    request: Request, session: Session, errors: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    since = _since(request)
    start = datetime.combine(since, datetime.min.time(), utcnow().tzinfo)
    calls = session.exec(
        select(Call)
        .where(col(Call.created_at) >= start)
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(100)
    ).all()
    shown = _jobs(request, session)
    context = {
        "jobs": shown,
        "running": any(j["state"] in ("queued", "running") for j in shown),
        "kinds": [k.value for k in ImportKind],
        "errors": errors or {},
        "calls": calls,
        "since": since.isoformat(),
        "counts": outbox.counts(session),
    }
    return render(request, "secretariat.html", context, status=status)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def secretariat_page(request: Request, user: StaffDep, session: SessionDep) -> HTMLResponse:
    return _home(request, session)


@router.post("/imports", include_in_schema=False)
def upload(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    form: CsrfForm,
) -> Response:
    """Start an import job from an uploaded file or a URL, as `POST /api/v1/imports` does. The
    app's body limit caps this path at `api_max_body_kb` (only the API's path is an upload
    prefix in `api.app`): larger files go through the API or a URL."""
    file = form.get("file")
    upload_file = file if isinstance(file, UploadFile) and file.filename else None
    try:
        kind = jobs.parse_kind(form_text(form, "kind", 40))
        checked = jobs.check_request(
            kind,
            file_name=None if upload_file is None else (upload_file.filename or ""),
            url=form_text(form, "url", jobs.URL_MAX + 1),
            source=form_text(form, "source", jobs.SOURCE_MAX + 1),
        )
        job = jobs.create_job(
            engine, settings, user.principal, checked, upload_file.file if upload_file else None
        )
    except InvalidInput as exc:
        return _home(request, session, {"upload": ("err.import", {"detail": str(exc)})}, 422)
    runner: jobs.JobRunner | None = getattr(request.app.state, "import_jobs", None)
    if runner is not None and job.id is not None:
        runner.submit(job.id)
    return redirect("/secretariat", flash="flash.import_started")


# --- forwarding a call ---------------------------------------------------------------------------


def _names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))
    ).all()
    return {i: n for i, n in rows if i is not None}


@router.get("/calls/{call_id}/forward", response_class=HTMLResponse, include_in_schema=False)
def forward_page(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    call_id: int,
) -> HTMLResponse:
    search = _search(settings, engine)
    try:
        preview = preview_forward(session, search, settings, call_id)
    except NotFound as exc:
        raise PageError(404, "error.404") from exc
    return render(request, "forward.html", {"preview": preview, "call_id": call_id})


def _send(engine: Any, settings: Settings) -> outbox.SendReport:
    return outbox.send_outbox(engine, settings)


@router.post("/calls/{call_id}/forward", include_in_schema=False)
def forward_send(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    form: CsrfForm,
    call_id: int,
) -> Response:
    chosen = sorted({int(v) for v in form_list(form, "organisation_id") if v.isdigit()})[:1000]
    if not chosen:
        return redirect(f"/secretariat/calls/{call_id}/forward", flash="flash.none_chosen")
    search = _search(settings, engine)
    call = session.get(Call, call_id)
    if call is None:
        raise PageError(404, "error.404")
    title = call.title
    session.close()
    try:
        decided = decide_forward(
            engine,
            search,
            settings,
            call_id,
            only=chosen,
            note=form_text(form, "note", 5000),
            now=utcnow(),
        )
    except NotFound as exc:
        raise PageError(404, "error.404") from exc
    except Conflict as exc:
        raise PageError(409, "error.conflict") from exc
    report = _send(engine, settings) if decided.messages else None
    return _result(request, engine, title, decided.messages, decided.skipped, report)


def _result(
    request: Request,
    engine: Any,
    title: str,
    messages: dict[int, int],
    skipped: dict[int, str],
    report: outbox.SendReport | None,
) -> HTMLResponse:
    with Session(engine) as session:
        names = _names(session, [*messages, *skipped])
        counts = outbox.counts(session)
        recipients = {
            m.id: m.recipient
            for m in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.id).in_(list(messages.values())))
            ).all()
        }
    context = {
        "title": title,
        "sent": [
            (org, names.get(org, str(org)), recipients.get(message, ""), message)
            for org, message in messages.items()
        ],
        "skipped": [(org, names.get(org, str(org)), why) for org, why in skipped.items()],
        "report": report,
        "counts": counts,
    }
    return render(request, "sent.html", context)


# --- digests -------------------------------------------------------------------------------------


@router.get("/digest", response_class=HTMLResponse, include_in_schema=False)
def digest_page(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> HTMLResponse:
    force = request.query_params.get("force") == "1"
    search = _search(settings, engine)
    plan = plan_digests(session, search, settings, now=utcnow(), force=force)
    names = _names(session, [*plan.opted_out, *plan.not_due, *plan.no_recipient])
    context = {
        "plan": plan,
        "force": force,
        "names": names,
        "counts": outbox.counts(session),
    }
    return render(request, "digest.html", context)


@router.post("/digest", response_class=HTMLResponse, include_in_schema=False)
def digest_send(
    request: Request,
    user: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    form: CsrfForm,
) -> HTMLResponse:
    search = _search(settings, engine)
    now = utcnow()
    plan = plan_digests(session, search, settings, now=now, force=form_text(form, "force") == "1")
    session.close()
    decided = decide_digests(engine, settings, plan, now=now)
    report = _send(engine, settings) if decided.messages else None
    return _result(request, engine, "", decided.messages, decided.skipped, report)
