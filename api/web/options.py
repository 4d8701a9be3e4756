"""Choices of the forms' selects, from the reference data and the database."""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session, col, select

from models.network import Network
from models.organisation import Organisation, OrgType
from models.reference import IncomeGroup, load_countries

INCOME_GROUPS = [group.value for group in IncomeGroup]
ORG_TYPES = [kind.value for kind in OrgType]


@lru_cache(maxsize=1)
def countries() -> list[tuple[str, str]]:
    """(ISO code, English name), by name."""
    return sorted(((c.iso2, c.name) for c in load_countries().values()), key=lambda c: c[1])


def country_name(code: str) -> str:
    info = load_countries().get(code.upper())
    return info.name if info else code


@lru_cache(maxsize=1)
def regions() -> list[str]:
    return sorted({c.region for c in load_countries().values() if c.region})


@lru_cache(maxsize=512)
def language_name(code: str) -> str:
    import pycountry

    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if found is None and len(code) == 3:
        found = pycountry.languages.get(alpha_3=code)
    return str(found.name) if found is not None else code


def languages(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the working languages found in the database."""
    found: set[str] = set()
    for values in session.exec(select(Organisation.languages)).all():
        found.update(str(v).lower() for v in values or [] if isinstance(v, str))
    return sorted(((code, language_name(code)) for code in found), key=lambda c: c[1])


def networks(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of the networks."""
    rows = session.exec(select(Network.slug, Network.name).order_by(col(Network.name))).all()
    return [(slug, name) for slug, name in rows]
