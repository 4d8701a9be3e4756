"""The secretariat's pages through a TestClient: staff only, import jobs and uploads, new calls,
forwarding a call to an edited list through a real local SMTP server, and the digest."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.db import session_scope
from models.job import ImportJob
from models.mailing import OutboxMessage
from models.organisation import Organisation
from tests.api.smtp_server import LocalSmtp, smtp_server_fixture  # noqa: F401
from tests.web.conftest import Site, csrf_of, sign_in

ADDRESSES = {"ministry": "health@ministry.example", "tropical": "office@tropical.example"}


@pytest.fixture(scope="module")
def addresses(site: Site) -> dict[str, str]:
    """Contact e-mails for two more network members (malaria_ngo has one already)."""
    with session_scope(site.engine) as session:
        for key, email in ADDRESSES.items():
            org = session.get(Organisation, site.ids[key])
            assert org is not None
            org.contact_email = email
            session.add(org)
    return {**ADDRESSES, "malaria_ngo": "office@malaria-ngo.example"}


@pytest.fixture
def mail(site: Site, smtp_server: LocalSmtp) -> Iterator[LocalSmtp]:
    """The app sends to a real local SMTP server during the test."""
    before = site.app.state.settings
    site.app.state.settings = before.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_timeout_s": 5.0,
            "smtp_retry_base_s": 0.0,
        }
    )
    try:
        yield smtp_server
    finally:
        site.app.state.settings = before


STAFF_PAGES = ("/secretariat", "/secretariat/digest", "/secretariat/calls/{call}/forward")


@pytest.mark.parametrize("role", [None, "member_a"])
def test_secretariat_pages_are_for_staff_only(
    client: TestClient, site: Site, role: str | None
) -> None:
    if role:
        assert sign_in(client, role).status_code == 303
    call = site.ids["malaria_call"]
    for path in STAFF_PAGES:
        page = client.get(path.format(call=call))
        assert page.status_code == 403, path
        assert "You may not open this page." in page.text
    token = csrf_of(client.get("/search").text) if role else "x"
    for path in (
        "/secretariat/imports",
        "/secretariat/digest",
        f"/secretariat/calls/{call}/forward",
    ):
        refused = client.post(path, data={"csrf_token": token, "organisation_id": "1"})
        assert refused.status_code == 403, path
    assert 'href="/secretariat"' not in client.get("/").text


def test_secretariat_home_lists_jobs_new_calls_and_the_outbox(
    client: TestClient, site: Site
) -> None:
    with session_scope(site.engine) as session:
        session.add(
            ImportJob(kind="csv", source="<b>members</b>.csv", state="running", done=3, total=10)
        )
    sign_in(client, "admin")
    page = client.get("/secretariat")
    assert page.status_code == 200
    html = page.text
    assert '<meta http-equiv="refresh" content="5">' in html  # a job runs
    assert '<progress id="p-' in html and 'max="10" value="3"' in html
    assert "&lt;b&gt;members&lt;/b&gt;.csv" in html and "<b>members" not in html
    assert f'href="/secretariat/calls/{site.ids["malaria_call"]}/forward"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "Outbox" in html and "Pending" in html


def test_upload_starts_a_job_or_says_what_is_wrong(client: TestClient, site: Site) -> None:
    sign_in(client, "admin")
    token = csrf_of(client.get("/secretariat").text)
    bad = client.post("/secretariat/imports", data={"csrf_token": token, "kind": "csv"})
    assert bad.status_code == 422
    assert "The import could not start: give a file to upload or a url to fetch" in bad.text
    no_token = client.post(
        "/secretariat/imports",
        data={"kind": "csv"},
        files={"file": ("members.csv", b"name\nX\n", "text/csv")},
    )
    assert no_token.status_code == 403
    started = client.post(
        "/secretariat/imports",
        data={"csrf_token": token, "kind": "csv"},
        files={"file": ("members.csv", b"name,hq_country\nNew Org,KE\n", "text/csv")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    with Session(site.engine) as session:
        job = session.exec(select(ImportJob).order_by(col(ImportJob.id).desc())).first()
        assert job is not None and job.source == "members.csv" and job.kind == "csv"
    assert "The import has started." in client.get("/secretariat").text


def test_uploads_may_be_larger_than_a_form_body(client: TestClient, site: Site) -> None:
    """The page's upload gets the upload limit, not the 1 MB limit of other bodies."""
    sign_in(client, "admin")
    token = csrf_of(client.get("/secretariat").text)
    body = b"<not-iati>" + b" " * (3 * 1024 * 1024 // 2)  # the job fails at once: not IATI
    started = client.post(
        "/secretariat/imports",
        data={"csrf_token": token, "kind": "iati"},
        files={"file": ("big.xml", body, "application/xml")},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text[:500]


def test_digest_preview_lists_recipients_and_reasons(
    client: TestClient, site: Site, addresses: dict[str, str]
) -> None:
    sign_in(client, "admin")
    page = client.get("/secretariat/digest")
    assert page.status_code == 200
    html = page.text
    assert "Malaria Action Kenya" in html
    assert "office@malaria-ngo.example" in html
    section = html[html.index("Malaria Action Kenya") :]
    assert "Malaria elimination in East Africa" in section
    reasons = re.findall(r"</a></td><td>([^<]+)</td>", section)
    assert reasons and all(r.strip() for r in reasons)
    assert 'action="/secretariat/digest"' in html and 'name="csrf_token"' in html
    with Session(site.engine) as session:  # a dry run: nothing decided
        assert session.exec(select(OutboxMessage)).first() is None


def test_forward_to_an_edited_list_reaches_exactly_those_recipients(
    client: TestClient, site: Site, addresses: dict[str, str], mail: LocalSmtp
) -> None:
    sign_in(client, "admin")
    call = site.ids["malaria_call"]
    page = client.get(f"/secretariat/calls/{call}/forward")
    assert page.status_code == 200
    html = page.text
    for key in ("malaria_ngo", "ministry", "tropical"):
        assert f'name="organisation_id" value="{site.ids[key]}" checked' in html, key
        assert addresses[key] in html
    chosen = [site.ids["malaria_ngo"], site.ids["tropical"]]  # the ministry unticked
    sent = client.post(
        f"/secretariat/calls/{call}/forward",
        data={"organisation_id": [str(i) for i in chosen], "csrf_token": csrf_of(html)},
    )
    assert sent.status_code == 200
    assert "2 sent, 0 failed, 0 pending." in sent.text
    received = mail.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == sorted(
        [addresses["malaria_ngo"], addresses["tropical"]]
    )
    assert all("Malaria elimination in East Africa" in m.message()["Subject"] for m in received)
    # again: forwarded already, so skipped
    again = client.post(
        f"/secretariat/calls/{call}/forward",
        data={"organisation_id": [str(i) for i in chosen], "csrf_token": csrf_of(html)},
    )
    assert "2 skipped" in again.text and "already forwarded" in again.text
    assert len(mail.received) == 2


def test_digest_send_goes_through_the_outbox(
    client: TestClient, site: Site, addresses: dict[str, str], mail: LocalSmtp
) -> None:
    sign_in(client, "admin")
    page = client.get("/secretariat/digest")
    assert "Send these" in page.text
    sent = client.post("/secretariat/digest", data={"csrf_token": csrf_of(page.text)})
    assert sent.status_code == 200
    assert re.search(r"[1-9]\d* sent, 0 failed, 0 pending\.", sent.text)
    received = mail.wait_for(1)
    assert addresses["malaria_ngo"] in [r for m in received for r in m.rcpt_tos]
    assert "Sent" in sent.text
