"""Render the mail to members from Jinja2 templates: HTML escaped, text cleaned, subject one line.

Everything that comes from members and calls (names, titles, reasons, URLs) is untrusted: the
HTML templates are autoescaped, every string loses its control characters before it reaches a
template (a title cannot add lines to the text part or headers to the message), and only
http(s) URLs become links.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.mail.content import MailItem, MailMember, RenderedMail
from api.mail.ics import calendar_for

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_MAX = 150
TITLE_MAX = 300  # a title longer than this is cut in the body too (with "…")
UID_DOMAIN = "healthmatch"

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# Bidirectional overrides and isolates can make text display differently from what it says.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SPACES = re.compile(r"\s+")

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "html.j2"], default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _visible(char: str) -> bool:
    return unicodedata.category(char) != "Cc" and char not in _BIDI


def one_line(value: str, limit: int | None = None) -> str:
    """`value` on one line: every run of whitespace or control characters becomes one space;
    cut to `limit` characters with "…"."""
    text = "".join(c if _visible(c) else " " for c in value)
    text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def multi_line(value: str) -> str:
    """`value` with its line breaks (any kind, normalised to \\n) and without other control
    characters; spaces kept within a line, at most one blank line in a row."""
    lines = [one_line(line) for line in value.splitlines()]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def safe_url(value: str) -> str:
    """`value` if it is an absolute http(s) URL without spaces or control characters, else ""."""
    url = value.strip()
    if not url or any(c.isspace() or not _visible(c) for c in url) or len(url) > 2000:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def human_date(day: date) -> str:
    """ "Tuesday 14 May 2025", in English whatever the locale."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class ItemView:
    """An item as the templates see it: clean strings only."""

    title: str
    url: str  # empty: not linked
    deadline_iso: str  # empty: no deadline known
    deadline_human: str
    other_deadlines: tuple[str, ...]  # ISO dates of the call's other deadlines
    funder: str
    programme: str
    reason: str


def _all_deadlines(item: MailItem) -> list[date]:
    days = set(item.deadlines)
    if item.deadline is not None:
        days.add(item.deadline)
    return sorted(days)


def _view(item: MailItem) -> ItemView:
    deadline = item.deadline
    others = [d for d in _all_deadlines(item) if d != deadline]
    if deadline is None and others:
        deadline, others = others[0], others[1:]
    return ItemView(
        title=one_line(item.title, TITLE_MAX) or f"Call {item.call_id}",
        url=safe_url(item.url),
        deadline_iso=deadline.isoformat() if deadline else "",
        deadline_human=human_date(deadline) if deadline else "",
        other_deadlines=tuple(d.isoformat() for d in others),
        funder=one_line(item.funder, 200),
        programme=one_line(item.programme, 200),
        reason=one_line(item.reason, 500),
    )


def _render(name: str, **context: object) -> tuple[str, str]:
    text = env.get_template(f"{name}.txt.j2").render(**context)
    html = env.get_template(f"{name}.html.j2").render(**context)
    # The context holds clean strings only; here just tidy the blank lines the blocks leave.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n", html


def _unsubscribe(url: str) -> str:
    clean = safe_url(url)
    if not clean:
        raise ValueError("the unsubscribe URL must be an absolute http(s) URL")
    return clean


def render_digest(
    member: MailMember,
    items: Sequence[MailItem],
    *,
    unsubscribe_url: str,
    intro: str = "",
    uid_domain: str = UID_DOMAIN,
) -> RenderedMail:
    """The periodic digest: every item with its deadline, funder and why it fits."""
    name = one_line(member.name, 200) or f"organisation {member.organisation_id}"
    count = len(items)
    noun = "funding call" if count == 1 else "funding calls"
    subject = one_line(f"{count} {noun} for {name}", SUBJECT_MAX)
    text, html = _render(
        "digest",
        subject=subject,
        member_name=name,
        intro=multi_line(intro),
        items=[_view(item) for item in items],
        unsubscribe_url=_unsubscribe(unsubscribe_url),
    )
    return RenderedMail(
        subject=subject,
        text=text,
        html=html,
        ics=calendar_for(items, uid_domain=uid_domain),
        items=tuple(items),
    )


def render_forward(
    member: MailMember,
    item: MailItem,
    *,
    unsubscribe_url: str,
    note: str = "",
    uid_domain: str = UID_DOMAIN,
) -> RenderedMail:
    """One call forwarded by the secretariat, with its note."""
    name = one_line(member.name, 200) or f"organisation {member.organisation_id}"
    view = _view(item)
    subject = one_line(f"Funding call: {view.title}", SUBJECT_MAX)
    text, html = _render(
        "forward",
        subject=subject,
        member_name=name,
        note=multi_line(note),
        item=view,
        unsubscribe_url=_unsubscribe(unsubscribe_url),
    )
    return RenderedMail(
        subject=subject,
        text=text,
        html=html,
        ics=calendar_for([item], uid_domain=uid_domain),
        items=(item,),
    )


def paragraphs(text: str) -> Iterable[str]:
    """Blank-line separated paragraphs of an already cleaned multi-line text."""
    return [p for p in text.split("\n\n") if p.strip()]


env.filters["paragraphs"] = paragraphs
