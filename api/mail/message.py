"""The MIME message of a rendered mail: text and HTML alternatives, the calendar attached.

Only the subject comes from untrusted text, and it is one clean line already; the policy
(`MAIL_POLICY`, as `email.policy.SMTP`) refuses header values with CR or LF besides, and the
recipient must be one plain address: a title or an address cannot add a header (`Bcc:`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr

from api.mail.content import RenderedMail
from api.mail.render import one_line, safe_url

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
_MESSAGE_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>$")
_UNFOLDED = frozenset({"list-unsubscribe"})
URL_MAX = 900  # List-Unsubscribe stays on one line, under the 998-octet limit


class MailPolicy(EmailPolicy):
    """`email.policy.SMTP` (CRLF), except that List-Unsubscribe is never folded: folding a long
    URL, which has no spaces, would turn it into RFC 2047 encoded words no client decodes."""

    def _raw(self, name: str, value: str) -> str | None:
        text = str(value)
        if name.lower() in _UNFOLDED and text.isascii() and "\r" not in text and "\n" not in text:
            return f"{name}: {text}{self.linesep}"
        return None

    def fold(self, name: str, value: str) -> str:
        return self._raw(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        raw = self._raw(name, value)
        return raw.encode("ascii") if raw else super().fold_binary(name, value)


MAIL_POLICY = MailPolicy(linesep="\r\n")


def parse_message(data: bytes) -> EmailMessage:
    """A message built here and stored as bytes (`message.as_bytes()`), read back to be sent."""
    message = message_from_bytes(data, _class=EmailMessage, policy=MAIL_POLICY)
    assert isinstance(message, EmailMessage)
    return message


def check_address(value: str) -> str:
    """`value` if it is one plain address `local@domain` (ASCII, no display name, no spaces or
    control characters, no comments, one `@`), else ValueError."""
    if not isinstance(value, str) or len(value) > 320:
        raise ValueError("not an e-mail address")
    if value != value.strip() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"an e-mail address has no spaces or control characters: {value!r}")
    if value.count("@") != 1:
        raise ValueError(f"an e-mail address has exactly one @: {value!r}")
    local, domain = value.split("@")
    if not (local and domain and len(local) <= 64 and len(domain) <= 255):
        raise ValueError(f"not an e-mail address: {value!r}")
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError(f"not a plain e-mail address: {value!r}")
    if not _DOMAIN.match(domain) or any(
        not label or label.startswith("-") or label.endswith("-") or len(label) > 63
        for label in domain.split(".")
    ):
        raise ValueError(f"not an e-mail domain: {value!r}")
    if parseaddr(value) != ("", value):
        raise ValueError(f"not a plain e-mail address: {value!r}")
    return value


def sender_address(value: str) -> Address:
    """The From: of `value`, `Name <local@domain>` or `local@domain` (trusted, but checked)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("the sender address has control characters")
    name, address = parseaddr(value)
    check_address(address)
    local, domain = address.split("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def build_message(
    rendered: RenderedMail,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    unsubscribe_url: str,
    date: datetime | None = None,
) -> EmailMessage:
    """The message to send: From, To, Subject, Date, Message-ID, one-click List-Unsubscribe,
    Auto-Submitted; text/plain + text/html, deadlines.ics attached when there is one."""
    to = check_address(recipient)
    if not _MESSAGE_ID.match(message_id):
        raise ValueError(f"not a Message-ID: {message_id!r}")
    unsubscribe = safe_url(unsubscribe_url)
    if not unsubscribe or len(unsubscribe) > URL_MAX or any(c in unsubscribe for c in "<>\"'"):
        raise ValueError(f"not an unsubscribe URL: {unsubscribe_url!r}")
    subject = one_line(rendered.subject, 200)

    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender_address(sender)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    # quoted-printable: 7-bit safe whatever the server, and readable in the raw message.
    message.set_content(rendered.text, subtype="plain", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    if rendered.ics:
        # bytes: base64 keeps the calendar's CRLF line ends and 75-octet lines exactly.
        message.add_attachment(
            rendered.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="deadlines.ics",
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return message
