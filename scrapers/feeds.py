"""Parser for any funder's RSS or Atom feed (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) -> calls.

Pure: the feed's bytes in, calls out; feedparser reads them from memory and never fetches
anything (it is given a byte stream, not a URL or a path). Before feedparser sees the bytes, a
document type declaration with an internal subset or entity declarations, or one naming an external
DTD, is refused (entity expansion, "billion laughs", and external entities); the RSS 0.91 DTD of
Netscape, which feedparser knows and never fetches, is allowed. An HTML page given as a feed, and a
document feedparser cannot read as a feed, are refused with `FeedParseError`.

One entry -> one `CallRecord` (see `parse_feed`). Deadlines are taken from the entry's text only
where it states one plainly (``Deadline: 15 March 2027``, ``closing date 2027-03-15``, ``the
deadline for applications is 31/01/2027``, ``apply by 1 May 2027``); numeric dates with ``/``
whose day and month cannot be told apart (``02/03/2027``) are not used.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import feedparser

from scrapers.eu_portal import clean_text, one_line
from scrapers.records import CallRecord

__all__ = [
    "MAX_FEED_BYTES",
    "FeedBatch",
    "FeedParseError",
    "find_deadlines",
    "parse_feed",
]

MAX_FEED_BYTES = 50 * 1024 * 1024
# The one external DTD feeds commonly name; feedparser replaces it and never fetches it.
_SAFE_PUBLIC_IDS = {"-//netscape communications//dtd rss 0.91//en"}


class FeedParseError(ValueError):
    """The bytes are refused or are not an RSS or Atom feed."""


@dataclass(frozen=True)
class FeedBatch:
    """The calls of one feed, the entries left out (``"entry 3: reason"``) and notes."""

    calls: list[CallRecord]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- refusing before parsing --------------------------------------------------------------------

_DOCTYPE = re.compile(r"<!DOCTYPE\s+([^\s\[>]+)([^\[>]*)(\[)?", re.I)
_PUBLIC_ID = re.compile(r"PUBLIC\s+([\"'])(.*?)\1", re.I | re.S)
_HTML_ROOT = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<html[\s>]", re.I | re.S)


def _as_text(data: bytes) -> str:
    """Enough of a decoding to look for markup: UTF-16/32 by their byte-order mark or zero bytes,
    else Latin-1 (every byte kept, ASCII markup readable whatever the real encoding)."""
    head = data[:4]
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return data.decode("utf-32", errors="replace")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if head[:2] == b"<\x00":
        return data.decode("utf-16-le", errors="replace")
    if head[:2] == b"\x00<":
        return data.decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def _refuse_unsafe(data: bytes) -> None:
    if len(data) > MAX_FEED_BYTES:
        raise FeedParseError(f"refused: {len(data):,} bytes, more than {MAX_FEED_BYTES:,}")
    text = _as_text(data)
    if not text.strip():
        raise FeedParseError("empty document: not an RSS or Atom feed")
    if re.search(r"<!ENTITY", text, re.I):
        raise FeedParseError(
            "refused: the document declares entities (<!ENTITY>); feeds need none, and they can "
            "carry entity-expansion (billion laughs) or external-entity attacks"
        )
    doctype = _DOCTYPE.search(text)
    if doctype is None:
        if _HTML_ROOT.match(text):
            raise FeedParseError("not an RSS or Atom feed: an HTML page")
        return
    name, external, subset = doctype.group(1), doctype.group(2), doctype.group(3)
    if name.lower() == "html":
        raise FeedParseError("not an RSS or Atom feed: an HTML page (<!DOCTYPE html>)")
    if subset:
        raise FeedParseError(
            f"refused: the document type declaration (<!DOCTYPE {name} [...]>) has an internal "
            "subset; feeds need none, and it can carry entity-expansion or external-entity attacks"
        )
    if re.search(r"\b(?:SYSTEM|PUBLIC)\b", external, re.I):
        public = _PUBLIC_ID.search(external)
        if public is None or public.group(2).strip().lower() not in _SAFE_PUBLIC_IDS:
            raise FeedParseError(
                f"refused: the document names an external DTD (<!DOCTYPE {name}{external}>)"
            )


# --- deadlines in text --------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?:(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    rf"|(?P<dd>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<dm>{_MONTH}),?\s+(?P<dy>\d{{4}})"
    rf"|(?P<mm>{_MONTH})\s+(?P<md>\d{{1,2}}){_ORD},?\s+(?P<my>\d{{4}})"
    r"|(?P<na>\d{1,2})(?P<sep>[./])(?P<nb>\d{1,2})(?P=sep)(?P<ny>\d{4}))"
)
_TRIGGER = (
    r"\b(?:deadline|closing\s+date|due\s+date|closes|close\s+on|due\s+(?:by|on)"
    r"|apply\s+(?:by|before|until)|submit(?:ted)?\s+(?:by|before)|submissions?\s+(?:by|before)"
    r"|applications?\s+(?:close|must\s+be\s+(?:received|submitted)\s+by))\b"
)
# the trigger, then up to 60 characters within the sentence, then the date
_DEADLINE = re.compile(rf"{_TRIGGER}[^.!?\n]{{0,60}}?\b{_DATE}", re.I)


def _month(token: str) -> int:
    return _MONTHS[token.rstrip(".").lower()]


def _match_date(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    try:
        if groups["iy"]:
            return date(int(groups["iy"]), int(groups["im"]), int(groups["id"]))
        if groups["dd"]:
            return date(int(groups["dy"]), _month(groups["dm"]), int(groups["dd"]))
        if groups["mm"]:
            return date(int(groups["my"]), _month(groups["mm"]), int(groups["md"]))
        first, second, year = int(groups["na"]), int(groups["nb"]), int(groups["ny"])
        if groups["sep"] == "." or first > 12 or first == second:
            return date(year, second, first)  # day first (dotted dates always are)
        if second > 12:
            return date(year, first, second)
        return None  # 02/03/2027: day and month cannot be told apart
    except ValueError:
        return None  # 31 February


def find_deadlines(text: str) -> tuple[date, ...]:
    """The dates `text` states as a deadline (sorted, distinct); conservative by design."""
    found = {when for match in _DEADLINE.finditer(text) if (when := _match_date(match))}
    return tuple(sorted(found))


# --- entries ------------------------------------------------------------------------------------


def _date_of(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
            except ValueError:
                continue
    return None


def _entry_text(entry: Any) -> str:
    contents = [item.get("value", "") for item in entry.get("content") or []]
    html = next((value for value in contents if value and value.strip()), "")
    return clean_text(html or entry.get("summary", "") or "")


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _keywords(entry: Any) -> tuple[str, ...]:
    return _distinct(
        one_line(tag.get("label") or tag.get("term") or "") for tag in entry.get("tags") or []
    )


def _external_id(entry: Any, title: str, link: str) -> str:
    identifier = str(entry.get("id") or "").strip()
    if identifier:
        return identifier
    if link:
        return link
    return "sha256:" + hashlib.sha256(title.encode("utf-8")).hexdigest()


def _call(entry: Any, source: str, funder: str, today: date) -> CallRecord:
    link = str(entry.get("link") or "").strip()
    text = _entry_text(entry)
    title = one_line(entry.get("title", "") or "")
    if not title:
        first = text.split("\n", 1)[0].strip() if text else ""
        title = (first[:117] + "...") if len(first) > 120 else first or link
    opening = _date_of(entry)
    deadlines = find_deadlines(text)
    when = deadlines[-1] if deadlines else opening
    return CallRecord(
        source=source,
        external_id=_external_id(entry, title, link),
        title=title,
        text=text,
        funder=funder,
        year=when.year if when else None,
        opening_date=opening,
        deadlines=deadlines,
        status="closed" if deadlines and deadlines[-1] < today else "open",
        url=link,
        keywords=_keywords(entry),
    )


def parse_feed(
    data: bytes, *, source: str, feed_url: str = "", today: date | None = None
) -> FeedBatch:
    """An RSS or Atom feed -> one call per entry.

    - external_id: the entry's id (RSS ``guid``, Atom ``id``), else its link, else
      ``sha256:`` and the SHA-256 of its title (stable from run to run).
    - title; text: the entry's content, else its summary, HTML removed; url: its link (relative
      links resolved against `feed_url`); opening_date: its published (else updated) date;
      deadlines: the ones its text states (`find_deadlines`); keywords: its categories/tags;
      funder: the feed's title.
    - status: ``closed`` when every stated deadline is before `today`, else ``open``.
    Entries with neither a title nor a link, and repeated ids, are left out with their reason.
    """
    today = today or date.today()
    _refuse_unsafe(data)
    # Declared as XML so that feedparser takes the encoding from the document itself.
    headers = {"content-type": "application/xml"}
    if feed_url:
        headers["content-location"] = feed_url
    result = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = list(result.get("entries") or [])
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not entries:
        why = f" ({problem})" if problem else ""
        raise FeedParseError(f"not an RSS or Atom feed{why}")
    if problem and not entries:
        raise FeedParseError(f"not a well-formed RSS or Atom feed ({problem})")
    notes: list[str] = []
    if problem:
        notes.append(f"the feed is not well-formed ({problem}); read leniently")
    feed = result.get("feed") or {}
    funder = one_line(feed.get("title", "") or "")
    if not entries:
        notes.append("the feed has no entries")
    calls: list[CallRecord] = []
    rejected: list[str] = []
    first_at: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not one_line(entry.get("title", "") or "") and not entry.get("link"):
            rejected.append(f"entry {number}: no title and no link")
            continue
        call = _call(entry, source, funder, today)
        if call.external_id in first_at:
            rejected.append(
                f"entry {number}: repeated id {call.external_id!r} "
                f"(first at entry {first_at[call.external_id]})"
            )
            continue
        first_at[call.external_id] = number
        calls.append(call)
    return FeedBatch(calls, rejected, notes)
