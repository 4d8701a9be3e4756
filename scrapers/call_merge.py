"""Recognising one funding call met in several places.

Within one source a call is known by its identifier (`merge_calls`). Across sources (the EU
portal, a funder's feed, Grants.gov, a benchmark) the same call arrives under different external
ids, so `CallMatcher` decides whether a new record is a call already stored:

1. the same structured identifier (e.g. ``HORIZON-HLTH-2026-01-DISEASE-03``), case ignored; or
2. a near-identical title (normalised, similarity >= `TITLE_SIMILARITY`) and a shared deadline.

It is deliberately conservative: two records of the same source are never merged (the source
says they differ), two records with different structured identifiers are never merged, and a
record without a deadline is merged only by identifier, because recurring calls keep their
titles from one year to the next.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from scrapers.records import CallRecord

TITLE_SIMILARITY = 0.92
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-Z0-9]+(?:[-_./][A-Z0-9]+)+$")
_NOT_WORD = re.compile(r"[^\w]+")


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value.casefold() not in {s.casefold() for s in seen}:
            seen[value] = None
    return tuple(seen)


def merge_two(first: CallRecord, other: CallRecord) -> CallRecord:
    """Fields of `first` where it has them, else `other`'s; deadlines and keywords united,
    budget range widened, action types listed once each."""
    merged: dict[str, Any] = {}
    for spec in fields(CallRecord):
        mine, theirs = getattr(first, spec.name), getattr(other, spec.name)
        merged[spec.name] = mine if mine not in (None, "", ()) else theirs
    lows = [v for v in (first.budget_min, other.budget_min) if v is not None]
    highs = [v for v in (first.budget_max, other.budget_max) if v is not None]
    actions = [*first.action_type.split("; "), *other.action_type.split("; ")]
    merged.update(
        deadlines=tuple(sorted({*first.deadlines, *other.deadlines})),
        keywords=_distinct([*first.keywords, *other.keywords]),
        budget_min=min(lows, default=None),
        budget_max=max(highs, default=None),
        action_type="; ".join(_distinct(actions)),
    )
    return CallRecord(**merged)


def merge_calls(calls: Iterable[CallRecord]) -> list[CallRecord]:
    """One record per external id, in first-seen order (the store takes each id once)."""
    merged: dict[str, CallRecord] = {}
    for call in calls:
        seen = merged.get(call.external_id)
        merged[call.external_id] = call if seen is None else merge_two(seen, call)
    return list(merged.values())


def structured_identifier(value: str) -> str | None:
    """`value` upper-cased when it looks like a funder's call code (letters, digits and
    separators, e.g. ``HORIZON-HLTH-2026-01-DISEASE-03`` or ``HHS-2026-ACF-0042``), else None:
    URLs, GUIDs-as-URLs and bare numbers are not identifiers two sources would share."""
    code = value.strip().upper()
    if len(code) < 6 or not _CODE.match(code):
        return None
    return code


def normalise_title(title: str) -> str:
    """Case, accents, punctuation and spacing removed: ``"Call: e-Health (2026)"`` ->
    ``"call e health 2026"``."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", plain).replace("_", " ").split())


def titles_match(a: str, b: str) -> bool:
    """Near-identical normalised titles."""
    if a == b:
        return True
    if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < TITLE_SIMILARITY:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= TITLE_SIMILARITY


@dataclass(frozen=True)
class CallKey:
    """What the matcher knows of a stored call."""

    entity_id: int
    source: str
    identifier: str | None
    title: str  # normalised
    deadlines: frozenset[date]

    @classmethod
    def of(
        cls, entity_id: int, source: str, external_id: str, title: str, deadlines: Iterable[date]
    ) -> CallKey:
        return cls(
            entity_id,
            source,
            structured_identifier(external_id),
            normalise_title(title),
            frozenset(deadlines),
        )


class CallMatcher:
    """Finds the stored call a new record duplicates; `add` keeps it current during an import."""

    def __init__(self, keys: Iterable[CallKey] = ()) -> None:
        self._by_identifier: dict[str, CallKey] = {}
        self._by_deadline: dict[date, list[CallKey]] = defaultdict(list)
        for key in keys:
            self.add(key)

    def add(self, key: CallKey) -> None:
        if key.identifier:
            self._by_identifier.setdefault(key.identifier, key)
        for deadline in key.deadlines:
            self._by_deadline[deadline].append(key)

    def find(self, record: CallRecord) -> int | None:
        """The entity id of the stored call `record` is, or None for a new call."""
        identifier = structured_identifier(record.external_id)
        if identifier:
            known = self._by_identifier.get(identifier)
            if known is not None and known.source != record.source:
                return known.entity_id
        title = normalise_title(record.title)
        for deadline in sorted(set(record.deadlines)):
            for key in self._by_deadline.get(deadline, ()):
                if self._same_call(key, record.source, identifier, title):
                    return key.entity_id
        return None

    @staticmethod
    def _same_call(key: CallKey, source: str, identifier: str | None, title: str) -> bool:
        if key.source == source:
            return False
        if identifier and key.identifier and identifier != key.identifier:
            return False
        return titles_match(key.title, title)
