"""Digests over the demo network and the test network: real SQLite, the real matcher, a real
local SMTP server (`tests/api/smtp_server.py`); the CLI in process or as a real subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.cli import app
from api.services.corpus import countries_named_in
from api.services.digests import decide_digests, plan_digests
from api.services.outbox import send_outbox
from api.services.search_index import load_index
from models.call import Call
from models.db import make_engine, session_scope
from models.mailing import Delivery, MailPreference, MessageState, OutboxMessage
from models.organisation import Organisation
from models.settings import Settings, get_settings
from tests.api.conftest import Indexed, copy_network
from tests.api.smtp_server import LocalSmtp, Received, smtp_server_fixture  # noqa: F401

TODAY = "2026-11-22"
NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
runner = CliRunner()


def healthmatch() -> str:
    return str(Path(sys.executable).with_name("healthmatch"))


@dataclass
class Db:
    """A private copy of a database and its search index."""

    url: str
    index: Path
    folder: Path

    def env(self, smtp: LocalSmtp | None = None) -> dict[str, str]:
        values = {
            "HEALTHMATCH_DATABASE_URL": self.url,
            "HEALTHMATCH_INDEX_PATH": str(self.index),
            "HEALTHMATCH_EMBEDDING_MODEL": "minilm",
            "HEALTHMATCH_PUBLIC_BASE_URL": "https://hm.example",
        }
        return values | (smtp.env() if smtp else {})

    def settings(self, smtp: LocalSmtp | None = None) -> Settings:
        extra = smtp.settings().model_dump() if smtp else {}
        extra |= {"database_url": self.url, "index_path": self.index}
        extra |= {"public_base_url": "https://hm.example", "embedding_model": "minilm"}
        return Settings(**extra)


def _copy(source_db: Path, source_index: Path, folder: Path) -> Db:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "mail.db"
    with sqlite3.connect(source_db) as source:
        copy = sqlite3.connect(target)
        source.backup(copy)
        copy.close()
    index = folder / "mail.index"
    index.write_bytes(source_index.read_bytes())
    return Db(f"sqlite:///{target}", index, folder)


@pytest.fixture(scope="session", name="demo_built")
def demo_built_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once through `healthmatch demo --no-serve`."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHMATCH_")}
    result = subprocess.run(
        [healthmatch(), "demo", "--no-serve", "--db", str(db)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return db


@pytest.fixture(name="demo")
def demo_fixture(demo_built: Path, tmp_path: Path) -> Db:
    return _copy(demo_built, Path(f"{demo_built}.index"), tmp_path / "demo")


@pytest.fixture(name="network")
def network_fixture(indexed: Indexed, tmp_path: Path) -> Db:
    url, index = copy_network(indexed, tmp_path)
    return Db(url, index, tmp_path)


@pytest.fixture(name="cli_env")
def cli_env_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment for in-process CLI runs; settings re-read."""
    for name in list(os.environ):
        if name.startswith("HEALTHMATCH_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def cli(patch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> tuple[int, str]:
    for name, value in env.items():
        patch.setenv(name, value)
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    get_settings.cache_clear()
    return result.exit_code, result.stdout + result.stderr


def planned_recipients(output: str) -> list[str]:
    """The recipients of a dry run's output ("to ADDRESS (name, organisation N): subject")."""
    return [line.split()[1] for line in output.splitlines() if line.startswith("to ")]


def recipients(received: list[Received]) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in received:
        assert len(message.rcpt_tos) == 1, message.rcpt_tos
        assert message.message()["To"] == message.rcpt_tos[0]
        found[message.rcpt_tos[0]] += 1
    return found


def row_counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(model)).one()
            for model in (OutboxMessage, Delivery, MailPreference)
        )


def set_preference(engine: Engine, org_id: int, **values: object) -> None:
    with session_scope(engine) as session:
        preference = session.get(MailPreference, org_id) or MailPreference(organisation_id=org_id)
        for name, value in values.items():
            setattr(preference, name, value)
        session.add(preference)


# --- the demo, through the CLI --------------------------------------------------------------


@pytest.mark.slow
def test_digest_sends_one_message_per_fitting_member_then_nothing(
    demo: Db, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    env = demo.env(smtp_server)
    engine = make_engine(demo.url)
    try:
        code, dry = cli(cli_env, env, "digest", "--today", TODAY)
        assert code == 0, dry
        plan = planned_recipients(dry)
        assert len(plan) > 50 and len(set(plan)) == len(plan)
        assert "why: matches your" in dry and "deadline 20" in dry
        assert "dry run: nothing written, nothing sent" in dry
        assert row_counts(engine) == (0, 0, 0)  # the dry run wrote nothing
        assert smtp_server.received == []

        code, out = cli(cli_env, env, "digest", "--send", "--today", TODAY)
        assert code == 0, out
        assert f"{len(plan)} sent, 0 failed, 0 pending, 0 unknown" in out
        assert recipients(smtp_server.received) == Counter(plan)
        with Session(engine) as session:
            states = session.exec(select(OutboxMessage.state)).all()
        assert set(states) == {MessageState.SENT} and len(states) == len(plan)

        code, again = cli(cli_env, env, "digest", "--send", "--today", TODAY)
        assert code == 0, again
        assert "0 messages decided" in again and "0 sent" in again
        # a week later, nothing new has changed: still nothing
        code, later = cli(cli_env, env, "digest", "--send", "--today", "2026-11-30")
        assert code == 0 and "0 messages decided" in later, later
        assert len(smtp_server.received) == len(plan)
    finally:
        engine.dispose()


def _plan(db: Db, engine: Engine, **kwargs: object):  # type: ignore[no-untyped-def]
    settings = db.settings()
    search = load_index(settings, engine=engine)
    with Session(engine) as session:
        return plan_digests(session, search, settings, now=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_opt_out_max_items_and_deadlines_are_honoured(demo: Db, smtp_server: LocalSmtp) -> None:
    engine = make_engine(demo.url)
    try:
        before = _plan(demo, engine)
        by_org = {d.organisation_id: d for d in before.digests}
        busy = [d for d in before.digests if len(d.items) >= 3]
        opted, limited = busy[0].organisation_id, busy[1].organisation_id
        set_preference(engine, opted, opted_out=True)
        set_preference(engine, limited, max_items=2)
        # a call that fits someone now has a deadline in the past
        past_call = by_org[busy[2].organisation_id].items[0].call_id
        with session_scope(engine) as session:
            call = session.get(Call, past_call)
            assert call is not None
            call.next_deadline = date(2026, 11, 21)
            session.add(call)
        # and a call in the plan already passed is never there
        with Session(engine) as session:
            passed = session.exec(
                select(Call.id).where(col(Call.next_deadline) < date(2026, 11, 22))
            ).all()
        assert len(passed) > 1

        plan = _plan(demo, engine)
        planned = {d.organisation_id: d for d in plan.digests}
        assert opted not in planned and opted in plan.opted_out
        assert [i.call_id for i in planned[limited].items] == [
            i.call_id for i in by_org[limited].items[:2]
        ]
        for digest in plan.digests:
            assert len(digest.items) <= 10
            for item in digest.items:
                assert item.call_id not in passed
                assert item.deadline is None or item.deadline >= date(2026, 11, 22)
            scores = [i.score for i in digest.items]
            assert scores == sorted(scores, reverse=True)

        settings = demo.settings(smtp_server)
        decided = decide_digests(engine, settings, plan, now=NOW)
        report = send_outbox(engine, settings, now=NOW)
        assert len(report.sent) == len(decided.messages) == len(plan.digests)
        with Session(engine) as session:
            opted_org = session.get(Organisation, opted)
            assert opted_org is not None
            opted_address = opted_org.contact_email
            logged = session.exec(select(Delivery.call_id)).all()
        assert opted_address not in recipients(smtp_server.received)
        assert past_call not in logged
        limited_mail = [
            r for r in smtp_server.received if r.rcpt_tos == [planned[limited].recipient]
        ]
        assert len(limited_mail) == 1
        assert limited_mail[0].message()["Subject"].startswith("2 funding calls for")
    finally:
        engine.dispose()


@pytest.mark.slow
def test_themes_countries_and_frequency_preferences(demo: Db) -> None:
    engine = make_engine(demo.url)
    try:
        with Session(engine) as session:
            calls = {c.id: c for c in session.exec(select(Call)).all()}

        def text(call_id: int) -> str:
            call = calls[call_id]
            return " ".join([call.title, call.text, *call.keywords]).casefold()

        def named(call_id: int) -> tuple[str, ...]:
            return countries_named_in(f"{calls[call_id].title}\n{calls[call_id].text}")

        before = _plan(demo, engine)
        base = {d.organisation_id: [i.call_id for i in d.items] for d in before.digests}
        themed = next(
            org
            for org, ids in base.items()
            if any("dementia" in text(i) for i in ids)
            and any("dementia" not in text(i) for i in ids)
        )
        placed = next(
            (org, named(i)[0])
            for org, ids in base.items()
            for i in ids
            if org != themed
            and named(i)
            and any(named(j) and named(i)[0] not in named(j) for j in ids)
        )
        located, country = placed
        rest = [
            d.organisation_id for d in before.digests if d.organisation_id not in (themed, located)
        ]
        lazy = rest[0]
        set_preference(engine, themed, themes=["Dementia"])
        set_preference(engine, located, countries=[country])
        set_preference(engine, lazy, last_digest_at=NOW - timedelta(days=3))

        plan = _plan(demo, engine)
        planned = {d.organisation_id: [i.call_id for i in d.items] for d in plan.digests}
        assert planned[themed] and all("dementia" in text(i) for i in planned[themed])
        assert {i for i in base[themed] if "dementia" in text(i)} <= set(planned[themed])
        assert planned[located]
        assert all(not named(i) or country in named(i) for i in planned[located])
        assert len(planned[located]) < len(base[located]) or any(
            i not in base[located] for i in planned[located]
        )
        assert lazy in plan.not_due and lazy not in planned
        forced = _plan(demo, engine, force=True)  # --force ignores the frequency
        assert lazy in {d.organisation_id for d in forced.digests}
        # monthly: due again only after 28 days
        set_preference(engine, lazy, frequency="monthly", last_digest_at=NOW - timedelta(days=10))
        assert lazy in _plan(demo, engine).not_due
        set_preference(engine, lazy, last_digest_at=NOW - timedelta(days=29))
        assert lazy not in _plan(demo, engine).not_due
    finally:
        engine.dispose()


# --- the test network: hostile text ---------------------------------------------------------


def test_hostile_call_title_arrives_escaped_without_extra_headers(
    network: Db, indexed: Indexed, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    engine = make_engine(network.url)
    ngo = indexed.ids["malaria_ngo"]
    try:
        with session_scope(engine) as session:
            org = session.get(Organisation, ngo)
            call = session.get(Call, indexed.ids["malaria_call"])
            assert org is not None and call is not None
            org.contact_email = "office@malaria-ngo.example"
            call.title = "<script>alert(1)</script> Malaria\r\nBcc: evil@example.com"
            session.add(org)
            session.add(call)
        code, out = cli(cli_env, network.env(smtp_server), "digest", "--send", "--today", TODAY)
        assert code == 0, out
        [received] = smtp_server.received
        assert received.rcpt_tos == ["office@malaria-ngo.example"]
        message = received.message()
        assert message["Bcc"] is None and message["Cc"] is None
        assert b"evil@example.com" not in received.data.split(b"\r\n\r\n", 1)[0]
        html_part = message.get_body(("html",))
        assert html_part is not None
        html = html_part.get_content()
        assert "<script>" not in html and "&lt;script&gt;" in html
        text_part = message.get_body(("plain",))
        assert text_part is not None
        assert "Bcc: evil@example.com" in " ".join(text_part.get_content().split())
        assert message["List-Unsubscribe"].startswith("<https://hm.example/unsubscribe/")
        # the other members of the network have no address: counted, not mailed
        assert "have no e-mail address" in out
    finally:
        engine.dispose()


def test_dry_run_writes_nothing_and_names_recipients_and_reasons(
    network: Db, indexed: Indexed, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    engine = make_engine(network.url)
    try:
        with session_scope(engine) as session:
            for key in ("malaria_ngo", "tropical", "ministry", "nutrition"):
                org = session.get(Organisation, indexed.ids[key])
                assert org is not None
                org.contact_email = f"{key}@members.example"
                session.add(org)
        code, out = cli(cli_env, network.env(smtp_server), "digest", "--dry-run", "--today", TODAY)
        assert code == 0, out
        assert "to malaria_ngo@members.example (Malaria Action Kenya" in out
        assert "Malaria elimination in East Africa" in out and "why: " in out
        assert "to nutrition@members.example" in out
        assert "Solar energy" not in out  # closed
        assert row_counts(engine) == (0, 0, 0)
        assert smtp_server.received == [] and smtp_server.attempts == 0
    finally:
        engine.dispose()
