"""Import jobs: the secretariat uploads a file (or names a URL); it is imported in the background.

The form is read only after the caller is known to be staff, so an anonymous or member request
is refused before its body is parsed; the body is capped by `api_max_upload_mb` (413).
"""

from __future__ import annotations

from typing import IO, Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from api.deps import EngineDep, PageDep, PrincipalDep, SessionDep, SettingsDep
from api.errors import PROBLEM
from api.schemas import ProblemOut
from api.services import catalogue, jobs
from api.services.auth import require_staff
from api.services.errors import InvalidInput, NotFound
from models.job import (
    KINDS_WITH_SOURCE,
    ImportJob,
    ImportJobPublic,
    ImportJobsPublic,
    ImportKind,
    JobState,
)

router = APIRouter(prefix="/imports", tags=["imports"])

_PROBLEM = {PROBLEM: {"schema": ProblemOut.model_json_schema()}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an invalid one.", "content": _PROBLEM},
    403: {"description": "Only the secretariat or an admin may do this.", "content": _PROBLEM},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such import job.", "content": _PROBLEM},
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "The request is not valid (the detail says why).", "content": _PROBLEM},
}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"description": "The upload exceeds `api_max_upload_mb`.", "content": _PROBLEM},
}
_SOURCE_KINDS = ", ".join(sorted(kind.value for kind in KINDS_WITH_SOURCE))
UPLOAD_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {
            "type": "string",
            "enum": [kind.value for kind in ImportKind],
            "description": "What the file holds: iati (IATI activity XML), csv / xlsx (members "
            "and their projects), eu-portal (Funding & Tenders JSON/CSV), grants-gov (XML extract "
            "or its zip), feed (RSS/Atom), cordis (the published zip).",
        },
        "file": {"type": "string", "format": "binary", "description": "The file to import."},
        "url": {
            "type": "string",
            "maxLength": jobs.URL_MAX,
            "description": "An http(s) URL to fetch instead of a file (exactly one of the two).",
        },
        "source": {
            "type": "string",
            "maxLength": jobs.SOURCE_MAX,
            "description": f"Provenance source label; only for {_SOURCE_KINDS}.",
        },
    },
}
FORM_FIELDS = frozenset(UPLOAD_FORM["properties"])


def _runner(app: Any) -> jobs.JobRunner | None:
    runner: jobs.JobRunner | None = getattr(app.state, "import_jobs", None)
    return runner


def start_jobs(app: FastAPI) -> None:
    """Start the app's job runner (see `api.services.jobs`), at the start of its lifespan."""
    runner = jobs.JobRunner(app.state.engine, app.state.settings)
    app.state.import_jobs = runner
    runner.start()


def stop_jobs(app: FastAPI) -> None:
    """Stop the runner after the job that runs; jobs still queued run at the next start."""
    runner = _runner(app)
    if runner is not None:
        runner.stop()
        app.state.import_jobs = None


def _public(request: Request, job: ImportJob) -> ImportJobPublic:
    public = ImportJobPublic.model_validate(job)
    runner = _runner(request.app)
    if runner is not None:
        public.stage, public.done, public.total = runner.shown_progress(job)
    return public


async def _form(request: Request) -> FormData:
    """The multipart form (one file at most); a malformed one is a 422, like any invalid input."""
    try:
        return await request.form(max_files=1, max_fields=len(FORM_FIELDS))
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        raise InvalidInput(f"not a valid multipart/form-data body: {exc.detail}") from None


def _checked(form: FormData) -> tuple[jobs.JobRequest, IO[bytes] | None]:
    """The checked request, and the uploaded file's stream (None for a URL)."""
    unknown = sorted(set(form.keys()) - FORM_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown form fields: {', '.join(unknown)}")
    if any(len(form.getlist(name)) > 1 for name in FORM_FIELDS):
        raise InvalidInput("give each form field once")
    if form.get("kind") is None:
        raise InvalidInput("kind is required")
    kind = jobs.parse_kind(_text(form.get("kind"), "kind"))
    upload = form.get("file")
    if isinstance(upload, str) and upload == "":
        upload = None  # an empty file input of a browser form
    if upload is not None and not isinstance(upload, UploadFile):
        raise InvalidInput("file must be a file part (multipart/form-data)")
    checked = jobs.check_request(
        kind,
        file_name=None if upload is None else (upload.filename or ""),
        url=_text(form.get("url"), "url"),
        source=_text(form.get("source"), "source"),
    )
    return checked, None if upload is None else upload.file


def _text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a text field, not a file")
    return value


@router.post(
    "",
    status_code=202,
    summary="Start an import job from an uploaded file or a URL",
    description="Queues the import and answers at once (202, `Location` of the job); poll the "
    "job until it is `done` or `failed`. Jobs run one at a time, each in one transaction: a "
    "failed import stores nothing. The search index is not rebuilt (run `healthmatch index`).",
    responses={**RESPONSES, **TOO_LARGE, **INVALID},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": UPLOAD_FORM}},
        }
    },
)
async def create_import(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ImportJobPublic:
    require_staff(principal)
    form = await _form(request)
    try:
        checked, upload = _checked(form)
        job = await run_in_threadpool(jobs.create_job, engine, settings, principal, checked, upload)
    finally:
        await form.close()
    assert job.id is not None
    runner = _runner(request.app)
    if runner is not None:  # without one, the job runs at the next start
        runner.submit(job.id)
    response.headers["Location"] = request.url_for("read_import", job_id=job.id).path
    return _public(request, job)


@router.get(
    "",
    summary="List import jobs, newest first",
    responses={**RESPONSES, **INVALID},
)
def list_imports(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[ImportKind | None, Query(description="Only jobs of this kind.")] = None,
) -> ImportJobsPublic:
    require_staff(principal)
    where = []
    if state is not None:
        where.append(col(ImportJob.state) == state)
    if kind is not None:
        where.append(col(ImportJob.kind) == kind.value)
    rows, count = catalogue.get_page(
        session, ImportJob, page, where=where, order_by=[col(ImportJob.id).desc()]
    )
    return ImportJobsPublic(data=[_public(request, row) for row in rows], count=count)


@router.get(
    "/{job_id}",
    summary="Read an import job: its state, live progress, summary or error",
    responses={**RESPONSES, **NOT_FOUND, **INVALID},
)
def read_import(
    request: Request, session: SessionDep, principal: PrincipalDep, job_id: int
) -> ImportJobPublic:
    require_staff(principal)
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("import job", job_id)
    return _public(request, job)
