"""The calendar attachment: one all-day event per (call, deadline), RFC 5545.

TEXT values are escaped (backslash, semicolon, comma, newline), control characters dropped,
lines folded at 75 octets without splitting a UTF-8 character, lines end with CRLF.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from api.mail.content import MailItem

PRODID = "-//healthmatch//funding call deadlines//EN"
LINE_OCTETS = 75
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")


def _clean(value: str) -> str:
    """One line without control characters (RFC 5545 TEXT allows none but HTAB)."""
    text = "".join(" " if unicodedata.category(c) == "Cc" or c.isspace() else c for c in value)
    return re.sub(r" +", " ", text).strip()


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value: `\\` `;` `,` escaped, line breaks as `\\n`, no control chars."""
    lines = [_clean(line) for line in value.splitlines()] or [""]
    escaped = []
    for line in lines:
        line = line.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        escaped.append(line)
    return "\\n".join(escaped)


def fold(line: str) -> str:
    """A content line folded at 75 octets: CRLF + space, never inside a UTF-8 character."""
    out: list[str] = []
    current: list[str] = []
    size, limit = 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            out.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += octets
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


def _url(value: str) -> str:
    url = value.strip()
    if not url or any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def _deadlines(item: MailItem) -> list[date]:
    days = set(item.deadlines)
    if item.deadline is not None:
        days.add(item.deadline)
    return sorted(days)


def calendar_for(
    items: Iterable[MailItem], *, uid_domain: str, stamp: datetime | None = None
) -> str:
    """A VCALENDAR with one all-day VEVENT per (call, deadline); "" when no item has one.

    UIDs are `call-{id}-{yyyymmdd}@{uid_domain}`: the same deadline sent twice updates the
    event already in the member's calendar instead of adding another."""
    if not _DOMAIN.match(uid_domain):
        raise ValueError(f"not a domain for calendar UIDs: {uid_domain!r}")
    now = (stamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    events: list[str] = []
    seen: set[str] = set()
    for item in items:
        for day in _deadlines(item):
            uid = f"call-{item.call_id}-{day:%Y%m%d}@{uid_domain}"
            if uid in seen:
                continue
            seen.add(uid)
            lines = [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                f"DTSTAMP:{now}",
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
                f"SUMMARY:{escape_text(_clean('Deadline: ' + item.title))}",
            ]
            url = _url(item.url)
            if url:
                lines.append(f"URL:{url}")
            description = [item.reason] if item.reason else []
            if url:
                description.append(url)
            if description:
                lines.append(f"DESCRIPTION:{escape_text(chr(10).join(description))}")
            lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
            events.extend(lines)
    if not events:
        return ""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    return "".join(fold(line) for line in [*head, "METHOD:PUBLISH", *events, "END:VCALENDAR"])
