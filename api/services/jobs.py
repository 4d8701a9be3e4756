"""Import jobs started over the API: the upload kept until its job ends, one worker thread per app.

- `create_job` checks a request, copies the upload in chunks to `settings.jobs_dir/<uuid>/<name>`
  (a safe name, never the client's path) and writes the job row (queued): all of it before the
  API answers 202.
- `JobRunner` is a single worker thread fed by a queue of job ids: imports write the same tables,
  so one runs at a time. A job is claimed with a conditional UPDATE (queued -> running), so it
  runs once even if it is queued twice. A URL is fetched first (the guarded fetcher), then the
  import runs in ONE transaction that also writes the job's final row (done + summary): a failed
  import stores nothing, and its job is marked failed in a short transaction of its own.
- Progress (stage, done, total) is kept in memory while a job runs, in a lock-guarded dict the
  status endpoint overlays on the row: the import holds SQLite's write lock until it commits, so a
  progress row written meanwhile would have to wait for it.
- `start` marks jobs left running by a previous process interrupted (nothing of them was stored)
  and queues again the queued jobs whose upload is still there. The runner assumes one API
  process per database (uvicorn without `--workers`).
- The search index is not rebuilt: the summary says so when something was stored.
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select, update

from api.services.auth import Principal
from api.services.errors import InvalidInput
from api.services.fetching import make_fetcher
from models.common import utcnow
from models.db import session_scope
from models.job import KINDS_WITH_SOURCE, ImportJob, ImportKind, JobState
from models.settings import Settings
from scrapers.call_imports import import_eu_portal, import_feed, import_grants_gov
from scrapers.errors import ImportFailed, SourceFileError
from scrapers.inputs import is_url, local_copy
from scrapers.pipeline import (
    ImportReport,
    ProgressFactory,
    import_cordis,
    import_iati,
    import_spreadsheet,
)
from scrapers.store import Progress as Advance

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024  # bytes copied at a time from an upload
STOP_TIMEOUT_S = 10.0  # how long stopping waits for the job that runs
URL_MAX = 2000
SOURCE_MAX = 64
ERROR_MAX = 4000
INTERRUPTED = "the server stopped while it ran; nothing of it was stored — start it again"
UPLOAD_LOST = "the uploaded file was lost while the server was stopped; upload it again"
STALE_INDEX = "the search index is out of date: run `healthmatch index`"
DEFAULT_SUFFIX = {
    ImportKind.IATI: ".xml",
    ImportKind.CSV: ".csv",
    ImportKind.XLSX: ".xlsx",
    ImportKind.EU_PORTAL: ".json",
    ImportKind.GRANTS_GOV: ".xml",
    ImportKind.FEED: ".xml",
    ImportKind.CORDIS: ".zip",
}


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    """A checked request: its kind, and either an upload's safe name or a URL."""

    kind: ImportKind
    file_name: str = ""  # the safe name the upload is kept under
    url: str = ""
    source: str = ""  # the provenance label, for the kinds in KINDS_WITH_SOURCE


def parse_kind(value: object) -> ImportKind:
    try:
        return ImportKind(str(value).strip())
    except ValueError:
        kinds = ", ".join(kind.value for kind in ImportKind)
        raise InvalidInput(f"kind must be one of: {kinds}") from None


def check_request(
    kind: ImportKind, *, file_name: str | None, url: str | None, source: str | None
) -> JobRequest:
    """The request, or `InvalidInput` saying what is wrong with it. `file_name` is the client's
    name of an upload (None: no upload)."""
    url = (url or "").strip()
    source = (source or "").strip()
    if file_name is not None and url:
        raise InvalidInput("give either a file or a url, not both")
    if file_name is None and not url:
        raise InvalidInput("give a file to upload or a url to fetch")
    if url:
        if len(url) > URL_MAX:
            raise InvalidInput(f"the url is longer than {URL_MAX} characters")
        if not is_url(url) or not urlsplit(url).hostname:
            raise InvalidInput("the url must be an http:// or https:// URL with a host")
    if source:
        if kind not in KINDS_WITH_SOURCE:
            raise InvalidInput(f"kind {kind.value} takes no source label")
        if len(source) > SOURCE_MAX:
            raise InvalidInput(f"the source label is longer than {SOURCE_MAX} characters")
    name = safe_file_name(file_name, kind) if file_name is not None else ""
    return JobRequest(kind, file_name=name, url=url, source=source)


def safe_file_name(name: str, kind: ImportKind) -> str:
    """The client's file name reduced to a safe base name: no folders (``/`` or ``\\``), letters,
    digits and ``._-`` only, no leading dot, at most ~120 characters, its suffix kept (some parsers
    look at it); ``upload.<suffix of the kind>`` when nothing is left."""
    base = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base.replace(" ", "_"))
    safe = safe.lstrip("._-")
    suffix = PurePosixPath(safe).suffix if safe else ""
    stem = safe[: len(safe) - len(suffix)] if suffix else safe
    safe = stem[:100] + suffix[:20]
    if not stem:
        return "upload" + (suffix[:20] or DEFAULT_SUFFIX[kind])
    return safe


def create_job(
    engine: Engine,
    settings: Settings,
    principal: Principal,
    request: JobRequest,
    upload: IO[bytes] | None,
) -> ImportJob:
    """Keep the upload (if any) under `settings.jobs_dir` and write the queued job row."""
    folder: Path | None = None
    upload_path = ""
    try:
        if upload is not None:
            folder = settings.jobs_dir / uuid.uuid4().hex
            folder.mkdir(parents=True)
            path = folder / request.file_name
            if _copy(upload, path) == 0:
                raise InvalidInput("the uploaded file is empty")
            upload_path = str(path)
        options = {"url": request.url, "source": request.source}
        job = ImportJob(
            kind=request.kind.value,
            source=request.url or request.file_name,
            options=json.dumps(options),
            upload_path=upload_path,
            created_by=principal.user_id,
        )
        with session_scope(engine) as session:
            session.add(job)
            session.flush()
            session.refresh(job)
            session.expunge(job)
        return job
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _copy(upload: IO[bytes], path: Path) -> int:
    written = 0
    with path.open("xb") as out:
        while chunk := upload.read(CHUNK):
            out.write(chunk)
            written += len(chunk)
    return written


# --- importers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInput:
    path: Path  # the local file: the upload, or the fetched copy of the URL
    url: str
    source: str


Importer = Callable[[Session, JobInput, ProgressFactory], ImportReport]


def _cordis(session: Session, job: JobInput, progress: ProgressFactory) -> ImportReport:
    if not zipfile.is_zipfile(job.path):
        raise SourceFileError(
            job.path,
            None,
            "not a zip archive: give the published CORDIS zip (project.csv and "
            "organization.csv inside)",
        )
    return import_cordis(session, [job.path], source=job.source or "cordis", progress=progress)


IMPORTERS: dict[ImportKind, Importer] = {
    ImportKind.IATI: lambda s, j, p: import_iati(s, j.path, progress=p),
    ImportKind.CSV: lambda s, j, p: import_spreadsheet(s, [j.path], progress=p),
    ImportKind.XLSX: lambda s, j, p: import_spreadsheet(s, [j.path], progress=p),
    ImportKind.EU_PORTAL: lambda s, j, p: import_eu_portal(s, j.path, progress=p),
    ImportKind.GRANTS_GOV: lambda s, j, p: import_grants_gov(s, j.path, progress=p),
    ImportKind.FEED: lambda s, j, p: import_feed(
        s, j.path, feed_url=j.url, source=j.source or None, progress=p
    ),
    ImportKind.CORDIS: _cordis,
}


def describe(report: ImportReport) -> str:
    """The report's summary, and a reminder to rebuild the index when something was stored."""
    changed = any(c.inserted or c.updated or c.merged for c in report.counts.values())
    return report.summary() + (f"\n{STALE_INDEX}" if changed else "")


# --- the runner -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    stage: str = ""
    done: int = 0
    total: int = 0


class JobRunner:
    """One worker thread running queued import jobs in turn; see the module docstring."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._live: dict[int, Progress] = {}
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> None:
        for job_id in self.recover():
            self._queue.put(job_id)
        self._thread = threading.Thread(
            target=self._work, name="healthmatch-import-jobs", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop after the job that runs (the queued ones stay queued); False if it still runs."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("an import job still runs after %.0f s; it will be interrupted", timeout)
            return False
        return True

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)

    def progress(self, job_id: int) -> Progress | None:
        """The live progress of a running job (None when it does not run here)."""
        with self._lock:
            return self._live.get(job_id)

    def shown_progress(self, job: ImportJob) -> tuple[str, int, int]:
        """(stage, done, total) of a job: live while it runs here, else as stored."""
        live = self.progress(job.id) if job.state == JobState.RUNNING and job.id else None
        if live is not None:
            return live.stage, live.done, live.total
        return job.stage, job.done, job.total

    def recover(self) -> list[int]:
        """Jobs a previous process left: running -> interrupted; queued -> queued again (their
        ids, oldest first) if their upload is still there, else interrupted."""
        requeued: list[int] = []
        ended: list[str] = []
        try:
            with session_scope(self.engine) as session:
                for job in session.exec(
                    select(ImportJob)
                    .where(col(ImportJob.state).in_([JobState.RUNNING, JobState.QUEUED]))
                    .order_by(col(ImportJob.id))
                ):
                    assert job.id is not None
                    lost = job.upload_path != "" and not Path(job.upload_path).is_file()
                    if job.state == JobState.QUEUED and not lost:
                        requeued.append(job.id)
                        continue
                    job.error = INTERRUPTED if job.state == JobState.RUNNING else UPLOAD_LOST
                    job.state = JobState.INTERRUPTED
                    job.finished_at = utcnow()
                    session.add(job)
                    ended.append(job.upload_path)
        except SQLAlchemyError:  # e.g. a database not migrated yet: the API still starts
            logger.exception("import jobs: cannot read the jobs left by a previous run")
            return []
        for upload_path in ended:
            self._remove_upload(upload_path)
        if ended or requeued:
            logger.info("import jobs: %d interrupted, %d queued again", len(ended), len(requeued))
        return requeued

    # -- the worker --

    def _work(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None or self._stop.is_set():
                break
            try:
                self.run(job_id)
            except Exception:  # the worker must survive anything, even a failing database
                logger.exception("import job %s: the runner failed", job_id)

    def run(self, job_id: int) -> None:
        """Run one queued job to its end (done or failed); nothing if it is not queued."""
        job = self._claim(job_id)
        if job is None:
            return
        options: dict[str, Any] = json.loads(job.options or "{}")
        url = str(options.get("url") or "")
        source = str(options.get("source") or "")
        shown = job.source or "upload"
        try:
            with self._local_file(job, url) as path:
                try:
                    self._import(job_id, ImportKind(job.kind), JobInput(path, url, source), shown)
                except ImportFailed as exc:
                    self._fail(job_id, str(exc).replace(str(path), shown))
        except ImportFailed as exc:  # the URL could not be fetched, the upload is gone
            self._fail(job_id, str(exc))
        except Exception as exc:
            logger.exception("import job %s (%s) failed unexpectedly", job_id, job.kind)
            self._fail(job_id, f"internal error: {type(exc).__name__}")
        finally:
            with self._lock:
                self._live.pop(job_id, None)
            self._remove_upload(job.upload_path)

    def _claim(self, job_id: int) -> ImportJob | None:
        with Session(self.engine) as session:
            claimed = session.exec(
                update(ImportJob)
                .where(col(ImportJob.id) == job_id, col(ImportJob.state) == JobState.QUEUED)
                .values(state=JobState.RUNNING, started_at=utcnow(), stage="starting")
            )
            session.commit()
            if claimed.rowcount != 1:
                logger.info("import job %s is not queued any more; skipped", job_id)
                return None
            job = session.get(ImportJob, job_id)
            if job is not None:
                session.expunge(job)
        self._set(job_id, Progress("starting"))
        return job

    @contextmanager
    def _local_file(self, job: ImportJob, url: str) -> Iterator[Path]:
        if url:
            assert job.id is not None
            self._set(job.id, Progress("fetching"))
            with make_fetcher(self.settings) as fetcher, local_copy(url, fetcher) as path:
                yield path
            return
        path = Path(job.upload_path)
        if not path.is_file():
            raise ImportFailed(UPLOAD_LOST)
        yield path

    def _import(self, job_id: int, kind: ImportKind, data: JobInput, shown: str) -> None:
        """The import and the job's final row, in one transaction."""
        with session_scope(self.engine) as session:
            report = IMPORTERS[kind](session, data, self._factory(job_id))
            job = session.get(ImportJob, job_id)
            if job is None:  # deleted meanwhile: keep the data all the same
                return
            live = self.progress(job_id) or Progress()
            job.state = JobState.DONE
            job.summary = describe(report).replace(str(data.path), shown)
            job.stage, job.done, job.total = live.stage, live.done, live.total
            job.finished_at = utcnow()
            session.add(job)

    def _fail(self, job_id: int, message: str) -> None:
        live = self.progress(job_id) or Progress()
        with session_scope(self.engine) as session:
            job = session.get(ImportJob, job_id)
            if job is None:
                return
            job.state = JobState.FAILED
            job.error = message[:ERROR_MAX]
            job.stage, job.done, job.total = live.stage, live.done, live.total
            job.finished_at = utcnow()
            session.add(job)

    # -- progress --

    def _set(self, job_id: int, progress: Progress) -> None:
        with self._lock:
            self._live[job_id] = progress

    def _factory(self, job_id: int) -> ProgressFactory:
        def factory(label: str, total: int) -> Advance:
            self._set(job_id, Progress(label[:64], 0, total))

            def advance(n: int) -> None:
                with self._lock:
                    current = self._live.get(job_id)
                    if current is not None and current.stage == label[:64]:
                        self._live[job_id] = replace(current, done=current.done + n)

            return advance

        return factory

    def _remove_upload(self, upload_path: str) -> None:
        """The upload's own folder, and only a folder right under `jobs_dir`."""
        if not upload_path:
            return
        folder = Path(upload_path).parent
        try:
            inside = folder.resolve().parent == self.settings.jobs_dir.resolve()
        except OSError:
            return
        if inside and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
