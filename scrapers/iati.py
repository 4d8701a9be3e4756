"""Parser for IATI activity XML, standard versions 1.0x and 2.0x (https://iatistandard.org).

Pure: a binary stream (or bytes) in, records out. The file is read with an incremental parser and
every `iati-activity` element is dropped once turned into records, so memory stays bounded by one
activity (plus the records) however large the file. The parser is defusedxml's: a DTD of any kind
(and with it entity expansion, "billion laughs", and external entities) is refused.

Mapping, the same for both versions (1.0x writes text and role/type names, 2.0x `<narrative>`
elements and numeric codes):
- activity -> ProjectRecord keyed by its `iati-identifier`; activities without one are skipped, and
  a repeated identifier keeps its first activity (both logged).
- Texts: English is preferred (`xml:lang`, inherited from the activity); without English, the
  first language is used and the texts in the other languages are appended to the description as
  `[lang] text`.
- Recipient countries -> countries (ISO alpha-2); recipient regions -> themes `region:CODE` (DAC
  region codes; another vocabulary V gives `region:V-CODE`).
- DAC sectors (5-digit, vocabulary DAC/1; 3-digit, DAC-3/2) -> readable themes from
  `data/dac_sectors.csv`, plus the theme `health` when any is in 121, 122, 123 or 130. Sectors of
  other vocabularies become keywords (their text).
- Dates: actual start/end preferred over planned; `year` is the start's (else the end's).
- Budget: the sum of the `budget` periods (a revised budget replaces the original of its period),
  when they share one currency. Funder: the first funding organisation.
- reporting-org and participating-org -> OrganisationRecord keyed by the org `ref`, else by
  `name:` and a slug of the name (so unreferenced names de-duplicate). One participant per
  organisation and activity: implementer over funder over partner; the reporting organisation is a
  partner when it is not also listed.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import IO, cast
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, iterparse

import pycountry
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from scrapers.dates import parse_date
from scrapers.errors import SourceFileError
from scrapers.records import OrganisationRecord, ParticipantRecord, ProjectRecord

SOURCE = "iati"
SECTORS_CSV = Path(__file__).with_name("data") / "dac_sectors.csv"
HEALTH_CATEGORIES = frozenset({"121", "122", "123", "130"})
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

log = logging.getLogger(__name__)

# IATI OrganisationType codes (2.0x) and names (1.0x) -> healthmatch organisation types.
ORG_TYPES = {
    "10": "public",
    "11": "public",
    "15": "public",
    "21": "ngo",
    "22": "ngo",
    "23": "ngo",
    "24": "ngo",
    "40": "multilateral",
    "60": "funder",
    "70": "private",
    "71": "private",
    "72": "private",
    "73": "private",
    "80": "research",
    "government": "public",
    "local government": "public",
    "other public sector": "public",
    "international ngo": "ngo",
    "national ngo": "ngo",
    "regional ngo": "ngo",
    "partner country based ngo": "ngo",
    "multilateral": "multilateral",
    "foundation": "funder",
    "private sector": "private",
    "academic, training and research": "research",
}

# IATI OrganisationRole codes (2.0x) and names (1.0x) -> (IATI name, healthmatch role).
ROLES = {
    "1": ("Funding", "funder"),
    "2": ("Accountable", "partner"),
    "3": ("Extending", "partner"),
    "4": ("Implementing", "implementer"),
    "funding": ("Funding", "funder"),
    "accountable": ("Accountable", "partner"),
    "extending": ("Extending", "partner"),
    "implementing": ("Implementing", "implementer"),
}
ROLE_RANK = {"implementer": 2, "funder": 1, "partner": 0}

# IATI ActivityDateType codes (2.0x) and names (1.0x).
DATE_TYPES = {"1": "start-planned", "2": "start-actual", "3": "end-planned", "4": "end-actual"}

_SLUG = re.compile(r"\W+")
_SPACES = re.compile(r"[^\S\n]+")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class IatiParseError(ValueError):
    """The document cannot be read as IATI XML; `read_iati` adds the file name."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class IatiData:
    projects: list[ProjectRecord] = field(default_factory=list)
    organisations: list[OrganisationRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why an activity was left out


@cache
def dac_sectors() -> dict[str, str]:
    """DAC code (5-digit purpose or 3-digit category) -> readable name."""
    with SECTORS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def read_iati(path: Path) -> IatiData:
    """An IATI activity file (plain or gzipped), with errors naming the file."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if gzipped else raw
            return parse_iati(stream)
    except FileNotFoundError as exc:
        raise SourceFileError(path, None, "no such file") from exc
    except (gzip.BadGzipFile, EOFError) as exc:
        raise SourceFileError(path, None, f"damaged gzip data ({exc})") from exc
    except OSError as exc:
        raise SourceFileError(path, None, f"cannot read ({exc.strerror or exc})") from exc
    except IatiParseError as exc:
        raise SourceFileError(path, exc.line, exc.reason) from exc


def parse_iati(source: bytes | IO[bytes]) -> IatiData:
    """Every activity of the document as a project, and the organisations they name."""
    data, orgs, seen = IatiData(), dict[str, OrganisationRecord](), set[str]()
    for project, activity_orgs in iter_activities(source):
        if not project.external_id:
            data.skipped.append(f"activity titled {project.title!r} has no iati-identifier")
            continue
        if project.external_id in seen:
            data.skipped.append(f"repeated iati-identifier {project.external_id!r}")
            continue
        seen.add(project.external_id)
        data.projects.append(project)
        for org in activity_orgs:
            orgs[org.external_id] = _merge(orgs.get(org.external_id), org)
    for reason in data.skipped:
        log.warning("IATI activity skipped: %s", reason)
    data.organisations = list(orgs.values())
    return data


def iter_activities(
    source: bytes | IO[bytes],
) -> Iterator[tuple[ProjectRecord, list[OrganisationRecord]]]:
    """(project, its organisations) per `iati-activity`, reading the stream incrementally."""
    stream = BytesIO(source) if isinstance(source, bytes) else source
    parser = DefusedXMLParser(target=TreeBuilder(), forbid_dtd=True)
    root: Element | None = None
    root_lang = ""
    try:
        for event, elem in iterparse(stream, events=("start", "end"), parser=parser):
            if root is None:
                root, root_lang = elem, _lang(elem.get(XML_LANG, ""))
                if elem.tag not in ("iati-activities", "iati-activity"):
                    raise IatiParseError(
                        1,
                        f"not IATI activity XML (root element <{elem.tag}>, expected "
                        "<iati-activities>)",
                    )
            if event == "end" and elem.tag == "iati-activity":
                yield _activity(elem, root_lang)
                elem.clear()
                if elem is not root:
                    root.clear()
    except ParseError as exc:
        line, column = exc.position
        what = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise IatiParseError(line, f"malformed or truncated XML: {what} (column {column})") from exc
    except DTDForbidden as exc:
        raise IatiParseError(
            _line(parser),
            f"refused: the document declares a DTD (<!DOCTYPE {exc.name}>); IATI files have none, "
            "and a DTD can carry entity-expansion or external-entity attacks",
        ) from exc
    except EntitiesForbidden as exc:
        raise IatiParseError(
            _line(parser), f"refused: the document declares the entity {exc.name!r}"
        ) from exc
    except ExternalReferenceForbidden as exc:
        raise IatiParseError(
            _line(parser), f"refused: the document refers to external content {exc.sysid!r}"
        ) from exc
    if root is None:
        raise IatiParseError(None, "empty document")


def _line(parser: DefusedXMLParser) -> int | None:
    expat = getattr(parser, "parser", None)
    line = getattr(expat, "CurrentLineNumber", None)
    return line if isinstance(line, int) else None


# --- one activity ----------------------------------------------------------------------------


def _activity(activity: Element, root_lang: str) -> tuple[ProjectRecord, list[OrganisationRecord]]:
    lang = _lang(activity.get(XML_LANG, "")) or root_lang
    identifier = _clean(activity.findtext("iati-identifier") or "")
    title, description = _title_and_description(
        _texts(activity.findall("title"), lang), _texts(activity.findall("description"), lang)
    )
    sector_themes, keywords = _sectors(activity, lang)
    start, end = _dates(activity)
    budget, currency = _budget(activity, (activity.get("default-currency") or "").strip().upper())
    participants, orgs, funder = _participants(activity, lang)
    project = ProjectRecord(
        source=SOURCE,
        external_id=identifier,
        title=title or identifier,
        description=description,
        keywords=keywords,
        themes=(*sector_themes, *_regions(activity)),
        countries=_countries(activity),
        year=when.year if (when := start or end) else None,
        start_date=start,
        end_date=end,
        budget=budget,
        currency=currency,
        funder=funder,
        source_url=_website(activity),
        participants=participants,
    )
    return project, orgs


def _lang(value: str) -> str:
    return value.strip().lower()


def _primary(lang: str) -> str:
    return lang.split("-")[0]


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _texts(elements: list[Element], default_lang: str) -> list[tuple[str, str]]:
    """(language, text) of 2.0x narratives, or of 1.0x plain-text elements."""
    found: list[tuple[str, str]] = []
    for elem in elements:
        lang = _lang(elem.get(XML_LANG, "")) or default_lang
        narratives = elem.findall("narrative")
        if narratives:
            found += [
                (_lang(n.get(XML_LANG, "")) or lang, _clean(n.text or "")) for n in narratives
            ]
        else:
            found.append((lang, _clean("".join(elem.itertext()))))
    return [(lang, text) for lang, text in found if text]


def _preferred(texts: list[tuple[str, str]]) -> str:
    primaries = [_primary(lang) for lang, _ in texts]
    for choice in ("en", ""):
        if choice in primaries:
            return choice
    return primaries[0] if primaries else "en"


def _title_and_description(
    titles: list[tuple[str, str]], descriptions: list[tuple[str, str]]
) -> tuple[str, str]:
    preferred = _preferred(titles + descriptions)
    chosen = [text for lang, text in titles if _primary(lang) == preferred]
    title = (chosen or [text for _, text in titles] or [""])[0]
    parts = _unique(text for lang, text in descriptions if _primary(lang) == preferred)
    if preferred != "en":
        others = titles + descriptions
        parts += _unique(f"[{lang}] {text}" for lang, text in others if _primary(lang) != preferred)
    return title.replace("\n", " "), "\n\n".join(parts)


def _unique(items: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _sectors(activity: Element, lang: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Readable DAC themes (with `health`) and the texts of other vocabularies' sectors."""
    names = dac_sectors()
    themes: list[str] = []
    keywords: list[str] = []
    health = False
    for sector in activity.findall("sector") or activity.findall("transaction/sector"):
        vocabulary = (sector.get("vocabulary") or "").strip().upper()
        code = (sector.get("code") or "").strip()
        dac5 = vocabulary in ("", "1", "DAC") and len(code) == 5
        dac3 = vocabulary in ("", "2", "DAC-3") and len(code) == 3
        if code.isdigit() and (dac5 or dac3):
            themes.append(names.get(code) or names.get(code[:3]) or f"DAC sector {code}")
            health = health or code[:3] in HEALTH_CATEGORIES
        else:
            keywords += [text for _, text in _texts([sector], lang)]
    if health:
        themes.append("health")
    return tuple(_unique(themes)), tuple(_unique(keywords))


def _regions(activity: Element) -> list[str]:
    themes = []
    for region in activity.findall("recipient-region"):
        code = (region.get("code") or "").strip()
        vocabulary = (region.get("vocabulary") or "").strip()
        if code:
            themes.append(
                f"region:{code}" if vocabulary in ("", "1") else f"region:{vocabulary}-{code}"
            )
    return _unique(themes)


def _countries(activity: Element) -> tuple[str, ...]:
    elems = activity.findall("recipient-country") or activity.findall(
        "transaction/recipient-country"
    )
    codes = ((elem.get("code") or "").strip().upper() for elem in elems)
    return tuple(_unique(code for code in codes if _COUNTRY.match(code)))


def _dates(activity: Element) -> tuple[date | None, date | None]:
    found: dict[str, date] = {}
    for elem in activity.findall("activity-date"):
        kind = (elem.get("type") or "").strip().lower()
        kind = DATE_TYPES.get(kind, kind)
        try:
            value = parse_date(elem.get("iso-date") or elem.text or "")
        except ValueError:
            continue
        found.setdefault(kind, value)
    start = found.get("start-actual") or found.get("start-planned")
    end = found.get("end-actual") or found.get("end-planned")
    return start, end


def _budget(activity: Element, default_currency: str) -> tuple[float | None, str]:
    periods: dict[tuple[str, str], tuple[bool, float, str]] = {}
    for budget in activity.findall("budget"):
        value = budget.find("value")
        if value is None:
            continue
        try:
            amount = float((value.text or "").strip().replace(",", ""))
        except ValueError:
            continue
        currency = (value.get("currency") or "").strip().upper() or default_currency
        revised = (budget.get("type") or "").strip().lower() in ("2", "revised")
        period = (_when(budget.find("period-start")), _when(budget.find("period-end")))
        if period not in periods or (revised and not periods[period][0]):
            periods[period] = (revised, amount, currency)
    currencies = {currency for _, _, currency in periods.values()}
    if not periods or len(currencies) != 1:
        return None, ""
    return sum(amount for _, amount, _ in periods.values()), currencies.pop()


def _when(elem: Element | None) -> str:
    return "" if elem is None else (elem.get("iso-date") or elem.text or "").strip()


def _website(activity: Element) -> str:
    url = (activity.findtext("activity-website") or "").strip()
    return url if url.startswith(("http://", "https://")) else ""


# --- organisations and roles -----------------------------------------------------------------


def _participants(
    activity: Element, lang: str
) -> tuple[tuple[ParticipantRecord, ...], list[OrganisationRecord], str]:
    """The activity's participants (one per organisation), its organisations and its funder."""
    roles: dict[str, list[tuple[str, str]]] = {}  # org id -> [(IATI role name, healthmatch role)]
    orgs: dict[str, OrganisationRecord] = {}
    funder = ""
    for elem in activity.findall("participating-org"):
        org = _organisation(elem, lang)
        if org is None:
            continue
        raw = (elem.get("role") or "").strip()
        source_role, role = ROLES.get(raw.lower(), (raw, "partner"))
        orgs[org.external_id] = _merge(orgs.get(org.external_id), org)
        roles.setdefault(org.external_id, []).append((source_role, role))
        if role == "funder" and not funder:
            funder = org.name
    reporting = activity.find("reporting-org")
    org = _organisation(reporting, lang) if reporting is not None else None
    if org is not None:
        orgs[org.external_id] = _merge(orgs.get(org.external_id), org)
        roles.setdefault(org.external_id, []).append(("Reporting", "partner"))
    participants = tuple(
        ParticipantRecord(
            org_external_id=org_id,
            role=max((role for _, role in pairs), key=ROLE_RANK.__getitem__),
            source_role=", ".join(_unique(name for name, _ in pairs if name)),
        )
        for org_id, pairs in roles.items()
    )
    return participants, list(orgs.values()), funder


def _organisation(elem: Element, lang: str) -> OrganisationRecord | None:
    ref = _clean(elem.get("ref") or "").replace("\n", " ")
    texts = _texts([elem], lang)
    preferred = _preferred(texts)
    names = [text for code, text in texts if _primary(code) == preferred] or [""]
    name = names[0].replace("\n", " ")[:500]
    slug = _SLUG.sub("-", name.casefold()).strip("-")
    if not ref and not slug:
        return None
    return OrganisationRecord(
        source=SOURCE,
        external_id=ref or f"name:{slug}",
        name=name or ref,
        country=_country_of_ref(ref),
        org_type=ORG_TYPES.get((elem.get("type") or "").strip().lower(), "other"),
    )


def _country_of_ref(ref: str) -> str | None:
    """The country of an IATI organisation identifier's registration agency (`GB-CHC-...`)."""
    prefix = ref.split("-", 1)[0].upper()
    if "-" not in ref or not _COUNTRY.match(prefix):
        return None
    return prefix if pycountry.countries.get(alpha_2=prefix) is not None else None


def _merge(old: OrganisationRecord | None, new: OrganisationRecord) -> OrganisationRecord:
    """The first sighting's name; a type or country learnt later fills what it lacked."""
    if old is None:
        return new
    return replace(
        old,
        org_type=new.org_type if old.org_type == "other" else old.org_type,
        country=old.country or new.country,
    )
