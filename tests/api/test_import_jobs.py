"""Import jobs over the API: real uploads and a real local HTTP server, imported in the background
into a real SQLite database, polled until they end."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.services.jobs import INTERRUPTED, UPLOAD_LOST, safe_file_name
from models.call import Call
from models.db import session_scope
from models.job import ImportJob, ImportKind, JobState
from models.project import Project
from models.settings import Settings
from tests.api.conftest import Api
from tests.conftest import FIXTURES
from tests.scrapers.local_server import LocalServer, Route

IATI = FIXTURES / "iati" / "cafod-v1.00.xml"
URL = "/api/v1/imports"


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def settings_of(api: Api) -> Settings:
    settings: Settings = api.client.app.state.settings  # type: ignore[attr-defined]
    return settings


def upload(
    client: TestClient,
    headers: dict[str, str],
    kind: str,
    path: Path | None = None,
    *,
    name: str | None = None,
    content: bytes | None = None,
    **fields: str,
) -> Any:
    files = None
    if path is not None or content is not None:
        body = content if content is not None else path.read_bytes()  # type: ignore[union-attr]
        files = {"file": (name or (path.name if path else "upload"), body)}
    return client.post(URL, headers=headers, data={"kind": kind, **fields}, files=files)


def wait(client: TestClient, headers: dict[str, str], job_id: int, timeout: float = 30) -> Any:
    """The job once it has ended (done, failed or interrupted)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"{URL}/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed", "interrupted"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.1)


def jobs_left(api: Api) -> list[Path]:
    folder = settings_of(api).jobs_dir
    return sorted(folder.iterdir()) if folder.exists() else []


# --- running jobs -------------------------------------------------------------------------------


def test_an_uploaded_iati_file_is_imported_in_the_background(api: Api) -> None:
    staff = api.as_("secretariat")
    before = count(api.engine, Project)
    response = upload(api.client, staff, "iati", IATI)
    assert response.status_code == 202, response.text
    created = response.json()
    assert response.headers["location"] == f"{URL}/{created['id']}"
    assert created["state"] in ("queued", "running", "done")
    assert created["kind"] == "iati" and created["source"] == "cafod-v1.00.xml"

    job = wait(api.client, staff, created["id"])
    assert job["state"] == "done", job
    assert "projects: 57 new" in job["summary"]
    assert "run `healthmatch index`" in job["summary"]
    assert job["error"] == ""
    assert job["stage"] == "projects" and job["done"] == job["total"] == 57
    assert job["started_at"].endswith("Z") and job["finished_at"].endswith("Z")  # UTC
    assert count(api.engine, Project) == before + 57
    assert jobs_left(api) == []  # the upload and its folder are gone

    listed = api.client.get(URL, headers=staff, params={"state": "done"}).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == created["id"]
    assert api.client.get(URL, headers=staff, params={"state": "failed"}).json()["count"] == 0


def test_jobs_run_one_after_another_and_are_listed_newest_first(api: Api) -> None:
    staff = api.as_("admin")
    first = upload(api.client, staff, "iati", IATI).json()
    again = upload(api.client, staff, "iati", IATI).json()
    assert wait(api.client, staff, first["id"])["state"] == "done"
    second = wait(api.client, staff, again["id"])
    assert "projects: 0 new, 0 updated, 57 unchanged" in second["summary"]
    assert "healthmatch index" not in second["summary"]  # nothing new: the index is current
    listed = api.client.get(URL, headers=staff, params={"kind": "iati"}).json()
    assert [job["id"] for job in listed["data"]] == [again["id"], first["id"]]


TRUNCATED = IATI.read_bytes()[: len(IATI.read_bytes()) // 2]
ENTITIES = b"""<?xml version="1.0"?>
<!DOCTYPE iati-activities [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<iati-activities version="1.03"><iati-activity><iati-identifier>X-1</iati-identifier>
<title>&lol2;</title></iati-activity></iati-activities>
"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [(TRUNCATED, "malformed or truncated XML"), (ENTITIES, "refused: the document declares")],
)
def test_a_broken_or_hostile_file_fails_and_stores_nothing(
    api: Api, content: bytes, reason: str
) -> None:
    staff = api.as_("secretariat")
    before = count(api.engine, Project)
    created = upload(api.client, staff, "iati", content=content, name="activities.xml").json()
    job = wait(api.client, staff, created["id"])
    assert job["state"] == "failed", job
    assert reason in job["error"]
    assert job["error"].startswith("activities.xml")  # the client's name, not the server's path
    assert str(settings_of(api).jobs_dir) not in job["error"]
    assert job["summary"] == ""
    assert count(api.engine, Project) == before
    assert jobs_left(api) == []


def test_a_cordis_job_needs_the_zip(api: Api) -> None:
    staff = api.as_("secretariat")
    path = FIXTURES / "cordis" / "project.csv"
    created = upload(api.client, staff, "cordis", path, source="cordis-h2020").json()
    job = wait(api.client, staff, created["id"])
    assert job["state"] == "failed"
    assert job["error"].startswith("project.csv: not a zip archive")


def test_a_url_is_fetched_then_imported(api: Api) -> None:
    staff = api.as_("secretariat")
    with LocalServer() as server:
        server.routes["/funding/calls.atom"] = Route.from_file(
            FIXTURES / "feeds" / "calls.atom.xml", "application/atom+xml"
        )
        settings = settings_of(api).model_copy(
            update={
                "fetch_allowed_origins": server.origin,
                "fetch_min_interval_s": 0.0,
                "fetch_cache_dir": None,
            }
        )
        before = count(api.engine, Call)
        with TestClient(create_app(settings, engine=api.engine)) as client:
            url = server.url("/funding/calls.atom")
            response = upload(client, staff, "feed", url=url, source="feed:funder")
            assert response.status_code == 202, response.text
            assert response.json()["source"] == url
            job = wait(client, staff, response.json()["id"])
            missing = upload(client, staff, "feed", url=server.url("/gone.atom")).json()
            gone = wait(client, staff, missing["id"])
        assert job["state"] == "done", job
        assert "calls:" in job["summary"] and job["summary"].startswith("feed:funder")
        assert count(api.engine, Call) > before
        assert "/funding/calls.atom" in server.paths()
    assert gone["state"] == "failed"
    assert "HTTP 404" in gone["error"] and "/gone.atom" in gone["error"]


# --- refusals -----------------------------------------------------------------------------------


def test_only_staff_start_and_read_jobs(api: Api) -> None:
    assert upload(api.client, api.as_(None), "iati", IATI).status_code == 401
    for member in ("member_a", "member_b"):
        assert upload(api.client, api.as_(member), "iati", IATI).status_code == 403
        assert api.client.get(URL, headers=api.as_(member)).status_code == 403
    assert api.client.get(URL).status_code == 401
    assert api.client.get(f"{URL}/1", headers=api.as_("member_a")).status_code == 403
    assert count(api.engine, ImportJob) == 0
    assert jobs_left(api) == []


@pytest.mark.parametrize(
    ("kind", "with_file", "fields", "detail"),
    [
        ("bench", True, {}, "kind must be one of"),
        ("iati", False, {}, "give a file to upload or a url to fetch"),
        ("iati", True, {"url": "https://example.org/a.xml"}, "not both"),
        ("iati", False, {"url": "ftp://example.org/a.xml"}, "http:// or https://"),
        ("iati", False, {"url": "file:///etc/passwd"}, "http:// or https://"),
        ("iati", True, {"source": "mine"}, "takes no source label"),
        ("iati", True, {"colour": "red"}, "unknown form fields: colour"),
    ],
)
def test_invalid_requests_are_refused_before_queuing(
    api: Api, kind: str, with_file: bool, fields: dict[str, str], detail: str
) -> None:
    files = {"file": (IATI.name, IATI.read_bytes())} if with_file else None
    data = {"kind": kind, **fields}
    response = api.client.post(URL, headers=api.as_("secretariat"), data=data, files=files)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert count(api.engine, ImportJob) == 0
    assert jobs_left(api) == []


def test_two_files_or_a_text_file_field_are_refused(api: Api) -> None:
    staff = api.as_("secretariat")
    part = (IATI.name, IATI.read_bytes())
    two = api.client.post(
        URL, headers=staff, data={"kind": "iati"}, files=[("file", part), ("file", part)]
    )
    assert two.status_code == 422 and "multipart" in two.json()["detail"]
    text = api.client.post(URL, headers=staff, data={"kind": "iati", "file": "cafod.xml"})
    assert text.status_code == 422 and "file part" in text.json()["detail"]
    assert count(api.engine, ImportJob) == 0


def test_an_empty_upload_is_refused(api: Api) -> None:
    response = upload(api.client, api.as_("secretariat"), "csv", content=b"", name="m.csv")
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]
    assert jobs_left(api) == []


def test_an_unknown_job_is_404(api: Api) -> None:
    response = api.client.get(f"{URL}/999999", headers=api.as_("secretariat"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_upload_over_the_limit_is_413(api: Api) -> None:
    settings = settings_of(api).model_copy(update={"api_max_upload_mb": 1})
    with TestClient(create_app(settings, engine=api.engine)) as client:
        big = b"<iati-activities>" + b" " * (1024 * 1024 + 10) + b"</iati-activities>"
        response = upload(client, api.as_("secretariat"), "iati", content=big, name="big.xml")
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert count(api.engine, ImportJob) == 0
    assert jobs_left(api) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\members list.csv", "members_list.csv"),
        ("..", "upload.xml"),
        (".hidden.xml", "hidden.xml"),
        ("", "upload.xml"),
        ("a" * 300 + ".xml", "a" * 100 + ".xml"),
        ("Mitglieder-Übersicht.xlsx", "Mitglieder-Übersicht.xlsx"),
        ("x;rm -rf $HOME.xml", "x_rm_-rf__HOME.xml"),
    ],
)
def test_upload_names_are_reduced_to_a_safe_base_name(name: str, expected: str) -> None:
    assert safe_file_name(name, ImportKind.IATI) == expected


# --- a restarted server ---------------------------------------------------------------------------


def test_a_restart_interrupts_running_jobs_and_runs_queued_ones(api: Api) -> None:
    settings = settings_of(api)
    folder = settings.jobs_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    kept = folder / "cafod.xml"
    shutil.copy(IATI, kept)
    with session_scope(api.engine) as session:
        rows = [
            ImportJob(kind="iati", source="old.xml", state=JobState.RUNNING),
            ImportJob(kind="iati", source="cafod.xml", upload_path=str(kept)),
            ImportJob(
                kind="iati", source="lost.xml", upload_path=str(settings.jobs_dir / "x" / "l.xml")
            ),
            ImportJob(
                kind="feed",
                source="https://127.0.0.1:9/none",
                options=json.dumps({"url": "https://127.0.0.1:9/none"}),
                state=JobState.DONE,
            ),
        ]
        session.add_all(rows)
        session.flush()
        running, queued, lost, done = (row.id for row in rows)
    staff = api.as_("secretariat")
    with TestClient(create_app(settings, engine=api.engine)) as client:
        interrupted = client.get(f"{URL}/{running}", headers=staff).json()
        assert interrupted["state"] == "interrupted"
        assert interrupted["error"] == INTERRUPTED
        assert interrupted["finished_at"]
        gone = client.get(f"{URL}/{lost}", headers=staff).json()
        assert gone["state"] == "interrupted" and gone["error"] == UPLOAD_LOST
        job = wait(client, staff, queued)  # type: ignore[arg-type]
        assert client.get(f"{URL}/{done}", headers=staff).json()["state"] == "done"
    assert job["state"] == "done", job
    assert "projects: 57 new" in job["summary"]
    assert not folder.exists()
