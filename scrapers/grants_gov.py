"""Parser for the Grants.gov XML extract (``GrantsDBExtractYYYYMMDDv2.xml``, published daily
inside a zip archive of the same name).

Pure: bytes in (the XML itself or the zip as published), calls out. The document is
``<Grants xmlns="http://apply.grants.gov/system/OpportunityDetail-V1.0">`` holding one element per
opportunity: ``OpportunitySynopsisDetail_1_0`` (posted opportunities) and
``OpportunityForecastDetail_1_0`` (forecasts). Element names are matched without their namespace,
so extracts with or without it read the same.

The XML is read incrementally (from the zip member as a stream, never uncompressed into memory)
and each opportunity element is dropped once turned into a record. The parser is defusedxml's: a
DTD of any kind, and with it entity expansion and external entities, is refused. A zip member that
would uncompress to more than `MAX_UNCOMPRESSED` bytes is refused before reading (zip-bomb guard).

Mapping (see `parse_grants_gov`): an opportunity -> `CallRecord` keyed by its OpportunityID; a
synopsis wins over a forecast of the same opportunity. Records without an id or a title are left
out with ``"record N: reason"`` (N counts opportunity elements from 1).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, iterparse

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from scrapers.dates import parse_date
from scrapers.eu_portal import clean_text, one_line
from scrapers.records import CallRecord

__all__ = [
    "CATEGORIES",
    "ELIGIBLE_APPLICANTS",
    "FUNDING_INSTRUMENTS",
    "MAX_UNCOMPRESSED",
    "GrantsBatch",
    "GrantsGovParseError",
    "parse_grants_gov",
]

SOURCE = "grants-gov"
CURRENCY = "USD"
PROGRAMME = "Grants.gov"
OPPORTUNITY_URL = "https://www.grants.gov/search-results-detail/{}"
MAX_UNCOMPRESSED = 2 * 1024**3  # bytes of the XML member of a zip
SYNOPSIS = "OpportunitySynopsisDetail_1_0"
FORECAST = "OpportunityForecastDetail_1_0"

# Grants.gov code lists, as published with the XML extract's schema.
ELIGIBLE_APPLICANTS = {
    "00": "State governments",
    "01": "County governments",
    "02": "City or township governments",
    "04": "Special district governments",
    "05": "Independent school districts",
    "06": "Public and State controlled institutions of higher education",
    "07": "Native American tribal governments (Federally recognized)",
    "08": "Public housing authorities/Indian housing authorities",
    "11": "Native American tribal organizations (other than Federally recognized tribal "
    "governments)",
    "12": "Nonprofits having a 501(c)(3) status with the IRS, other than institutions of higher "
    "education",
    "13": "Nonprofits that do not have a 501(c)(3) status with the IRS, other than institutions "
    "of higher education",
    "20": "Private institutions of higher education",
    "21": "Individuals",
    "22": "For profit organizations other than small businesses",
    "23": "Small businesses",
    "25": "Others (see the additional information on eligibility)",
    "99": "Unrestricted (any type of entity, subject to the additional information on eligibility)",
}
CATEGORIES = {
    "ACA": "Affordable Care Act",
    "AG": "Agriculture",
    "AR": "Arts",
    "BC": "Business and Commerce",
    "CD": "Community Development",
    "CP": "Consumer Protection",
    "DPR": "Disaster Prevention and Relief",
    "ED": "Education",
    "ELT": "Employment, Labor and Training",
    "EN": "Energy",
    "ENV": "Environment",
    "FN": "Food and Nutrition",
    "HL": "Health",
    "HO": "Housing",
    "HU": "Humanities",
    "IIJ": "Infrastructure Investment and Jobs Act",
    "IS": "Information and Statistics",
    "ISS": "Income Security and Social Services",
    "LJL": "Law, Justice and Legal Services",
    "NR": "Natural Resources",
    "O": "Other",
    "OZ": "Opportunity Zone Benefits",
    "RA": "Recovery Act",
    "RD": "Regional Development",
    "ST": "Science and Technology and other Research and Development",
    "T": "Transportation",
}
FUNDING_INSTRUMENTS = {
    "G": "Grant",
    "CA": "Cooperative Agreement",
    "PC": "Procurement Contract",
    "O": "Other",
}

_MMDDYYYY = re.compile(r"(\d{2})(\d{2})(\d{4})")
_ZIP_MAGIC = b"PK\x03\x04"


class GrantsGovParseError(ValueError):
    """The extract cannot be read as a whole (not XML, truncated, a DTD, a zip bomb)."""


@dataclass(frozen=True)
class GrantsBatch:
    """The calls of one extract, the records left out (``"record 7: reason"``) and notes."""

    calls: list[CallRecord]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _RecordError(ValueError):
    """One opportunity left out, with its reason."""


# --- input: raw XML or the zip as published ---------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CappedStream:
    """A read-only stream that fails once more than `limit` bytes have come out of `inner`."""

    def __init__(self, inner: _Readable, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size)
        self._count += len(chunk)
        if self._count > self._limit:
            raise GrantsGovParseError(
                f"refused: the XML uncompresses to more than {self._limit:,} bytes"
            )
        return chunk


def _xml_member(archive: zipfile.ZipFile, limit: int) -> zipfile.ZipInfo:
    members = [info for info in archive.infolist() if not info.is_dir()]
    xml = [info for info in members if info.filename.lower().endswith(".xml")]
    if len(xml) != 1:
        names = ", ".join(info.filename for info in members[:5]) or "none"
        raise GrantsGovParseError(
            f"the zip should hold exactly one .xml file, it holds {len(xml)} (files: {names})"
        )
    info = xml[0]
    if info.file_size > limit:
        raise GrantsGovParseError(
            f"refused: {info.filename} would uncompress to {info.file_size:,} bytes "
            f"(more than {limit:,}); a zip bomb or not a Grants.gov extract"
        )
    return info


# --- one opportunity ----------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fields(element: Element) -> dict[str, list[str]]:
    """Child element name (without namespace) -> its texts, in order (some repeat)."""
    found: dict[str, list[str]] = {}
    for child in element:
        text = (child.text or "").strip()
        if text:
            found.setdefault(_local(child.tag), []).append(text)
    return found


def _one(fields: dict[str, list[str]], key: str) -> str:
    values = fields.get(key)
    return values[0] if values else ""


def _date(fields: dict[str, list[str]], key: str) -> date | None:
    text = _one(fields, key)
    if not text:
        return None
    try:
        if match := _MMDDYYYY.fullmatch(text):
            month, day, year = (int(group) for group in match.groups())
            return date(year, month, day)
        return parse_date(text)
    except ValueError:
        raise _RecordError(f"unreadable {key} {text!r} (expected MMDDYYYY)") from None


def _amount(fields: dict[str, list[str]], key: str) -> float | None:
    """A dollar amount; blank, ``none`` and 0 (Grants.gov's "not stated") are None."""
    text = re.sub(r"[\s$,]", "", _one(fields, key))
    if not text or text.lower() in ("none", "n/a", "na"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RecordError(f"unreadable {key} {_one(fields, key)!r}") from None
    if value != value or value < 0:
        raise _RecordError(f"unreadable {key} {_one(fields, key)!r}")
    return value or None


def _html_text(text: str) -> str:
    """Description HTML (sometimes escaped twice in the extract) -> plain text."""
    if "&lt;" in text or "&gt;" in text:
        text = html.unescape(text)
    return clean_text(text)


def _named(codes: list[str], names: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(names.get(code.strip().upper(), code.strip()) for code in codes))


def _conditions(fields: dict[str, list[str]]) -> str:
    parts: list[str] = []
    codes = [code.zfill(2) for code in fields.get("EligibleApplicants", [])]
    applicants = _named(codes, ELIGIBLE_APPLICANTS)
    if applicants:
        parts.append("Eligible applicants: " + "; ".join(applicants) + ".")
    extra = _html_text(_one(fields, "AdditionalInformationOnEligibility"))
    if extra:
        parts.append(extra)
    if _one(fields, "CostSharingOrMatchingRequirement").lower() in ("yes", "y", "true"):
        parts.append("Cost sharing or matching is required.")
    return "\n\n".join(parts)


def _status(
    forecast: bool,
    deadlines: tuple[date, ...],
    fields: dict[str, list[str]],
    opening: date | None,
    today: date,
) -> str:
    if forecast:
        return "forthcoming"
    if opening is not None and opening > today:
        return "forthcoming"
    if deadlines:
        return "closed" if max(deadlines) < today else "open"
    archive = _date(fields, "ArchiveDate")
    return "closed" if archive is not None and archive < today else "open"


def _call(fields: dict[str, list[str]], forecast: bool, source: str, today: date) -> CallRecord:
    identifier = _one(fields, "OpportunityID")
    if forecast:
        opening = _date(fields, "EstimatedSynopsisPostDate") or _date(fields, "PostDate")
        deadline = _date(fields, "EstimatedSynopsisCloseDate")
    else:
        opening = _date(fields, "PostDate")
        deadline = _date(fields, "CloseDate")
    deadlines = (deadline,) if deadline else ()
    budget_min = _amount(fields, "AwardFloor")
    budget_max = _amount(fields, "AwardCeiling")
    conditions = _conditions(fields)
    description = _html_text(_one(fields, "Description"))
    text = "\n\n".join(part for part in (description, conditions) if part)
    when = deadline or opening
    return CallRecord(
        source=source,
        external_id=identifier,
        title=one_line(html.unescape(_one(fields, "OpportunityTitle"))),
        text=text,
        funder=one_line(_one(fields, "AgencyName")) or _one(fields, "AgencyCode"),
        programme=PROGRAMME,
        call_identifier=_one(fields, "OpportunityNumber"),
        action_type="; ".join(_named(fields.get("FundingInstrumentType", []), FUNDING_INSTRUMENTS)),
        year=when.year if when else None,
        opening_date=opening,
        deadlines=deadlines,
        budget_min=budget_min,
        budget_max=budget_max,
        currency=CURRENCY if budget_min is not None or budget_max is not None else "",
        conditions=conditions,
        status=_status(forecast, deadlines, fields, opening, today),
        url=OPPORTUNITY_URL.format(identifier),
        keywords=tuple(_named(fields.get("CategoryOfFundingActivity", []), CATEGORIES)),
    )


# --- the document -------------------------------------------------------------------------------


def _line(parser: DefusedXMLParser) -> str:
    expat = getattr(parser, "parser", None)
    line = getattr(expat, "CurrentLineNumber", None)
    return f" (line {line})" if isinstance(line, int) else ""


def _opportunities(stream: _Readable) -> Iterator[tuple[bool, dict[str, list[str]]]]:
    """(is a forecast, its fields) per opportunity element, read incrementally."""
    parser = DefusedXMLParser(target=TreeBuilder(), forbid_dtd=True)
    root: Element | None = None
    try:
        for event, element in iterparse(stream, events=("start", "end"), parser=parser):
            if root is None:
                root = element
                if _local(element.tag) != "Grants":
                    raise GrantsGovParseError(
                        f"not a Grants.gov extract (root element <{_local(element.tag)}>, "
                        "expected <Grants>)"
                    )
                continue
            if event != "end" or _local(element.tag) not in (SYNOPSIS, FORECAST):
                continue
            yield _local(element.tag) == FORECAST, _fields(element)
            element.clear()
            root.clear()
    except ParseError as exc:
        line, column = exc.position
        what = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise GrantsGovParseError(
            f"malformed or truncated XML at line {line}, column {column}: {what}"
        ) from exc
    except DTDForbidden as exc:
        raise GrantsGovParseError(
            f"refused: the document declares a DTD (<!DOCTYPE {exc.name}>){_line(parser)}; "
            "Grants.gov extracts have none, and a DTD can carry entity-expansion "
            "(billion laughs) or external-entity attacks"
        ) from exc
    except EntitiesForbidden as exc:
        raise GrantsGovParseError(
            f"refused: the document declares the entity {exc.name!r}{_line(parser)}"
        ) from exc
    except ExternalReferenceForbidden as exc:
        raise GrantsGovParseError(
            f"refused: the document refers to external content {exc.sysid!r}{_line(parser)}"
        ) from exc
    if root is None:
        raise GrantsGovParseError("empty document")


def _collect(
    stream: _Readable, source: str, today: date, notes: list[str]
) -> tuple[list[CallRecord], list[str]]:
    calls: dict[str, tuple[bool, int, CallRecord]] = {}
    rejected: list[str] = []
    number = 0
    for number, (forecast, fields) in enumerate(_opportunities(stream), start=1):
        identifier = _one(fields, "OpportunityID")
        if not identifier:
            rejected.append(f"record {number}: missing OpportunityID")
            continue
        if not _one(fields, "OpportunityTitle"):
            rejected.append(f"record {number} ({identifier}): missing OpportunityTitle")
            continue
        try:
            record = _call(fields, forecast, source, today)
        except _RecordError as exc:
            rejected.append(f"record {number} ({identifier}): {exc}")
            continue
        seen = calls.get(identifier)
        if seen is None:
            calls[identifier] = (forecast, number, record)
        elif seen[0] and not forecast:
            notes.append(
                f"record {number}: synopsis of opportunity {identifier} replaces its forecast "
                f"(record {seen[1]})"
            )
            calls[identifier] = (forecast, number, record)
        elif forecast and not seen[0]:
            notes.append(
                f"record {number}: forecast of opportunity {identifier} skipped, its synopsis "
                f"(record {seen[1]}) is kept"
            )
        else:
            rejected.append(
                f"record {number}: repeated OpportunityID {identifier!r} (first at record "
                f"{seen[1]})"
            )
    if number == 0:
        notes.append("no opportunity records in the extract")
    return [record for _, _, record in calls.values()], rejected


def parse_grants_gov(
    data: bytes,
    source: str = SOURCE,
    *,
    today: date | None = None,
    max_uncompressed: int = MAX_UNCOMPRESSED,
) -> GrantsBatch:
    """A Grants.gov XML extract (or the zip it is published in) -> its opportunities as calls.

    - external_id: OpportunityID; call_identifier: OpportunityNumber; url: its Grants.gov page.
    - text: the Description (HTML removed) and the eligibility conditions; conditions: the
      eligible applicant types by name, AdditionalInformationOnEligibility, cost sharing.
    - opening_date: PostDate (forecasts: EstimatedSynopsisPostDate); deadlines: CloseDate
      (forecasts: EstimatedSynopsisCloseDate); budget_min/max: AwardFloor/AwardCeiling in USD.
    - funder: AgencyName; action_type: funding instrument types; keywords: categories of funding
      activity by name (``HL`` -> ``Health``).
    - status: ``forthcoming`` for forecasts (and synopses posted after `today`), ``closed`` once
      the close date (or, without one, the archive date) is before `today`, else ``open``.
    """
    today = today or date.today()
    notes: list[str] = []
    if data[:4] == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                info = _xml_member(archive, max_uncompressed)
                notes.append(f"read {info.filename} from the zip archive")
                with archive.open(info) as member:
                    stream = _CappedStream(member, max_uncompressed)
                    calls, rejected = _collect(stream, source, today, notes)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise GrantsGovParseError(f"damaged zip archive ({exc})") from exc
        except NotImplementedError as exc:  # an unsupported compression method
            raise GrantsGovParseError(f"unreadable zip archive ({exc})") from exc
    else:
        calls, rejected = _collect(io.BytesIO(data), source, today, notes)
    return GrantsBatch(calls, rejected, notes)
