"""Reference data as data: countries with World Bank regions and income groups.

The rows live in `models/data/countries.csv` (see the README beside it for provenance); the
first migration loads them into the `country` table, and `load_countries()` reads the same file
for code that runs without a database (the matcher's filters, the importers).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from sqlmodel import Field, SQLModel


class IncomeGroup(StrEnum):
    LOW = "L"
    LOWER_MIDDLE = "LM"
    UPPER_MIDDLE = "UM"
    HIGH = "H"


LMIC_GROUPS = frozenset({IncomeGroup.LOW, IncomeGroup.LOWER_MIDDLE, IncomeGroup.UPPER_MIDDLE})


class Country(SQLModel, table=True):
    iso2: str = Field(primary_key=True, max_length=2)
    iso3: str = Field(max_length=3)
    name: str
    region: str = ""  # World Bank region, empty where the World Bank lists none
    income_group: str = ""  # IncomeGroup value, empty where unclassified


@dataclass(frozen=True)
class CountryInfo:
    iso2: str
    iso3: str
    name: str
    region: str
    income_group: str

    @property
    def is_lmic(self) -> bool:
        return self.income_group in LMIC_GROUPS


def country_rows() -> list[dict[str, str]]:
    text = resources.files("models").joinpath("data/countries.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache
def load_countries() -> dict[str, CountryInfo]:
    return {row["iso2"]: CountryInfo(**row) for row in country_rows()}


def income_flags(hq_country: str | None, countries: Iterable[str]) -> tuple[str | None, bool, bool]:
    """(HQ income group, HQ in a low/middle-income country, works in one) for an organisation."""
    table = load_countries()
    hq = table.get((hq_country or "").upper())
    hq_group = hq.income_group or None if hq else None
    works = any(table[c].is_lmic for c in (c.upper() for c in countries) if c in table)
    return hq_group, bool(hq and hq.is_lmic), works or bool(hq and hq.is_lmic)
