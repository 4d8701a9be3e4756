"""The outbox under failure: a real `healthmatch digest --send` subprocess killed with SIGKILL by
the SMTP server's hook, a server that is down, refusals for now (4xx) and for good (5xx).

Never a message twice, never one lost: after the restart every member of the plan has received
its digest exactly once (the message in flight at the kill is reported `unknown`, not resent,
unless the operator runs `healthmatch outbox resend-unknown`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from api.services.outbox import SendReport, send_outbox
from models.db import make_engine
from models.mailing import MessageState, OutboxMessage
from tests.api.smtp_server import LocalSmtp, Received, free_port, smtp_server_fixture  # noqa: F401
from tests.api.test_digest import (  # noqa: F401  (fixtures)
    TODAY,
    Db,
    cli,
    cli_env_fixture,
    demo_built_fixture,
    demo_fixture,
    healthmatch,
    planned_recipients,
    recipients,
)


def run(
    db: Db, smtp: LocalSmtp | None, *args: str, port: int | None = None
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHMATCH_")}
    env |= db.env(smtp)
    if port is not None:
        env["HEALTHMATCH_SMTP_PORT"] = str(port)
    return subprocess.Popen(
        [healthmatch(), *args],
        cwd=db.folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def states(db: Db) -> Counter[str]:
    with sqlite3.connect(db.url.removeprefix("sqlite:///"), timeout=10) as connection:
        rows = connection.execute("select state from outbox_message").fetchall()
    return Counter(state for (state,) in rows)


def dry_plan(db: Db, smtp: LocalSmtp) -> list[str]:
    code, out = finish(run(db, smtp, "digest", "--today", TODAY))
    assert code == 0, out
    plan = planned_recipients(out)
    assert len(plan) > 10
    return plan


class Killer:
    """An arrival hook that SIGKILLs the CLI when message number `at` arrives (before the
    server answers 250)."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.process: subprocess.Popen[str] | None = None
        self.killed = threading.Event()

    def __call__(self, received: Received) -> None:
        self.seen += 1
        if self.seen == self.at and self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.killed.set()


@pytest.mark.slow
def test_killed_while_sending_resumes_without_duplicates(demo: Db, smtp_server: LocalSmtp) -> None:
    plan = dry_plan(demo, smtp_server)
    killer = Killer(at=2)
    smtp_server.on_message = killer
    process = run(demo, smtp_server, "digest", "--send", "--today", TODAY)
    killer.process = process
    code, out = finish(process)
    assert code == -signal.SIGKILL, out
    assert len(smtp_server.received) == 2
    assert states(demo) == Counter(
        {"sent": 1, "sending": 1, "pending": len(plan) - 2}
    )  # every digest decided before the first was sent

    smtp_server.on_message = None
    code, out = finish(run(demo, smtp_server, "digest", "--send", "--today", TODAY))
    assert code == 0, out
    assert "0 messages decided" in out
    assert f"{len(plan) - 2} sent, 0 failed, 0 pending, 1 unknown" in out
    assert "were being sent when an earlier run died" in out
    got = recipients(smtp_server.received)
    assert got == Counter(plan)  # each member exactly once, the killed one included
    assert states(demo) == Counter({"sent": len(plan) - 1, "unknown": 1})

    # the operator's explicit choice: send the unknown one again (its member gets it twice)
    code, out = finish(run(demo, smtp_server, "outbox"))
    assert code == 0 and "unknown  1" in out and "unknown  message" in out, out
    code, out = finish(run(demo, smtp_server, "outbox", "resend-unknown"))
    assert code == 0, out
    assert "1 messages in an unknown state were sent again on request" in out
    twice = recipients(smtp_server.received) - Counter(plan)
    assert sum(twice.values()) == 1 and list(twice) == [plan[1]]
    assert states(demo) == Counter({"sent": len(plan)})


@pytest.mark.slow
def test_killed_between_two_messages_sends_exactly_the_rest(
    demo: Db, smtp_server: LocalSmtp
) -> None:
    """Killed once message 2 is acknowledged and recorded sent. The kill lands either before the
    3rd message is claimed (it stays pending: the restart sends it) or just after (it is
    `unknown`: reported, not resent, whether or not the server got it); both are checked: the
    restart sends exactly the messages left pending, each member gets at most one, and every
    member that got none is one whose message is reported unknown."""
    plan = dry_plan(demo, smtp_server)
    path = demo.url.removeprefix("sqlite:///")
    process_box: list[subprocess.Popen[str]] = []
    killed = threading.Event()

    def watch() -> None:  # polls the log until 2 messages are recorded sent, then kills
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(path, timeout=10) as connection:
                (sent,) = connection.execute(
                    "select count(*) from outbox_message where state = 'sent'"
                ).fetchone()
            if sent >= 2:
                os.kill(process_box[0].pid, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.002)

    def hold(received: Received) -> None:
        if len(smtp_server.received) == 2:
            threading.Thread(target=watch, daemon=True).start()
        elif len(smtp_server.received) >= 3:
            killed.wait(30)  # the client waits for our 250 until it is dead

    smtp_server.on_message = hold
    process = run(demo, smtp_server, "digest", "--send", "--today", TODAY)
    process_box.append(process)
    code, out = finish(process)
    assert code == -signal.SIGKILL, out
    first = states(demo)
    assert first["sent"] == 2 and first["sending"] <= 1 and first.total() == len(plan)
    in_flight = first["sending"]  # 1 when the 3rd message had been claimed before the kill
    received_before = len(smtp_server.received)

    smtp_server.on_message = None
    code, out = finish(run(demo, smtp_server, "outbox", "send", "--today", TODAY))
    assert code == 0, out
    assert f"{len(plan) - 2 - in_flight} sent, 0 failed, 0 pending, {in_flight} unknown" in out
    assert len(smtp_server.received) - received_before == len(plan) - 2 - in_flight
    got = recipients(smtp_server.received)
    assert max(got.values()) == 1  # nobody twice
    with sqlite3.connect(path) as connection:
        unknown = [
            r
            for (r,) in connection.execute(
                "select recipient from outbox_message where state = 'unknown'"
            )
        ]
    assert len(unknown) == in_flight
    assert set(plan) - set(got) <= set(unknown)  # a member without mail is reported unknown
    assert set(got) <= set(plan)


@pytest.mark.slow
def test_smtp_down_keeps_everything_pending_then_sends_each_once(
    demo: Db, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    down = free_port()  # nothing listens there
    env = demo.env(smtp_server) | {"HEALTHMATCH_SMTP_PORT": str(down)}
    code, out = cli(cli_env, env, "digest", "--send", "--today", TODAY)
    assert code == 1, out
    assert "the mail server is unavailable" in out and "stay pending" in out
    engine = make_engine(demo.url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert rows and {r.state for r in rows} == {MessageState.PENDING}
        first = rows[0]
        assert first.attempts == 1 and "Error" in first.last_error
        assert first.next_attempt_at is not None and all(r.attempts == 0 for r in rows[1:])
        total = len(rows)

        # the server is back; the message tried is not due yet (its backoff), the others are
        env = demo.env(smtp_server)
        code, out = cli(cli_env, env, "outbox", "send", "--today", TODAY)
        assert code == 1, out  # one left pending
        assert f"{total - 1} sent, 0 failed, 1 pending" in out
        assert first.recipient not in recipients(smtp_server.received)
        # its backoff has passed an hour later (or --retry-now)
        later = (first.next_attempt_at + timedelta(seconds=1)).strftime("%Y-%m-%d")
        assert first.next_attempt_at - first.created_at <= timedelta(minutes=2)
        code, out = cli(cli_env, env, "outbox", "send", "--retry-now", "--today", later)
        assert code == 0, out
        assert "1 sent, 0 failed, 0 pending" in out
        got = recipients(smtp_server.received)
        assert sum(got.values()) == total and max(got.values()) == 1
        code, out = cli(cli_env, env, "outbox", "send", "--today", TODAY, "--retry-now")
        assert code == 0 and "0 sent" in out
        assert len(smtp_server.received) == total
    finally:
        engine.dispose()


@pytest.mark.slow
def test_refused_for_now_is_retried_in_the_run_and_for_good_is_failed(
    demo: Db, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    env = demo.env(smtp_server)
    smtp_server.refuse("421 4.3.2 Try again later", count=2)  # first message: twice, then OK

    def refuse_the_next(received: Received) -> None:  # after the first: one refused for good
        if len(smtp_server.received) == 1:
            smtp_server.refuse("550 5.1.1 No such user", count=1, stage="rcpt")

    smtp_server.on_message = refuse_the_next
    code, out = cli(cli_env, env, "digest", "--send", "--today", TODAY)
    assert code == 1, out  # something failed
    assert "1 failed, 0 pending" in out and "550 5.1.1 No such user" in out
    engine = make_engine(demo.url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert rows[0].state == MessageState.SENT and rows[0].attempts == 1
        failed = [r for r in rows if r.state == MessageState.FAILED]
        assert [r.id for r in failed] == [rows[1].id] and "550" in failed[0].last_error
        got = recipients(smtp_server.received)
        assert max(got.values()) == 1 and sum(got.values()) == len(rows) - 1
        assert failed[0].recipient not in got
        assert smtp_server.attempts == len(smtp_server.received) + 3  # 2 x 421, 1 x 550
        code, out = cli(cli_env, env, "outbox")
        assert "failed   1" in out and "550 5.1.1" in out, out
    finally:
        engine.dispose()


def test_two_send_runs_in_one_process_never_take_each_other_for_dead(
    demo: Db, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    """An API background send and a page's send may overlap: the second run waits for the first
    instead of marking its in-flight message `unknown`."""
    env = demo.env(smtp_server) | {"HEALTHMATCH_SMTP_PORT": str(free_port())}
    code, out = cli(cli_env, env, "digest", "--send", "--today", TODAY)  # SMTP down: all pending
    assert code == 1, out
    settings = demo.settings(smtp_server)
    engine = make_engine(demo.url)
    reports: list[SendReport] = []
    second = threading.Thread(
        target=lambda: reports.append(send_outbox(engine, settings, retry_now=True))
    )

    def start_second_run_mid_message(received: Received) -> None:
        if len(smtp_server.received) == 1:  # the first run holds a message in `sending`
            second.start()
            time.sleep(0.5)  # time for a second run to misjudge it, if it could

    smtp_server.on_message = start_second_run_mid_message
    try:
        reports.append(send_outbox(engine, settings, retry_now=True))
        second.join(timeout=60)
        assert not second.is_alive()
        assert states(demo) == Counter({"sent": sum(states(demo).values())})
        assert all(not report.unknown for report in reports)
        got = recipients(smtp_server.received)
        assert max(got.values()) == 1 and sum(got.values()) == sum(states(demo).values())
    finally:
        engine.dispose()
