"""Parsers for the EU Funding & Tenders portal's other formats, and the choice between them.

Besides the open-calls collection (`scrapers.eu_portal.parse_open_calls`), the portal gives a
topic as its topicDetails JSON, as an entry of its search API (``metadata`` arrays keyed by field
name) and as a row of its CSV exports. Every parser here turns bytes into `CallRecord`s keyed by
the topic identifier, so one topic read from any of these formats is one call.

`parse_portal` detects the format by content (`detect_format`) and returns a `PortalBatch`: the
calls, plus the rows or results left out, each with its reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapers.call_merge import merge_calls
from scrapers.eu_portal import (
    CURRENCY,
    FUNDER,
    GZIP_MAGIC,
    SOURCE,
    STATUSES,
    PortalParseError,
    clean_conditions,
    clean_text,
    gunzip,
    one_line,
    parse_open_calls,
    topic_year,
)
from scrapers.records import CallRecord

__all__ = [
    "FORMATS",
    "PortalBatch",
    "detect_format",
    "merge_calls",
    "parse_csv_export",
    "parse_portal",
    "parse_search_results",
    "parse_topic_details",
]

TOPIC_URL = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
CASCADE_URL = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
    "competitive-calls-cs/"
)
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class PortalBatch:
    """What one file gave: its calls, and the rows or results left out (``"line 7: reason"``)."""

    calls: list[CallRecord]
    rejected: list[str] = field(default_factory=list)


class _FieldError(ValueError):
    """One field of one topic is unusable; reported with the topic's position."""


# --- shared field readers -------------------------------------------------------------------------


def _brussels() -> tzinfo:
    try:
        return ZoneInfo("Europe/Brussels")
    except ZoneInfoNotFoundError:  # no time-zone database: Central European (winter) time
        return timezone(timedelta(hours=1))


_EPOCH_MS = re.compile(r"\d{11,13}")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.+\-Z]*)?")
_LONG_DATE = re.compile(r"\d{1,2} [A-Za-z]+ \d{4}")


def _portal_date(token: str, key: str) -> date:
    """A date as the portal writes it: epoch milliseconds (a Brussels date), ISO with or
    without time and offset (its own date part), or ``13 March 2018``."""
    token = token.strip()
    try:
        if _EPOCH_MS.fullmatch(token):
            return datetime.fromtimestamp(int(token) / 1000, _brussels()).date()
        if match := _ISO_DATE.fullmatch(token):
            return date.fromisoformat(match.group(1))
        if _LONG_DATE.fullmatch(token):
            return datetime.strptime(token, "%d %B %Y").date()
    except ValueError:
        pass
    raise _FieldError(f"invalid {key} {token!r}")


def _amount(value: object, key: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _FieldError(f"invalid {key} {value!r}")
    try:
        return float(value)
    except ValueError:
        raise _FieldError(f"invalid {key} {value!r}") from None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _FieldError(f"invalid text {value!r}")


def _distinct(values: Iterable[str], skip: Iterable[str] = ()) -> tuple[str, ...]:
    """Non-empty values, in order, without case-insensitive repeats or the ones in `skip`."""
    seen = {value.casefold() for value in skip if value}
    kept: list[str] = []
    for value in values:
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            kept.append(value)
    return tuple(kept)


def _topic_url(identifier: str) -> str:
    return TOPIC_URL + identifier.lower()


def _decode(data: bytes) -> str:
    """Bytes (gzip-compressed or not) -> text: UTF-8 (BOM dropped), else Windows-1252/Latin-1."""
    data = gunzip(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.removeprefix("\ufeff")


def _load_json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise PortalParseError(f"{label}: invalid JSON at {where} ({exc.msg})") from exc


# --- topicDetails JSON ----------------------------------------------------------------------------


def _status_of(raw: object) -> str | None:
    """A SEDIA status (code, word or ``{"id": .., "abbreviation": ..}``) -> our status."""
    if isinstance(raw, dict):
        raw = raw.get("abbreviation") or raw.get("id")
    return STATUSES.get(_text(raw).strip().lower()) if raw is not None else None


def _topic_status(actions: list[dict[str, Any]], fallback: object = None) -> str:
    """Open if any action is open, else forthcoming if any is, else closed; open when unknown."""
    found = {_status_of(action.get("status")) for action in actions} | {_status_of(fallback)}
    for status in ("open", "forthcoming", "closed"):
        if status in found:
            return status
    return "open"


def _dicts(value: object, key: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _FieldError(f"invalid {key}")
    return value


def _budget_actions(overview: object, identifier: str) -> list[dict[str, Any]]:
    """The budget lines of this topic. Older payloads list every topic of the call, as lists of
    lines whose ``action`` starts with the topic id; newer ones hold only this topic's lines."""
    if not isinstance(overview, dict):
        return []
    lines: list[dict[str, Any]] = []
    for entry in (overview.get("budgetTopicActionMap") or {}).values():
        if isinstance(entry, dict):
            lines.append(entry)
        elif isinstance(entry, list):
            prefix = f"{identifier} - ".casefold()
            lines += [
                line
                for line in entry
                if isinstance(line, dict)
                and _text(line.get("action")).casefold().startswith(prefix)
            ]
    return lines


def _line_total(line: dict[str, Any]) -> float | None:
    amounts = [_amount(v, "budgetYearMap") for v in (line.get("budgetYearMap") or {}).values()]
    known = [amount for amount in amounts if amount is not None]
    return sum(known) if known else None


def _budget(lines: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Per-grant contribution range when the portal gives it, else the range of the topic's
    budget lines (each the sum over its years)."""
    low = [_amount(line.get("minContribution"), "minContribution") for line in lines]
    high = [_amount(line.get("maxContribution"), "maxContribution") for line in lines]
    lows, highs = [v for v in low if v], [v for v in high if v]
    if lows or highs:
        return min(lows or highs), max(highs or lows)
    totals = [total for line in lines if (total := _line_total(line))]
    return (min(totals), max(totals)) if totals else (None, None)


def _dates_in(items: Iterable[dict[str, Any]], key: str) -> set[date]:
    found: set[date] = set()
    for item in items:
        value = item.get(key)
        tokens = value if isinstance(value, list) else [value]
        found |= {_portal_date(_text(token), key) for token in tokens if _text(token).strip()}
    return found


def _programme(framework: object) -> str:
    """``Horizon Europe (HORIZON)`` -> ``Horizon Europe``."""
    if not isinstance(framework, dict):
        return ""
    return re.sub(r"\s*\([A-Z0-9+\-]+\)$", "", one_line(_text(framework.get("description"))))


def _action_types(actions: list[dict[str, Any]]) -> str:
    types = (
        one_line(_text(kind.get("typeOfAction")))
        for action in actions
        for kind in _dicts(action.get("types"), "types")
    )
    return "; ".join(_distinct(types))


def _topic_record(details: dict[str, Any], extra_deadlines: Iterable[date] = ()) -> CallRecord:
    identifier = _text(details.get("identifier")).strip()
    call_identifier = _text(details.get("callIdentifier")).strip()
    actions = _dicts(details.get("actions"), "actions")
    lines = _budget_actions(details.get("budgetOverviewJSONItem"), identifier)
    deadlines = _dates_in([*actions, *lines], "deadlineDates") | set(extra_deadlines)
    openings = _dates_in(actions, "plannedOpeningDate") or _dates_in(lines, "plannedOpeningDate")
    budget_min, budget_max = _budget(lines)
    keywords = [
        one_line(_text(k)) for k in [*(details.get("keywords") or []), *(details.get("tags") or [])]
    ]
    ordered = tuple(sorted(deadlines))
    return CallRecord(
        source=SOURCE,
        external_id=identifier,
        title=one_line(_text(details.get("title"))),
        text=clean_text(_text(details.get("description"))),
        funder=FUNDER,
        programme=_programme(details.get("frameworkProgramme")),
        call_identifier=call_identifier,
        action_type=_action_types(actions),
        year=topic_year(identifier, ordered),
        opening_date=min(openings, default=None),
        deadlines=ordered,
        budget_min=budget_min,
        budget_max=budget_max,
        currency=CURRENCY if budget_min is not None else "",
        conditions=clean_conditions(_text(details.get("conditions"))),
        status=_topic_status(actions, details.get("status")),
        url=_topic_url(identifier),
        keywords=_distinct(keywords, skip=(identifier, call_identifier)),
    )


def parse_topic_details(data: bytes) -> PortalBatch:
    """A topicDetails payload (``{"TopicDetails": {...}}``) -> its one call."""
    payload = _load_json(_decode(data), "topicDetails")
    details = payload.get("TopicDetails") if isinstance(payload, dict) else None
    if not isinstance(details, dict):
        raise PortalParseError("topicDetails: no TopicDetails object")
    identifier = _text(details.get("identifier")).strip()
    if not identifier:
        raise PortalParseError("topicDetails: missing identifier")
    try:
        return PortalBatch([_topic_record(details)])
    except (_FieldError, TypeError, AttributeError) as exc:
        raise PortalParseError(f"topicDetails ({identifier}): {exc}") from exc


# --- search API results ---------------------------------------------------------------------------


def _first(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    return _text(value)


def _embedded_json(metadata: dict[str, Any], key: str) -> Any:
    """Fields such as ``actions`` and ``budgetOverview`` hold JSON inside a string."""
    raw = _first(metadata, key).strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise _FieldError(f"invalid {key} (not JSON)") from None


# frameworkProgramme ids the search API gives instead of names.
_PROGRAMMES = {"43108390": "Horizon Europe", "31045243": "Horizon 2020"}


def _search_record(metadata: dict[str, Any]) -> CallRecord:
    details = {
        "identifier": _first(metadata, "identifier"),
        "title": _first(metadata, "title"),
        "callIdentifier": _first(metadata, "callIdentifier"),
        "description": _first(metadata, "descriptionByte") or _first(metadata, "description"),
        "conditions": _first(metadata, "topicConditions"),
        "keywords": [_text(k) for k in metadata.get("keywords") or []],
        "tags": [_text(t) for t in metadata.get("tags") or []],
        "actions": _embedded_json(metadata, "actions"),
        "budgetOverviewJSONItem": _embedded_json(metadata, "budgetOverview"),
        "status": _first(metadata, "status"),
    }
    extra = _dates_in([{"deadlineDate": metadata.get("deadlineDate")}], "deadlineDate")
    record = _topic_record(details, extra)
    programme = _PROGRAMMES.get(_first(metadata, "frameworkProgramme"), "")
    action_type = record.action_type or "; ".join(
        _distinct(one_line(_text(t)) for t in metadata.get("typesOfAction") or [])
    )
    return replace(record, programme=programme, action_type=action_type)


def parse_search_results(data: bytes) -> PortalBatch:
    """A search API response page (``{"results": [...]}``) or one result (``{"metadata": ..}``).

    Results that are not topics (no identifier: tenders, news) are left out with their reason.
    """
    payload = _load_json(_decode(data), "search results")
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        results = payload["results"]
    elif isinstance(payload, dict) and isinstance(payload.get("metadata"), dict):
        results = [payload]
    else:
        raise PortalParseError("search results: no results list and no metadata object")
    calls: list[CallRecord] = []
    rejected: list[str] = []
    for index, result in enumerate(results, 1):
        metadata = result.get("metadata") if isinstance(result, dict) else None
        identifier = _first(metadata, "identifier").strip() if isinstance(metadata, dict) else ""
        if not isinstance(metadata, dict) or not identifier:
            rejected.append(f"result {index}: not a topic (no identifier)")
            continue
        try:
            calls.append(_search_record(metadata))
        except (_FieldError, TypeError, AttributeError) as exc:
            rejected.append(f"result {index} ({identifier}): {exc}")
    return PortalBatch(calls, rejected)


# --- CSV exports ----------------------------------------------------------------------------------

# Header synonyms, after lower-casing and turning spaces and hyphens into underscores.
_COLUMNS = {
    "topic_identifier": "identifier",
    "topic_id": "identifier",
    "topicid": "identifier",
    "type_of_action": "action_type",
    "types_of_action": "action_type",
    "opening_date": "start_date",
    "deadline_date": "deadline",
    "call_identifier": "call_identifier",
    "callidentifier": "call_identifier",
}
_CASCADE = re.compile(r"(\d+)COMPETITIVE_CALL", re.I)


def _column(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _COLUMNS.get(key, key)


def _csv_record(row: dict[str, str]) -> CallRecord:
    """One export row. Rows of cascade-funding calls (reference ``<n>COMPETITIVE_CALL..``) are
    calls of their own, published under their parent topic: they are keyed by their number."""
    identifier = row.get("identifier", "").strip()
    cascade = _CASCADE.search(row.get("reference", ""))
    deadlines = {
        _portal_date(row[key], key) for key in ("deadline", "deadline2") if row.get(key, "").strip()
    }
    opening = row.get("start_date", "").strip()
    budget_min = _amount(row.get("budget_min"), "budget_min")
    budget_max = _amount(row.get("budget_max"), "budget_max")
    texts = [row.get("description", "")]
    if not clean_text(texts[0]):
        texts = [row.get("further_information", ""), row.get("beneficiary_administration", "")]
    ordered = tuple(sorted(deadlines))
    status = STATUSES.get(row.get("status", "").strip().lower(), "open")
    return CallRecord(
        source=SOURCE,
        external_id=f"competitive-call-{cascade.group(1)}" if cascade else identifier,
        title=one_line(row.get("title", "")),
        text="\n\n".join(t for t in (clean_text(text) for text in texts) if t),
        funder=FUNDER,
        programme=one_line(row.get("programme", "")),
        call_identifier=identifier if cascade else row.get("call_identifier", "").strip(),
        action_type=one_line(row.get("action_type", "")),
        year=topic_year(identifier, ordered),
        opening_date=_portal_date(opening, "start_date") if opening else None,
        deadlines=ordered,
        budget_min=budget_min,
        budget_max=budget_max,
        currency=CURRENCY if budget_min is not None or budget_max is not None else "",
        status=status,
        url=CASCADE_URL + cascade.group(1) if cascade else _topic_url(identifier),
    )


def _csv_rows(text: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """``(first line, fields)`` per record; a malformed record yields its `csv.Error`."""
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            yield line, next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, exc
            return


def parse_csv_export(data: bytes) -> PortalBatch:
    """A topic list as the portal exports it; header names are matched case-insensitively.

    A row that cannot be read is left out with its line number and reason; the topic is listed
    once per action type (and once as a topic) in some exports: those rows are merged.
    """
    rows = _csv_rows(_decode(data))
    first = next(rows, None)
    if first is None or isinstance(first[1], csv.Error):
        raise PortalParseError("CSV export: no header line")
    header = [_column(name) for name in first[1]]
    if "identifier" not in header or "title" not in header:
        raise PortalParseError("CSV export: the header has no identifier and title columns")
    calls: list[CallRecord] = []
    rejected: list[str] = []
    for line, fields_ in rows:
        if isinstance(fields_, csv.Error):
            rejected.append(f"line {line}: unreadable CSV ({fields_}); the rest of the file too")
            break
        if not any(value.strip() for value in fields_):
            continue
        if len(fields_) != len(header):
            rejected.append(f"line {line}: {len(fields_)} fields, the header has {len(header)}")
            continue
        row = dict(zip(header, fields_, strict=True))
        identifier = row["identifier"].strip()
        if not identifier:
            rejected.append(f"line {line}: missing identifier")
            continue
        try:
            calls.append(_csv_record(row))
        except _FieldError as exc:
            rejected.append(f"line {line} ({identifier}): {exc}")
    return PortalBatch(merge_calls(calls), rejected)


# --- open-calls collection, detection ----------------------------------------------------


def _parse_open_calls(data: bytes) -> PortalBatch:
    return PortalBatch(parse_open_calls(data))


Parser = Callable[[bytes], PortalBatch]
FORMATS: dict[str, Parser] = {
    "topic-details": parse_topic_details,
    "search-results": parse_search_results,
    "csv-export": parse_csv_export,
    "open-calls": _parse_open_calls,
}


def _json_kind(text: str) -> str | None:
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if "TopicDetails" in value:
        return "topic-details"
    if isinstance(value.get("results"), list) or isinstance(value.get("metadata"), dict):
        return "search-results"
    if "topicId" in value:
        return "open-calls"
    return None


def _looks_like_json(text: str, name: str) -> bool:
    return text.lstrip().startswith(("{", "[")) or name.lower().endswith((".json", ".jsonl"))


def detect_format(data: bytes, name: str) -> str:
    """The `FORMATS` key for a payload, by its content; `name` only words the errors.

    JSON with a ``TopicDetails`` object -> topicDetails; with a ``results`` list (or one
    ``metadata`` object) -> search results; objects with ``topicId`` (concatenated) -> the
    open-calls collection; text whose first line names identifier and title columns -> CSV.
    """
    text = _decode(data[:4096] if data[:2] != GZIP_MAGIC else data).lstrip()
    kind = _json_kind(text) if text.startswith("{") else None
    if kind is None and text.startswith("{"):
        kind = _json_kind(_decode(data).lstrip())
    if kind is not None:
        return kind
    if _looks_like_json(text, name):
        _load_json(_decode(data), "JSON")  # says where the JSON breaks, if it does
        raise PortalParseError(
            "JSON that is not a Funding & Tenders payload "
            "(no TopicDetails, results, metadata or topicId)"
        )
    header = {_column(h) for h in next(csv.reader(io.StringIO(text)), [])}
    if {"identifier", "title"} <= header:
        return "csv-export"
    raise PortalParseError(
        "unknown format: not topicDetails JSON, a search API response, "
        "a CSV export (identifier and title columns) or the open-calls collection"
    )


def parse_portal(data: bytes, name: str) -> PortalBatch:
    """Any recorded Funding & Tenders payload -> its calls (see `detect_format`)."""
    return FORMATS[detect_format(data, name)](data)
