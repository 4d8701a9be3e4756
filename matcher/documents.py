"""Plain documents the matcher reads: organisations, their projects, and queries (calls or text).

The service layer builds these from the database and the evaluation harness from benchmark files;
the matcher never sees either.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProjectDoc:
    """One piece of evidence about what organisations do."""

    id: str
    title: str
    text: str = ""
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    year: int | None = None
    call_title: str = ""  # the funding call it was won under, if known
    # (organisation id, role) with role one of lead/partner/funder/implementer
    participants: tuple[tuple[str, str], ...] = ()

    def body(self) -> str:
        """The text embedded for this project: title, keywords, then the description."""
        parts = [self.title, ", ".join(self.keywords), ", ".join(self.themes), self.text]
        return "\n".join(part for part in parts if part.strip())


@dataclass(frozen=True)
class OrgDoc:
    """An organisation as the matcher sees it: filterable facts plus its own description."""

    id: str
    name: str
    description: str = ""
    hq_country: str | None = None
    countries: tuple[str, ...] = ()  # countries of work
    org_type: str | None = None
    languages: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    hq_region: str | None = None
    regions: tuple[str, ...] = ()  # regions of the HQ and of the countries of work
    income_group: str | None = None  # World Bank income group of the HQ country


@dataclass(frozen=True)
class Query:
    """What to rank for: a funding call or free text, with optional facts for explanations."""

    text: str
    title: str = ""
    id: str | None = None
    countries: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def body(self) -> str:
        parts = [self.title, ", ".join(self.keywords), self.text]
        return "\n".join(part for part in parts if part.strip())


@dataclass
class Corpus:
    """Organisations and the projects that are evidence about them."""

    organisations: list[OrgDoc] = field(default_factory=list)
    projects: list[ProjectDoc] = field(default_factory=list)
