"""The outbox: messages decided (with their delivery log rows) and sending them, never twice.

Deciding (`enqueue`) adds an `OutboxMessage` and its `Delivery` rows to the caller's
transaction. Sending (`send_outbox`) commits every step on its own:

1. messages left `sending` by a run that died become `unknown` (the server may or may not have
   taken them): reported, never sent again unless the operator asks (`resend_unknown`);
2. each due `pending` message, in id order, is claimed (`pending -> sending`, attempts + 1, one
   conditional UPDATE: two runs never claim the same message), handed to SMTP with retries, then
   marked `sent`. A server that stays unavailable puts the message back to `pending` with a
   backoff and ends the run (the rest stays pending); a refusal for good marks it `failed`.

Two send runs at the same time never send a message twice; the second may however report the
first one's message in flight as `unknown`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.mail.content import RenderedMail
from api.mail.message import build_message
from api.mail.smtp import MailRejected, MailUnavailable, Sender, SmtpSender, send_with_retries
from api.services.mail_preferences import ensure_preference, unsubscribe_url
from models.common import utcnow
from models.mailing import Channel, Delivery, MessageState, OutboxMessage
from models.settings import Settings

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
ERROR_MAX = 2000

Advance = Callable[[int], None]
ProgressFactory = Callable[[str, int], Advance]


def backoff(attempts: int) -> timedelta:
    """1 min * 2^attempts, at most 1 h."""
    grown: timedelta = BACKOFF_FIRST * 2 ** min(attempts, 20)
    return min(grown, BACKOFF_MAX)


def new_message_id(channel: Channel, organisation_id: int) -> str:
    return f"<{channel.value}-{organisation_id}-{uuid.uuid4().hex}@healthmatch>"


@dataclass(frozen=True)
class Logged:
    call_id: int
    score: float
    reason: str


def enqueue(
    session: Session,
    *,
    organisation_id: int,
    channel: Channel,
    recipient: str,
    rendered: RenderedMail,
    calls: Iterable[Logged],
    run_id: str,
    now: datetime,
) -> OutboxMessage:
    """Add a pending message and one delivery row per call to the session's transaction (not
    committed: the caller commits it with the rest of its decision)."""
    message = OutboxMessage(
        organisation_id=organisation_id,
        channel=channel,
        recipient=recipient,
        subject=rendered.subject,
        message_id=new_message_id(channel, organisation_id),
        body_text=rendered.text,
        body_html=rendered.html,
        ics=rendered.ics,
        state=MessageState.PENDING,
        run_id=run_id,
        created_at=now,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    for logged in calls:
        session.add(
            Delivery(
                organisation_id=organisation_id,
                call_id=logged.call_id,
                channel=channel,
                message_id=message.id,
                score=logged.score,
                reason=logged.reason[:1000],
                created_at=now,
            )
        )
    session.flush()
    return message


# --- sending -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # message id -> the server's answer
    unknown: list[int] = field(default_factory=list)  # marked unknown by this run
    postponed: dict[int, str] = field(default_factory=dict)  # back to pending: server down
    pending: int = 0  # left pending after the run (postponed, not due, or not reached)
    resent: list[int] = field(default_factory=list)  # unknown messages sent again on request

    @property
    def ok(self) -> bool:
        return not self.failed and not self.pending

    def lines(self) -> list[str]:
        out = [
            f"{len(self.sent)} sent, {len(self.failed)} failed, {self.pending} pending, "
            f"{len(self.unknown)} unknown"
        ]
        if self.resent:
            out.append(
                f"{len(self.resent)} messages in an unknown state were sent again on request: "
                "their members may have received them twice"
            )
        if self.unknown:
            out.append(
                f"{len(self.unknown)} messages were being sent when an earlier run died; check "
                "the mail server's log; `healthmatch outbox resend-unknown` sends them again"
            )
        for message_id, error in self.failed.items():
            out.append(f"failed: message {message_id}: {error}")
        if self.postponed:
            error = next(iter(self.postponed.values()))
            out.append(
                f"the mail server is unavailable ({error}); {self.pending} messages stay "
                "pending and are retried by the next run (`healthmatch outbox send`)"
            )
        return out

    def summary(self) -> str:
        return "\n".join(self.lines())


def _set(engine: Engine, message_id: int, states: Iterable[MessageState], **values: object) -> int:
    """One conditional UPDATE, committed: the rows changed (0 when the state was not one of
    `states`)."""
    with Session(engine) as session:
        result = session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .where(col(OutboxMessage.state).in_([s.value for s in states]))
            .values(**values)
        )
        session.commit()
        return int(result.rowcount)


def mark_dead_runs(engine: Engine) -> list[int]:
    """Messages left `sending` (their run died) become `unknown`; their ids."""
    with Session(engine) as session:
        ids = session.exec(
            select(OutboxMessage.id).where(OutboxMessage.state == MessageState.SENDING)
        ).all()
        found = [i for i in ids if i is not None]
        if found:
            session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(found))
                .where(col(OutboxMessage.state) == MessageState.SENDING.value)
                .values(state=MessageState.UNKNOWN.value)
            )
            session.commit()
        return found


def _due(engine: Engine, now: datetime, retry_now: bool) -> list[int]:
    with Session(engine) as session:
        query = select(OutboxMessage.id).where(OutboxMessage.state == MessageState.PENDING)
        if not retry_now:
            query = query.where(
                (col(OutboxMessage.next_attempt_at).is_(None))
                | (col(OutboxMessage.next_attempt_at) <= now)
            )
        return [i for i in session.exec(query.order_by(col(OutboxMessage.id))).all() if i]


def _pending_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state == MessageState.PENDING)
        ).one()


def _email(session: Session, settings: Settings, message: OutboxMessage) -> EmailMessage:
    preference = ensure_preference(session, message.organisation_id)
    session.commit()
    rendered = RenderedMail(
        subject=message.subject, text=message.body_text, html=message.body_html, ics=message.ics
    )
    return build_message(
        rendered,
        sender=settings.mail_from,
        recipient=message.recipient,
        message_id=message.message_id,
        unsubscribe_url=unsubscribe_url(settings, preference.unsubscribe_token),
        date=message.created_at,
    )


_SEND_RUN = threading.Lock()


def send_outbox(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    retry_now: bool = False,
    sender: Sender | None = None,
    progress: ProgressFactory | None = None,
    sleep: Callable[[float], None] = time.sleep,
    report: SendReport | None = None,
) -> SendReport:
    """One send run (see the module). `retry_now` ignores the backoff of pending messages.

    Runs in one process are serialised: a second run would otherwise take the first one's
    in-flight message for a dead run's and report it `unknown`."""
    with _SEND_RUN:
        return _send_run(engine, settings, now, retry_now, sender, progress, sleep, report)


def _send_run(
    engine: Engine,
    settings: Settings,
    now: datetime | None,
    retry_now: bool,
    sender: Sender | None,
    progress: ProgressFactory | None,
    sleep: Callable[[float], None],
    report: SendReport | None,
) -> SendReport:
    now = now or utcnow()
    report = report or SendReport()
    report.unknown.extend(mark_dead_runs(engine))
    due = _due(engine, now, retry_now)
    advance = progress("sending", len(due)) if progress and due else None
    smtp = sender or SmtpSender(settings)
    with _kept_open(smtp):
        for message_id in due:
            _send_one(engine, settings, smtp, message_id, now, report, sleep)
            if advance:
                advance(1)
            if report.postponed:
                break
    report.pending = _pending_count(engine)
    return report


class _kept_open:
    """`with sender:` when the sender keeps a connection open (SmtpSender), else nothing."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    def __enter__(self) -> None:
        if isinstance(self.sender, SmtpSender):
            self.sender.__enter__()

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.sender, SmtpSender):
            self.sender.__exit__(None, None, None)


def _send_one(
    engine: Engine,
    settings: Settings,
    smtp: Sender,
    message_id: int,
    now: datetime,
    report: SendReport,
    sleep: Callable[[float], None],
) -> None:
    claimed = _set(
        engine,
        message_id,
        [MessageState.PENDING],
        state=MessageState.SENDING.value,
        attempts=col(OutboxMessage.attempts) + 1,
    )
    if not claimed:  # another run took it
        return
    with Session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        try:
            email = _email(session, settings, message)
        except ValueError as exc:  # a stored recipient or header that cannot be sent
            error = f"cannot build the message: {exc}"
            _set(engine, message_id, [MessageState.SENDING], state="failed", last_error=error)
            report.failed[message_id] = error
            return
        attempts = message.attempts
    try:
        send_with_retries(
            smtp,
            email,
            retries=settings.smtp_retries,
            base_s=settings.smtp_retry_base_s,
            sleep=sleep,
        )
    except MailUnavailable as exc:
        error = str(exc)[:ERROR_MAX]
        _set(
            engine,
            message_id,
            [MessageState.SENDING],
            state=MessageState.PENDING.value,
            last_error=error,
            next_attempt_at=now + backoff(attempts),
        )
        report.postponed[message_id] = error
        return
    except MailRejected as exc:
        error = str(exc)[:ERROR_MAX]
        _set(
            engine,
            message_id,
            [MessageState.SENDING],
            state=MessageState.FAILED.value,
            last_error=error,
        )
        report.failed[message_id] = error
        return
    # the server took it: sent, even if another run marked it unknown meanwhile
    _set(
        engine,
        message_id,
        [MessageState.SENDING, MessageState.UNKNOWN],
        state=MessageState.SENT.value,
        sent_at=utcnow(),
        last_error="",
        next_attempt_at=None,
    )
    report.sent.append(message_id)


def resend_unknown(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    sender: Sender | None = None,
    progress: ProgressFactory | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send the `unknown` messages again (the operator's choice: some members may receive
    theirs twice), then the rest of the outbox as `send_outbox` does."""
    report = SendReport()
    report.unknown.extend(mark_dead_runs(engine))
    with Session(engine) as session:
        ids = session.exec(
            select(OutboxMessage.id).where(OutboxMessage.state == MessageState.UNKNOWN)
        ).all()
        for message_id in ids:
            assert message_id is not None
            session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message_id)
                .values(state=MessageState.PENDING.value, next_attempt_at=None)
            )
        session.commit()
    retried = {i for i in ids if i is not None}
    report.unknown.clear()
    send_outbox(
        engine, settings, now=now, sender=sender, progress=progress, sleep=sleep, report=report
    )
    report.resent = [i for i in report.sent if i in retried]
    return report


def retry_failed(engine: Engine) -> int:
    """Failed messages back to pending (sent by the next run); how many."""
    with Session(engine) as session:
        result = session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.state) == MessageState.FAILED.value)
            .values(state=MessageState.PENDING.value, next_attempt_at=None)
        )
        session.commit()
        return int(result.rowcount)


# --- reading -----------------------------------------------------------------------------------


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(OutboxMessage.state, func.count()).group_by(col(OutboxMessage.state))
    ).all()
    found = {state.value: 0 for state in MessageState}
    found.update({str(state): int(n) for state, n in rows})
    return found


def messages(
    session: Session,
    *,
    states: Iterable[MessageState] = (),
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[OutboxMessage], int]:
    wanted = [s.value for s in states]
    where = [col(OutboxMessage.state).in_(wanted)] if wanted else []
    total = session.exec(select(func.count()).select_from(OutboxMessage).where(*where)).one()
    rows = session.exec(
        select(OutboxMessage)
        .where(*where)
        .order_by(col(OutboxMessage.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)
