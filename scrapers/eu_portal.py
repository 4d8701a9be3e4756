"""Parser for the EU Funding & Tenders portal's "open calls" collection.

The collection (as gathered by the CordisData project) is a stream of JSON objects, one per topic,
written back to back: UTF-8 with a byte-order mark, optionally gzip-compressed, and not strict
JSON Lines (objects may follow each other without a newline). Much of its text went through a
UTF-8 -> cp1252 mix-up (``â€™`` for a right quotation mark); `repair_mojibake` undoes it
where it can.

`parse_open_calls` turns the raw bytes into `CallRecord`s; `is_health_related` is the documented
rule that decides which of them belong to the health domain.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from scrapers.records import CallRecord

__all__ = [
    "CURRENCY",
    "FUNDER",
    "SOURCE",
    "STATUSES",
    "PortalParseError",
    "clean_conditions",
    "clean_text",
    "is_health_related",
    "iter_json_objects",
    "one_line",
    "parse_open_calls",
    "repair_mojibake",
    "topic_year",
]

SOURCE = "eu-portal"
FUNDER = "European Commission"
CURRENCY = "EUR"

_LABEL = "open-calls"
GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"


class PortalParseError(ValueError):
    """The open-calls payload cannot be read; the message names where (object index, offset)."""


class _FieldError(ValueError):
    """One field of one topic is unusable; wrapped into `PortalParseError` with its position."""


# --- decoding ----------------------------------------------------------------------------------


def gunzip(data: bytes, label: str = "") -> bytes:
    """The bytes themselves, or decompressed when they are gzip data."""
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        prefix = f"{label}: " if label else ""
        raise PortalParseError(f"{prefix}invalid gzip data ({exc})") from exc


def _decode_payload(data: bytes) -> str:
    """Bytes (gzip-compressed or not) -> text without a leading byte-order mark."""
    data = gunzip(data, _LABEL)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PortalParseError(f"{_LABEL}: not UTF-8 at byte {exc.start}") from exc
    return text.removeprefix(_BOM)


_GAP = re.compile(r"[\s\ufeff]*")


def _skip_gap(text: str, position: int) -> int:
    """Position of the next character that is neither whitespace nor a byte-order mark."""
    match = _GAP.match(text, position)
    return match.end() if match else position


def iter_json_objects(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(offset, object)`` for each top-level JSON object of a concatenated stream.

    Objects may be separated by any whitespace (newlines included) or by nothing at all; a stray
    byte-order mark between them is skipped too. ``offset`` is the character offset of the
    object's opening brace in ``text``. Anything that is not a JSON object at the top level, or
    that is not valid JSON, raises `PortalParseError` naming the object's 1-based index.
    """
    decoder = json.JSONDecoder()
    position = _skip_gap(text, 0)
    index = 0
    while position < len(text):
        index += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise PortalParseError(
                f"{_LABEL}: object {index} at offset {position}: invalid JSON ({exc.msg})"
            ) from exc
        if not isinstance(value, dict):
            kind = type(value).__name__
            raise PortalParseError(
                f"{_LABEL}: object {index} at offset {position}: expected a JSON object, got {kind}"
            )
        yield position, value
        position = _skip_gap(text, end)


# --- text repair -------------------------------------------------------------------------------


def _cp1252_byte_map() -> dict[str, int]:
    """Character -> byte as cp1252 decoders produce them; undefined bytes pass through as C1."""
    mapping: dict[str, int] = {}
    for byte in range(0x80, 0x100):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            char = chr(byte)
        mapping[char] = byte
    return mapping


_CP1252_BYTES = _cp1252_byte_map()
_CONTINUATION = "".join(re.escape(c) for c, b in _CP1252_BYTES.items() if 0x80 <= b <= 0xBF)
# One UTF-8 sequence (lead byte + continuation bytes) as it looks after a cp1252 decode.
_MOJIBAKE = re.compile(
    f"[\xc2-\xdf][{_CONTINUATION}]|[\xe0-\xef][{_CONTINUATION}]{{2}}|[\xf0-\xf4][{_CONTINUATION}]{{3}}"
)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _repair_sequence(match: re.Match[str]) -> str:
    raw = bytes(_CP1252_BYTES[char] for char in match.group())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return match.group()


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as cp1252 (``â€™`` -> U+2019), sequence by sequence.

    Each candidate sequence is re-encoded to the bytes it came from and kept only if those bytes
    are valid UTF-8, so genuine accented text (``é``, ``€``) is left alone and a string mixing
    correct and broken characters is repaired where it is broken. Invisible characters the
    repair uncovers (zero-width spaces, stray byte-order marks, soft hyphens) are dropped.
    """
    if text.isascii():
        return text
    return _INVISIBLE.sub("", _MOJIBAKE.sub(_repair_sequence, text))


_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|p|div|li|h[1-6]|tr)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_SECTION_HEADING = re.compile(
    r"(?<![\w-])(Expected ?[Oo]utcomes?|Expected [Ii]mpacts?|Specific Challenge"
    r"|Specific [Oo]bjectives?|Specific [Tt]opic [Cc]onditions|Objectives?|Scope)\s*:\s*"
)
_GLUED_SENTENCE = re.compile(r"(?<=[a-z)\]][.:;!?])(?=[A-Z][a-z])")
_WORD = re.compile(r"\S+")
_URL = re.compile(r"://|www\.", re.I)
_NUMBERED_ITEM = re.compile(r"(?<=[a-z.)\]])(?=\d{1,2}[a-z]?\. [A-Z])")
_SPACES = re.compile(r"[ \t\xa0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _strip_html(text: str) -> str:
    if "<" in text:
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    return html.unescape(text) if "&" in text else text


def _unglue_word(match: re.Match[str]) -> str:
    word = match.group()
    return word if _URL.search(word) else _GLUED_SENTENCE.sub(" ", word)


def _unglue_sentences(text: str) -> str:
    """``research.People`` -> ``research. People``: a space where a line break was lost.

    Words that look like URLs are left as they are.
    """
    return _WORD.sub(_unglue_word, text)


def _tidy_whitespace(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _heading(name: str) -> str:
    """``ExpectedOutcome`` (as the CSV exports glue it) -> ``Expected Outcome``."""
    return re.sub(r"^Expected(?=[A-Z])", "Expected ", name)


def clean_text(text: str) -> str:
    """Portal text -> plain text: mojibake repaired, HTML removed, section headings on own lines.

    The portal glues headings such as ``Expected Outcome:`` and ``Scope:`` to the running text;
    they become paragraphs of their own (``Scope:`` on one line, its text on the next).
    Sentences glued together by a lost line break get a space back.
    """
    text = _strip_html(repair_mojibake(text))
    text = _unglue_sentences(text)
    text = _SECTION_HEADING.sub(lambda m: f"\n\n{_heading(m.group(1))}:\n", text)
    return _tidy_whitespace(text)


def clean_conditions(text: str) -> str:
    """Topic conditions: drop the leftover ``">`` of the portal's HTML, one numbered item a line."""
    text = re.sub(r'^\s*"?>', "", text)
    text = re.sub(r'^\s*"?>', "", _strip_html(repair_mojibake(text)))
    text = _NUMBERED_ITEM.sub("\n", _unglue_sentences(text))
    return _tidy_whitespace(text)


def one_line(text: str) -> str:
    """Portal text -> one line of plain text (mojibake repaired, HTML removed)."""
    return _SPACES.sub(" ", _strip_html(repair_mojibake(text)).replace("\n", " ")).strip()


# --- fields ------------------------------------------------------------------------------------


def _string(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _FieldError(f"invalid {key} {value!r}")


def _amount(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _FieldError(f"invalid {key} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _FieldError(f"invalid {key} {value!r}") from None


_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.+\-Z]*)?")


def _parse_date(token: str, key: str) -> date:
    match = _DATE.fullmatch(token)
    try:
        if match is None:
            raise ValueError(token)
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise _FieldError(f"invalid {key} {token!r}") from None


def _dates(obj: dict[str, Any], key: str) -> tuple[date, ...]:
    """One date, several (separated by ``,;|`` or whitespace, or as a JSON list), or none."""
    value = obj.get(key)
    if value is None:
        return ()
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise _FieldError(f"invalid {key} {value!r}")
        tokens = list(value)
    else:
        tokens = re.split(r"[,;|\s]+", _string(obj, key))
    return tuple(sorted({_parse_date(token, key) for token in tokens if token}))


def _opening_date(obj: dict[str, Any]) -> date | None:
    for key in ("openingDate", "startDate", "plannedOpeningDate"):
        found = _dates(obj, key)
        if found:
            return found[0]
    return None


STATUSES = {
    "open": "open",
    "open for submission": "open",
    "31094502": "open",
    "forthcoming": "forthcoming",
    "31094501": "forthcoming",
    "closed": "closed",
    "31094503": "closed",
}


def _status(obj: dict[str, Any]) -> str:
    """``callStatus`` as the portal spells it (words or SEDIA codes) -> forthcoming/open/closed.

    A topic without a status counts as open: the collection is one of open calls.
    """
    raw = _string(obj, "callStatus").strip()
    if not raw:
        return "open"
    status = STATUSES.get(raw.lower())
    if status is None:
        raise _FieldError(f"unknown callStatus {raw!r}")
    return status


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: ``Design (for recycling, for environment)`` stays."""
    parts: list[str] = []
    depth, start = 0, 0
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def _keywords(raw: str, identifiers: Iterable[str]) -> tuple[str, ...]:
    """Comma-separated keywords, stripped and de-duplicated; the topic's own identifiers dropped."""
    skip = {identifier.casefold() for identifier in identifiers if identifier}
    seen: set[str] = set()
    keywords: list[str] = []
    for part in _split_top_level(one_line(raw)):
        keyword = part.strip()
        folded = keyword.casefold()
        if keyword and folded not in skip and folded not in seen:
            seen.add(folded)
            keywords.append(keyword)
    return tuple(keywords)


_ID_YEAR = re.compile(r"(?:^|[-_/])(20\d{2})(?=$|[-_/])")


def topic_year(topic_id: str, deadlines: tuple[date, ...]) -> int | None:
    """The work-programme year written in the topic id (``HORIZON-HLTH-2027-01-...``), else the
    year of the first deadline."""
    match = _ID_YEAR.search(topic_id)
    if match:
        return int(match.group(1))
    return deadlines[0].year if deadlines else None


def _call_text(obj: dict[str, Any]) -> str:
    parts = (clean_text(_string(obj, key)) for key in ("description", "objectives"))
    return "\n\n".join(part for part in parts if part)


def _to_record(obj: dict[str, Any]) -> CallRecord:
    topic_id = _string(obj, "topicId").strip()
    call_identifier = _string(obj, "callIdentifier").strip()
    deadlines = _dates(obj, "deadline")
    budget_min, budget_max = _amount(obj, "budgetMin"), _amount(obj, "budgetMax")
    action_type = one_line(_string(obj, "actionType")) or one_line(_string(obj, "typesOfAction"))
    return CallRecord(
        source=SOURCE,
        external_id=topic_id,
        title=one_line(_string(obj, "title")),
        text=_call_text(obj),
        funder=one_line(_string(obj, "funder")) or FUNDER,
        programme=one_line(_string(obj, "programme")),
        call_identifier=call_identifier,
        action_type=action_type,
        year=topic_year(topic_id, deadlines),
        opening_date=_opening_date(obj),
        deadlines=deadlines,
        budget_min=budget_min,
        budget_max=budget_max,
        currency=CURRENCY if budget_min is not None or budget_max is not None else "",
        conditions=clean_conditions(_string(obj, "topicConditions")),
        status=_status(obj),
        url=_string(obj, "portalUrl").strip(),
        keywords=_keywords(_string(obj, "keywords"), (topic_id, call_identifier)),
    )


def _record_at(index: int, obj: dict[str, Any]) -> CallRecord:
    topic_id = obj.get("topicId")
    if not isinstance(topic_id, str) or not topic_id.strip():
        raise PortalParseError(f"{_LABEL}: object {index}: missing topicId")
    try:
        return _to_record(obj)
    except _FieldError as exc:
        raise PortalParseError(f"{_LABEL}: object {index} ({topic_id.strip()}): {exc}") from exc


def parse_open_calls(data: bytes) -> list[CallRecord]:
    """Raw open-calls bytes (gzip or plain, with or without BOM) -> one `CallRecord` per topic.

    Raises `PortalParseError` on unreadable input, naming the 1-based index of the object at
    fault (and its offset when the JSON itself is broken).
    """
    text = _decode_payload(data)
    return [_record_at(index, obj) for index, (_, obj) in enumerate(iter_json_objects(text), 1)]


# --- health rule -------------------------------------------------------------------------------

# Topic identifiers of programmes that are about health as a whole: the Horizon Europe health
# cluster, EU4Health, the Innovative Health Initiative, the Global Health EDCTP3 partnership
# and the Mission on Cancer.
_HEALTH_TOPIC_ID = re.compile(
    r"^(?:HORIZON-HLTH-|EU4H-|HORIZON-JU-IHI-|HORIZON-JU-(?:GH-)?EDCTP3-"
    r"|HORIZON-MISS-\d{4}-\d{2}-CANCER-)",
    re.I,
)
_HEALTH_TERM = re.compile(
    r"\b(?:health|healthcare|diseases?|medical|medicines?|clinical|vaccines?|vaccination"
    r"|epidemics?|epidemiology|pandemics?|patients?|care|nutrition|maternal|amr"
    r"|antimicrobials?|cancers?|infectious)\b",
    re.I,
)
# Phrases where a health term is about soil, plants, animals or cosmetics rather than people.
_NON_HUMAN = re.compile(
    r"\b(?:soil|plant|crop|animal|forest)s?\s+(?:health|nutrition)\b|\bpersonal\s+care\b", re.I
)
_MIN_HEALTH_KEYWORDS = 2


def _mentions_health(text: str) -> bool:
    return _HEALTH_TERM.search(_NON_HUMAN.sub(" ", text)) is not None


def is_health_related(call: CallRecord) -> bool:
    """Whether a call belongs to the health domain, by a rule simple enough to explain.

    A call is health-related when any of these holds:

    1. its topic id belongs to a health programme: ``HORIZON-HLTH-`` (health cluster),
       ``EU4H-`` (EU4Health), ``HORIZON-JU-IHI-`` (Innovative Health Initiative),
       ``HORIZON-JU-EDCTP3-`` / ``HORIZON-JU-GH-EDCTP3-`` (Global Health EDCTP3) or a
       ``HORIZON-MISS-<year>-<nn>-CANCER-`` topic (Mission on Cancer);
    2. its title contains a health term as a whole word, case-insensitively: health,
       healthcare, disease(s), medical, medicine(s), clinical, vaccine(s), vaccination,
       epidemic(s), epidemiology, pandemic(s), patient(s), care, nutrition, maternal, AMR,
       antimicrobial(s), cancer(s), infectious;
    3. at least two of its keywords contain such a term (one keyword alone is often a
       side remark, e.g. "Mental health" on an arts topic).

    Terms about non-human subjects ("soil health", "plant health", "animal nutrition",
    "personal care") do not count.
    """
    if _HEALTH_TOPIC_ID.match(call.external_id):
        return True
    if _mentions_health(call.title):
        return True
    hits = sum(1 for keyword in call.keywords if _mentions_health(keyword))
    return hits >= _MIN_HEALTH_KEYWORDS
