"""The mailing API: every endpoint by role, preferences validation, the unsubscribe pages, and
forwarding and digests decided in the request and sent in the background to a real local SMTP
server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from models.db import make_engine, session_scope
from models.mailing import MailPreference
from models.organisation import Organisation
from tests.api.conftest import Indexed, copy_network, people_and_users
from tests.api.smtp_server import LocalSmtp, smtp_server_fixture  # noqa: F401
from tests.api.test_digest import recipients

ROLES = (None, "member_a", "secretariat", "admin")


@dataclass
class MailApi:
    client: TestClient
    engine: Engine
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]
    smtp: LocalSmtp

    def as_(self, role: str | None) -> dict[str, str]:
        return {} if role is None else self.headers[role]


@pytest.fixture(name="mail_api")
def mail_api_fixture(indexed: Indexed, tmp_path: Path, smtp_server: LocalSmtp) -> Iterator[MailApi]:
    url, index = copy_network(indexed, tmp_path)
    settings = smtp_server.settings(
        database_url=url,
        index_path=index,
        embedding_model="minilm",
        jobs_dir=tmp_path / "jobs",
        public_base_url="https://hm.example",
    )
    engine = make_engine(url)
    _people, _users, headers = people_and_users(engine, indexed.ids)  # malaria_ngo has a mail
    with session_scope(engine) as session:
        org = session.get(Organisation, indexed.ids["tropical"])
        assert org is not None
        org.contact_email = "info@tropical.example"
        session.add(org)
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            yield MailApi(client, engine, indexed.ids, headers, smtp_server)
    finally:
        engine.dispose()


def staff_only(api: MailApi, method: str, path: str, **kwargs: object) -> None:
    for role, status in ((None, 401), ("member_a", 403)):
        answer = api.client.request(method, path, headers=api.as_(role), **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == status, (role, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


def test_staff_only_endpoints_refuse_anonymous_and_members(mail_api: MailApi) -> None:
    call = mail_api.ids["malaria_call"]
    staff_only(mail_api, "GET", f"/api/v1/calls/{call}/forward")
    staff_only(mail_api, "POST", f"/api/v1/calls/{call}/forward", json={})
    staff_only(mail_api, "GET", "/api/v1/digests/preview")
    staff_only(mail_api, "POST", "/api/v1/digests", json={})
    staff_only(mail_api, "GET", "/api/v1/outbox")
    assert mail_api.smtp.received == []


def test_forward_preview_and_send_as_staff(mail_api: MailApi) -> None:
    call = mail_api.ids["malaria_call"]
    staff = mail_api.as_("secretariat")
    preview = mail_api.client.get(f"/api/v1/calls/{call}/forward", headers=staff)
    assert preview.status_code == 200, preview.text
    candidates = {c["organisation_id"]: c for c in preview.json()["candidates"]}
    ngo, ministry = mail_api.ids["malaria_ngo"], mail_api.ids["ministry"]
    assert candidates[ngo]["will_send"] and candidates[ngo]["explanation"]["projects"]
    assert candidates[ngo]["reason"].startswith("matches your project")
    assert candidates[ministry]["blocked"] == "no e-mail address"
    assert mail_api.client.get("/api/v1/calls/999999/forward", headers=staff).status_code == 404

    sent = mail_api.client.post(
        f"/api/v1/calls/{call}/forward",
        headers=staff,
        json={"organisation_ids": [ngo, ministry], "note": "Have a look."},
    )
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert [m["organisation_id"] for m in body["messages"]] == [ngo]
    assert body["skipped"] == [{"organisation_id": ministry, "reason": "no e-mail address"}]
    # the background task ran after the answer
    assert recipients(mail_api.smtp.received) == {"office@malaria-ngo.example": 1}
    again = mail_api.client.post(
        f"/api/v1/calls/{call}/forward", headers=staff, json={"organisation_ids": [ngo]}
    )
    assert again.json()["skipped"][0]["reason"] == "already forwarded this call"
    assert len(mail_api.smtp.received) == 1
    outbox = mail_api.client.get("/api/v1/outbox", headers=staff, params={"state": "sent"})
    assert outbox.status_code == 200 and outbox.json()["count"] == 1
    assert outbox.json()["counts"]["sent"] == 1
    assert mail_api.client.get("/api/v1/outbox?state=nope", headers=staff).status_code == 422


def test_digest_preview_then_send_as_admin(mail_api: MailApi) -> None:
    admin = mail_api.as_("admin")
    preview = mail_api.client.get("/api/v1/digests/preview", headers=admin)
    assert preview.status_code == 200, preview.text
    plan = preview.json()
    addresses = sorted(d["recipient"] for d in plan["digests"])
    assert addresses == ["info@tropical.example", "office@malaria-ngo.example"]
    assert all(i["reason"] for d in plan["digests"] for i in d["items"])
    assert plan["no_recipient"]  # members that fit but have no address
    with Session(mail_api.engine) as session:
        assert session.exec(select(MailPreference)).all() == []  # the preview wrote nothing
    sent = mail_api.client.post("/api/v1/digests", headers=admin, json={})
    assert sent.status_code == 202, sent.text
    assert len(sent.json()["messages"]) == 2
    assert sorted(recipients(mail_api.smtp.received)) == addresses
    again = mail_api.client.post("/api/v1/digests", headers=admin, json={"force": True})
    assert again.status_code == 202 and again.json()["messages"] == []
    assert len(mail_api.smtp.received) == 2


@pytest.mark.parametrize("role", ROLES)
def test_mail_preferences_by_role(mail_api: MailApi, role: str | None) -> None:
    own, other = mail_api.ids["malaria_ngo"], mail_api.ids["maternal"]
    for org, allowed in ((own, role is not None), (other, role in ("secretariat", "admin"))):
        path = f"/api/v1/organisations/{org}/mail-preferences"
        read = mail_api.client.get(path, headers=mail_api.as_(role))
        change = mail_api.client.patch(path, headers=mail_api.as_(role), json={"max_items": 3})
        expected = 200 if allowed else (401 if role is None else 403)
        assert (read.status_code, change.status_code) == (expected, expected), (org, role)
        if allowed:
            assert read.json()["max_items"] == 10 and change.json()["max_items"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"max_items": 0},
        {"max_items": 51},
        {"countries": ["XX"]},
        {"recipient": "not an address"},
        {"recipient": "a@b.example\r\nBcc: evil@example.com"},
        {"recipient": "Name <a@b.example>"},
        {"frequency": "daily"},
    ],
)
def test_mail_preferences_are_validated(mail_api: MailApi, body: dict[str, object]) -> None:
    path = f"/api/v1/organisations/{mail_api.ids['malaria_ngo']}/mail-preferences"
    answer = mail_api.client.patch(path, headers=mail_api.as_("member_a"), json=body)
    assert answer.status_code == 422, (body, answer.text)


def test_mail_preferences_change_and_unknown_organisation(mail_api: MailApi) -> None:
    path = f"/api/v1/organisations/{mail_api.ids['malaria_ngo']}/mail-preferences"
    body = {
        "themes": [" malaria ", "malaria", "bed nets"],
        "countries": ["ke", "UG"],
        "frequency": "monthly",
        "recipient": "digest@malaria-ngo.example",
    }
    answer = mail_api.client.patch(path, headers=mail_api.as_("member_a"), json=body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["themes"] == ["malaria", "bed nets"] and got["countries"] == ["KE", "UG"]
    assert got["frequency"] == "monthly" and got["recipient"] == "digest@malaria-ngo.example"
    assert "unsubscribe_token" not in got
    missing = mail_api.client.get(
        "/api/v1/organisations/999999/mail-preferences", headers=mail_api.as_("admin")
    )
    assert missing.status_code == 404


def test_unsubscribe_pages(mail_api: MailApi) -> None:
    ngo = mail_api.ids["malaria_ngo"]
    with session_scope(mail_api.engine) as session:
        org = session.get(Organisation, ngo)
        assert org is not None
        org.name = '<b>Malaria</b> "Action" & Co'
        session.add(org)
        preference = MailPreference(organisation_id=ngo)
        session.add(preference)
        session.flush()
        token = preference.unsubscribe_token
    page = mail_api.client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;Malaria&lt;/b&gt; &quot;Action&quot; &amp; Co" in page.text
    assert "<b>Malaria" not in page.text and 'method="post"' in page.text
    with Session(mail_api.engine) as session:
        stored = session.get(MailPreference, ngo)
        assert stored is not None and not stored.opted_out  # GET changes nothing

    done = mail_api.client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Unsubscribed" in done.text
    with Session(mail_api.engine) as session:
        stored = session.get(MailPreference, ngo)
        assert stored is not None and stored.opted_out
    assert mail_api.client.post(f"/unsubscribe/{token}").status_code == 200  # idempotent
    assert mail_api.client.get("/unsubscribe/no-such-token").status_code == 404
    assert mail_api.client.post("/unsubscribe/no-such-token").status_code == 404
    # an opted-out member is left out of the forward preview's senders
    call = mail_api.ids["malaria_call"]
    preview = mail_api.client.get(
        f"/api/v1/calls/{call}/forward", headers=mail_api.as_("secretariat")
    ).json()
    flags = {c["organisation_id"]: c for c in preview["candidates"]}
    assert flags[ngo]["opted_out"] and not flags[ngo]["will_send"]
