"""The mail package against a real SMTP server (aiosmtpd): rendering of hostile call text,
the calendar attachment, the MIME message, and sending with retries."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest

from api.mail.content import MailItem, MailMember, RenderedMail
from api.mail.ics import calendar_for, escape_text
from api.mail.message import build_message, check_address, parse_message
from api.mail.render import human_date, render_digest, render_forward
from api.mail.smtp import MailRejected, MailUnavailable, SmtpSender, send_with_retries
from models.settings import Settings, SmtpSecurity
from tests.api.smtp_server import LocalSmtp, free_port, smtp_server_fixture  # noqa: F401

UNSUBSCRIBE = "https://network.example/mail/unsubscribe/tok-123"
RECIPIENT = "contact@member.example"
SENDER = "healthmatch <noreply@network.example>"
INJECTED = "x\r\nBcc: evil@example.com"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = (
    MailItem(
        call_id=1,
        title="<script>alert(1)</script>",
        url="javascript:alert(1)",
        deadline=date(2025, 5, 14),
        reason='<img src=x onerror="alert(1)">',
        funder="Funder & Co",
        programme="Health; Horizon, 2025",
    ),
    MailItem(
        call_id=2,
        title=INJECTED,
        url="https://funder.example/calls/2?a=1&b=2",
        deadline=date(2025, 6, 1),
        deadlines=(date(2025, 6, 1), date(2025, 9, 30)),
        reason="fits: malaria; vaccines, \x1b[31mred\x07",
    ),
)
MEMBER = MailMember(organisation_id=7, name="Institut\r\nBcc: x@y.example <b>Pasteur</b>")


def digest(items: tuple[MailItem, ...] = HOSTILE) -> RenderedMail:
    return render_digest(MEMBER, items, unsubscribe_url=UNSUBSCRIBE, intro="Dear all,\n\nhello")


def message_for(rendered: RenderedMail, recipient: str = RECIPIENT) -> EmailMessage:
    return build_message(
        rendered,
        sender=SENDER,
        recipient=recipient,
        message_id="<digest-7-abc@healthmatch>",
        unsubscribe_url=UNSUBSCRIBE,
    )


# --- rendering -----------------------------------------------------------------------------


def test_digest_html_escapes_hostile_text() -> None:
    html = digest().html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "javascript:" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert "&lt;b&gt;Pasteur&lt;/b&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://funder.example/calls/2?a=1&amp;b=2", UNSUBSCRIBE]
    assert not re.search(r"<(style|link|iframe|object|form)\b", html, re.I)
    assert "src=" not in html.replace("&lt;img src=x", "")  # no external resources
    assert "Wednesday 14 May 2025" in html and "2025-05-14" in html
    assert "Funder &amp; Co" in html and "Health; Horizon, 2025" in html


def test_digest_text_is_plain_and_clean() -> None:
    rendered = digest()
    text = rendered.text
    assert not CONTROL.search(text)
    assert "\r" not in text
    assert "<script>alert(1)</script>" in text  # plain text: shown as it is, not escaped
    assert "x Bcc: evil@example.com" in text  # the line break became a space
    assert "\nBcc:" not in text
    assert "javascript:" not in text  # not a link: the URL is left out
    assert "https://funder.example/calls/2?a=1&b=2" in text
    assert f"Unsubscribe: {UNSUBSCRIBE}" in text
    assert "Deadline: Sunday 1 June 2025 (2025-06-01)" in text
    assert "Other deadlines: 2025-09-30" in text
    assert "Why it fits: fits: malaria; vaccines, [31mred" in text


def test_subjects_are_one_line() -> None:
    rendered = digest()
    assert rendered.subject == "2 funding calls for Institut Bcc: x@y.example <b>Pasteur</b>"
    one = render_digest(MEMBER, HOSTILE[:1], unsubscribe_url=UNSUBSCRIBE)
    assert one.subject.startswith("1 funding call for ")
    long_title = "Call\t\x0b\x1b\u2028" + "word " * 100 + "\r\nBcc: evil@example.com"
    item = MailItem(3, long_title, "", None)
    forward = render_forward(MEMBER, item, unsubscribe_url=UNSUBSCRIBE, note="Look!")
    assert forward.subject.startswith("Funding call: Call word word")
    assert len(forward.subject) <= 150 and forward.subject.endswith("…")
    assert not CONTROL.search(forward.subject) and "\u2028" not in forward.subject
    assert "  " not in forward.subject


def test_forward_renders_note_and_call() -> None:
    item = HOSTILE[1]
    note = "Please have a look <b>now</b>\r\n\r\n\r\n\r\nthe secretariat"
    rendered = render_forward(MEMBER, item, unsubscribe_url=UNSUBSCRIBE, note=note)
    assert rendered.subject == "Funding call: x Bcc: evil@example.com"
    assert "Please have a look &lt;b&gt;now&lt;/b&gt;" in rendered.html
    assert "Please have a look <b>now</b>\n\nthe secretariat" in rendered.text
    assert UNSUBSCRIBE in rendered.text and f'href="{UNSUBSCRIBE}"' in rendered.html
    assert rendered.items == (item,)
    assert rendered.ics.count("BEGIN:VEVENT") == 2


def test_unsubscribe_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        render_digest(MEMBER, HOSTILE, unsubscribe_url="javascript:alert(1)")


def test_human_date_is_english() -> None:
    assert human_date(date(2025, 5, 14)) == "Wednesday 14 May 2025"


# --- calendar ------------------------------------------------------------------------------


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")[:-1]


def test_calendar_is_rfc5545() -> None:
    title = "Ünïcödé, call; with \\ backslash " + "€" * 60
    items = (*HOSTILE, MailItem(4, title, "https://funder.example/4", date(2026, 1, 31)))
    stamp = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    ics = calendar_for(items, uid_domain="healthmatch.example", stamp=stamp)

    assert ics.endswith("\r\n")
    raw_lines = ics.split("\r\n")[:-1]
    assert "\n" not in "".join(raw_lines) and "\r" not in "".join(raw_lines)
    for line in raw_lines:
        assert len(line.encode("utf-8")) <= 75, line
    assert any(line.startswith(" ") for line in raw_lines)  # something was folded
    for chunk in ics.encode("utf-8").split(b"\r\n"):
        chunk.decode("utf-8")  # strict: no character was split by a fold

    lines = unfold(ics)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert "METHOD:PUBLISH" in lines and lines[-1] == "END:VCALENDAR"
    assert any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == 4 == lines.count("END:VEVENT")  # 1 + 2 + 1 deadlines
    uids = [line for line in lines if line.startswith("UID:")]
    assert uids == [
        "UID:call-1-20250514@healthmatch.example",
        "UID:call-2-20250601@healthmatch.example",
        "UID:call-2-20250930@healthmatch.example",
        "UID:call-4-20260131@healthmatch.example",
    ]
    assert "DTSTART;VALUE=DATE:20250930" in lines and "DTEND;VALUE=DATE:20251001" in lines
    assert "DTEND;VALUE=DATE:20260201" in lines
    assert lines.count("DTSTAMP:20250102T030405Z") == 4

    summaries = [line for line in lines if line.startswith("SUMMARY:")]
    assert summaries[0] == "SUMMARY:Deadline: <script>alert(1)</script>"
    assert summaries[1] == "SUMMARY:Deadline: x Bcc: evil@example.com"
    assert summaries[3] == "SUMMARY:" + escape_text("Deadline: " + title)
    assert summaries[3].startswith("SUMMARY:Deadline: Ünïcödé\\, call\\; with \\\\ backslash €")
    urls = [line for line in lines if line.startswith("URL:")]
    assert urls == ["URL:https://funder.example/calls/2?a=1&b=2"] * 2 + [
        "URL:https://funder.example/4"
    ]  # not javascript:
    descriptions = [line for line in lines if line.startswith("DESCRIPTION:")]
    assert descriptions[0] == 'DESCRIPTION:<img src=x onerror="alert(1)">'
    assert descriptions[1].startswith("DESCRIPTION:fits: malaria\\; vaccines\\, [31mred\\n")
    assert not CONTROL.search(ics.replace("\r\n", ""))


def test_calendar_uids_are_stable_and_unique() -> None:
    again = (HOSTILE[1], HOSTILE[1])
    first = calendar_for(again, uid_domain="h.example")
    assert first.count("BEGIN:VEVENT") == 2
    uids = [line for line in unfold(first) if line.startswith("UID:")]
    assert uids == [
        line
        for line in unfold(calendar_for(again, uid_domain="h.example"))
        if line.startswith("UID:")
    ]
    with pytest.raises(ValueError):
        calendar_for(again, uid_domain="bad\r\ndomain")


def test_no_deadline_no_calendar() -> None:
    items = (MailItem(9, "Open call", "https://x.example", None),)
    rendered = render_digest(MEMBER, items, unsubscribe_url=UNSUBSCRIBE)
    assert rendered.ics == "" and calendar_for([], uid_domain="x") == ""
    assert "Deadline: not given" in rendered.text
    message = message_for(rendered)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


# --- the message ---------------------------------------------------------------------------


def test_message_headers_and_parts() -> None:
    rendered = digest()
    message = message_for(rendered)
    data = message.as_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    parsed = parse_message(data)
    assert parsed.as_bytes() == data  # stored in the outbox and read back unchanged
    assert parsed["From"] == SENDER
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == rendered.subject
    assert parsed["Message-ID"] == "<digest-7-abc@healthmatch>"
    assert parsed["Date"]
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Bcc"] is None and parsed["Cc"] is None

    assert parsed.get_content_type() == "multipart/mixed"
    alternative, calendar = parsed.iter_parts()
    assert isinstance(alternative, EmailMessage) and isinstance(calendar, EmailMessage)
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == "deadlines.ics"
    assert calendar.get_payload(decode=True) == rendered.ics.encode("utf-8")


def test_long_unsubscribe_url_stays_one_raw_line() -> None:
    url = "https://network.example/mail/unsubscribe/" + "t" * 200
    rendered = render_digest(MEMBER, HOSTILE, unsubscribe_url=url)
    message = build_message(
        rendered, sender=SENDER, recipient=RECIPIENT, message_id="<a@b>", unsubscribe_url=url
    )
    data = message.as_bytes()
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in data
    assert parse_message(data)["List-Unsubscribe"] == f"<{url}>"


@pytest.mark.parametrize(
    "recipient",
    [
        "",
        "plain",
        "a@b@c.example",
        "a b@c.example",
        " a@c.example",
        "a@c.example\r\nBcc: evil@example.com",
        "a@c.example\nBcc: evil@example.com",
        "Name <a@c.example>",
        "a@c.example, b@c.example",
        "a@c.example;b@c.example",
        "<a@c.example>",
        "a@",
        "@c.example",
        "a..b@c.example",
        "a@c..example",
        "(comment)a@c.example",
        '"quoted"@c.example',
        "ü@c.example",
    ],
)
def test_bad_recipients_are_refused(recipient: str) -> None:
    with pytest.raises(ValueError):
        message_for(digest(), recipient)


def test_good_recipients() -> None:
    for address in ("a@b", "first.last+tag@sub.domain-x.example", "O'Neil@x.example"):
        assert check_address(address) == address


def test_bad_message_id_and_unsubscribe() -> None:
    rendered = digest()
    with pytest.raises(ValueError):
        build_message(
            rendered, sender=SENDER, recipient=RECIPIENT, message_id="<a\r\nBcc: x@y>",
            unsubscribe_url=UNSUBSCRIBE,
        )  # fmt: skip
    with pytest.raises(ValueError):
        build_message(
            rendered, sender=SENDER, recipient=RECIPIENT, message_id="<a@b>",
            unsubscribe_url="https://x.example/>\r\nBcc: x@y",
        )  # fmt: skip


# --- sending to a real server --------------------------------------------------------------


def test_sent_message_has_no_injected_header(smtp_server: LocalSmtp) -> None:
    rendered = digest()
    SmtpSender(smtp_server.settings()).send(message_for(rendered))
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == [RECIPIENT]
    assert received.mail_from == "noreply@network.example"
    parsed = received.message()
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert not re.search(rb"^bcc:", received.data, re.I | re.M)
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == rendered.subject
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    [calendar] = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert calendar.get_payload(decode=True) == rendered.ics.encode("utf-8")


def test_temporary_refusals_are_retried(smtp_server: LocalSmtp) -> None:
    smtp_server.refuse("421 4.3.2 Try again later", count=2)
    delays: list[float] = []
    sender = SmtpSender(smtp_server.settings())
    attempts = send_with_retries(
        sender, message_for(digest()), retries=3, base_s=0.5, sleep=delays.append
    )
    assert attempts == 3
    assert delays == [0.5, 1.0]
    assert len(smtp_server.received) == 1
    assert smtp_server.attempts == 3


def test_temporary_recipient_refusal_is_unavailable(smtp_server: LocalSmtp) -> None:
    smtp_server.refuse("450 4.2.1 Mailbox busy", count=1, stage="rcpt")
    with pytest.raises(MailUnavailable, match=r"450 4\.2\.1 Mailbox busy"):
        SmtpSender(smtp_server.settings()).send(message_for(digest()))
    SmtpSender(smtp_server.settings()).send(message_for(digest()))
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize(
    ("reply", "stage"),
    [("550 5.1.1 No such user", "rcpt"), ("554 5.6.0 Message refused", "data")],
)
def test_permanent_refusal_is_not_retried(smtp_server: LocalSmtp, reply: str, stage: str) -> None:
    smtp_server.refuse(reply, count=5, stage=stage)  # type: ignore[arg-type]
    delays: list[float] = []
    with pytest.raises(MailRejected, match=reply[:3]):
        send_with_retries(
            SmtpSender(smtp_server.settings()),
            message_for(digest()),
            retries=3,
            base_s=1.0,
            sleep=delays.append,
        )
    assert delays == []
    assert smtp_server.attempts == 1
    assert smtp_server.received == []


def test_nothing_listening_is_unavailable_after_the_retries() -> None:
    port = free_port()
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=2)
    delays: list[float] = []
    with pytest.raises(MailUnavailable, match=f"127.0.0.1:{port}"):
        send_with_retries(
            SmtpSender(settings), message_for(digest()), retries=3, base_s=2.0, sleep=delays.append
        )
    assert delays == [2.0, 4.0, 8.0]  # 4 attempts


def test_no_retries_means_one_attempt() -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port())
    delays: list[float] = []
    with pytest.raises(MailUnavailable):
        send_with_retries(
            SmtpSender(settings), message_for(digest()), retries=0, base_s=1, sleep=delays.append
        )
    assert delays == []


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections but never says hello."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        yield sock.getsockname()[1]


def test_timeout_is_unavailable(silent_server: int) -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=silent_server, smtp_timeout_s=0.3)
    with pytest.raises(MailUnavailable, match="timed out"):
        SmtpSender(settings).send(message_for(digest()))


def test_login() -> None:
    with LocalSmtp(auth=("mailer", "s3cret-pw")) as server:
        SmtpSender(server.settings()).send(message_for(digest()))
        assert server.logins == ["mailer"] and len(server.received) == 1

        wrong = server.settings(smtp_password="wrong-pw-42")
        with pytest.raises(MailUnavailable) as error:
            SmtpSender(wrong).send(message_for(digest()))
        assert "wrong-pw-42" not in str(error.value) and "login refused" in str(error.value)
        assert "wrong-pw-42" not in repr(wrong)
        assert len(server.received) == 1


def test_one_connection_for_several_messages(smtp_server: LocalSmtp) -> None:
    with SmtpSender(smtp_server.settings()) as sender:
        sender.send(message_for(digest()))
        smtp_server.refuse("451 4.3.0 Local error", count=1)
        with pytest.raises(MailUnavailable, match="replied 451"):
            sender.send(message_for(digest()))
        sender.send(message_for(digest()))  # reconnects after the failure
        sender.send(message_for(digest()))
    assert len(smtp_server.received) == 3
    assert all(r.rcpt_tos == [RECIPIENT] for r in smtp_server.received)


def test_hook_sees_each_message(smtp_server: LocalSmtp) -> None:
    seen: list[str] = []
    smtp_server.on_message = lambda received: seen.append(received.rcpt_tos[0])
    SmtpSender(smtp_server.settings()).send(message_for(digest(), "one@member.example"))
    SmtpSender(smtp_server.settings()).send(message_for(digest(), "two@member.example"))
    assert seen == ["one@member.example", "two@member.example"]


def test_smtp_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHMATCH_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("HEALTHMATCH_SMTP_PORT", "587")
    monkeypatch.setenv("HEALTHMATCH_SMTP_PASSWORD", "hunter2")
    settings = Settings()
    assert settings.smtp_security is SmtpSecurity.STARTTLS and settings.smtp_port == 587
    assert settings.smtp_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert Settings(_env_file=None).mail_from  # type: ignore[call-arg]
