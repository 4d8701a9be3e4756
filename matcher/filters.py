"""Filters on organisations, applied before top-k so that k results come back when they exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from matcher.documents import OrgDoc


def _norm(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.strip().casefold() for value in values if value.strip())


def _any(wanted: frozenset[str], have: Iterable[str | None]) -> bool:
    return not wanted or any(h is not None and h.casefold() in wanted for h in have)


@dataclass(frozen=True)
class Filters:
    """Every non-empty field must match (AND); values inside one field are alternatives (OR).

    Matching is case-insensitive. `countries` are countries of work (the HQ counts as one);
    `regions` match the HQ's region or the region of any country of work; `income_groups` is the
    World Bank group of the HQ country.
    """

    countries: frozenset[str] = frozenset()
    hq_countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    income_groups: frozenset[str] = frozenset()
    org_types: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()

    @classmethod
    def of(cls, **values: Iterable[str] | None) -> Filters:
        return cls(**{name: _norm(value or ()) for name, value in values.items()})

    def __post_init__(self) -> None:
        for f in fields(self):  # also when built directly, not through `of`
            object.__setattr__(self, f.name, _norm(getattr(self, f.name)))

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def accepts(self, org: OrgDoc) -> bool:
        return (
            _any(self.countries, (*org.countries, org.hq_country))
            and _any(self.hq_countries, (org.hq_country,))
            and _any(self.regions, (org.hq_region, *org.regions))
            and _any(self.income_groups, (org.income_group,))
            and _any(self.org_types, (org.org_type,))
            and _any(self.languages, org.languages)
            and _any(self.networks, org.networks)
        )

    def mask(self, orgs: list[OrgDoc]) -> np.ndarray:
        if self.is_empty():
            return np.ones(len(orgs), dtype=bool)
        return np.fromiter((self.accepts(org) for org in orgs), dtype=bool, count=len(orgs))


def top_k(scores: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best allowed scores, best first (ties: lower index first)."""
    candidates = np.flatnonzero(allowed & ~np.isnan(scores))
    if k <= 0 or candidates.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((candidates, -scores[candidates]))  # a full sort: ties stay stable
    return np.asarray(candidates[order[:k]], dtype=np.int64)
