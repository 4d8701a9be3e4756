"""Parser for the CORDIS open-data tables of EU research projects, as published on
data.europa.eu ("CORDIS - EU research projects under Horizon Europe", and the Horizon 2020 set).

Pure: the bytes of the CSV tables in, records out. The published tables are ``;``-separated,
UTF-8 (sometimes with a byte-order mark), with double-quoted fields that may hold newlines and
``;``. Only the CSV tables are read (not the XLSX or JSON editions of the same data):

- ``project.csv`` (required): one project per row -> `ProjectRecord` keyed by ``id``.
- ``organization.csv`` (required): one participation per row -> the project's participants, and
  `OrganisationRecord`s keyed by ``organisationID`` (one per organisation, the first row's values,
  blanks filled from later rows).
- ``topics.csv`` (optional): the topic (call) each project was funded under.
- ``euroSciVoc.csv`` (optional): the EuroSciVoc science fields of each project -> keywords.

Rows that cannot be used are left out with ``"organization.csv:LINE: reason"`` (LINE: the physical
line the row starts on); a table that is broken as a whole (no header, required columns missing)
raises `CordisParseError`. Text is read as UTF-8, else Windows-1252 (a Latin-1 superset); the
tables are read as a stream, never decoded into one string.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from scrapers.bench import ORG_TYPES, ROLES, normalise_country
from scrapers.dates import parse_date
from scrapers.eu_portal import clean_text, one_line
from scrapers.records import OrganisationRecord, ParticipantRecord, ProjectRecord

__all__ = [
    "FILES",
    "REQUIRED_COLUMNS",
    "CordisBatch",
    "CordisParseError",
    "parse_cordis",
    "table_name",
]

SOURCE = "cordis"
FUNDER = "European Commission"
CURRENCY = "EUR"
PROJECT_URL = "https://cordis.europa.eu/project/id/{}"

# table name -> its file name as published
FILES = {
    "project": "project.csv",
    "organization": "organization.csv",
    "topics": "topics.csv",
    "euroSciVoc": "euroSciVoc.csv",
}
REQUIRED_TABLES = ("project", "organization")
REQUIRED_COLUMNS = {
    "project": ("id", "title"),
    "organization": ("projectID", "organisationID", "name", "role"),
    "topics": ("projectID", "topic"),
    "euroSciVoc": ("projectID", "euroSciVocTitle"),
}

# Column names of the older CORDIS layout (H2020 and FP7 dumps published before 2022) -> today's.
_OLD_COLUMNS = {"organization": {"id": "organisationID"}}

# CORDIS roles -> healthmatch roles; `bench.ROLES` plus the roles only the full dumps use
# (ERC grants name their host institution, older dumps their beneficiaries).
_ROLES = {
    **{key.casefold(): value for key, value in ROLES.items()},
    "internationalpartner": "partner",
    "hostinstitution": "lead",
    "beneficiary": "partner",
}
_PROGRAMMES = {"HORIZON": "Horizon Europe", "H2020": "Horizon 2020", "FP7": "FP7"}
_CSV_FIELD_LIMIT = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class CordisParseError(ValueError):
    """A table that cannot be read as a whole (or a required table missing)."""


@dataclass(frozen=True)
class CordisBatch:
    """What the tables gave, the rows left out (``"project.csv:7: reason"``) and notes
    (encoding and delimiter of each table read)."""

    organisations: list[OrganisationRecord]
    projects: list[ProjectRecord]
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _RowError(ValueError):
    """One row left out, with its reason."""


def table_name(filename: str) -> str | None:
    """``.../project.csv`` -> ``"project"``; None for a file that is not a CORDIS CSV table.

    Only the CSV edition is recognised (``project.xlsx`` or ``project.json`` give None).
    """
    base = PureWindowsPath(PurePosixPath(filename).name).name.strip().casefold()
    for name, published in FILES.items():
        if base == published.casefold():
            return name
    if base == "organisation.csv":
        return "organization"
    return None


# --- reading one table ----------------------------------------------------------------------------


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether all of `data` decodes, checked chunk by chunk (no full copy as text)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start : start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(data: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else Windows-1252, else Latin-1."""
    for encoding in ("utf-8", "cp1252"):
        if _decodes(data, encoding):
            return encoding
    return "latin-1"


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


Row = dict[str, str] | str  # a row (column, case-folded -> value) or why it cannot be read


def _open_table(name: str, data: bytes, notes: list[str]) -> Iterator[tuple[int, Row]]:
    """``(line, row)`` per record after the header of one table, read as a stream. Raises
    `CordisParseError` for a file without a header or without the required columns."""
    label = FILES[name]
    encoding = _encoding(data)
    stream = io.TextIOWrapper(
        io.BytesIO(data), encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""
    )
    first = stream.readline()
    if not first.strip():
        raise CordisParseError(f"{label}: empty file (no header line)")
    delimiter = _delimiter(first)
    stream.seek(0)
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = [cell.strip().lstrip("\ufeff") for cell in next(reader)]
    except csv.Error as exc:
        raise CordisParseError(f"{label}: unreadable header line ({exc})") from exc
    columns = {cell.casefold(): index for index, cell in enumerate(header)}
    for old, new in _OLD_COLUMNS.get(name, {}).items():
        if new.casefold() not in columns and old.casefold() in columns:
            columns[new.casefold()] = columns.pop(old.casefold())
    missing = [column for column in REQUIRED_COLUMNS[name] if column.casefold() not in columns]
    if missing:
        raise CordisParseError(f"{label}: missing required columns: {', '.join(missing)}")
    shown = {";": "semicolon", ",": "comma"}[delimiter]
    notes.append(f"{label}: read as {encoding}, {shown}-separated")
    return _records(reader, len(header), columns)


def _records(reader: Any, width: int, columns: dict[str, int]) -> Iterator[tuple[int, Row]]:
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, f"unreadable CSV ({exc}); the rest of the file too"
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != width:
            yield line, f"{len(cells)} fields, the header has {width}"
            continue
        yield line, {key: cells[index].strip() for key, index in columns.items()}


# --- fields ---------------------------------------------------------------------------------------


def _get(row: dict[str, str], column: str) -> str:
    return row.get(column.casefold(), "")


def _amount(row: dict[str, str], column: str) -> float | None:
    """``1234567.5`` or ``1234567,5`` (older dumps); blank -> None."""
    text = re.sub(r"[\s\xa0']", "", _get(row, column))
    if not text:
        return None
    if "," in text and "." in text:  # the last one is the decimal separator
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    elif text.count(",") > 1:
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise _RowError(f"unreadable {column} {_get(row, column)!r}") from None
    if value != value or value < 0:
        raise _RowError(f"unreadable {column} {_get(row, column)!r}")
    return value


def _date(row: dict[str, str], column: str) -> date | None:
    text = _get(row, column)
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise _RowError(f"{column}: {exc}") from None


def _bool(row: dict[str, str], column: str) -> bool | None:
    text = _get(row, column).casefold()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    return None


def _tidy(text: str) -> str:
    """Plain text with its line breaks kept; HTML (rare in objectives) cleaned."""
    if "<" in text and ">" in text:
        return clean_text(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _first_topic(topics: str) -> str:
    return next((part.strip() for part in re.split(r"[;,]", topics) if part.strip()), "")


# --- tables -> records ----------------------------------------------------------------------------


def _project(row: dict[str, str], source: str) -> ProjectRecord:
    identifier = _get(row, "id")
    title = one_line(_get(row, "title"))
    if not identifier:
        raise _RowError("missing id")
    if not title:
        raise _RowError(f"project {identifier}: missing title")
    start, end = _date(row, "startDate"), _date(row, "endDate")
    signed = _date(row, "ecSignatureDate")
    budget = _amount(row, "ecMaxContribution")
    if budget is None:
        budget = _amount(row, "totalCost")
    else:
        _amount(row, "totalCost")  # still checked
    framework = _get(row, "frameworkProgramme")
    when = start or signed
    return ProjectRecord(
        source=source,
        external_id=identifier,
        title=title,
        description=_tidy(_get(row, "objective")),
        year=when.year if when else None,
        start_date=start,
        end_date=end,
        budget=budget,
        currency=CURRENCY if budget is not None else "",
        funder=FUNDER,
        programme=_PROGRAMMES.get(framework.upper(), framework),
        source_url=PROJECT_URL.format(identifier),
        funding_call_id=_first_topic(_get(row, "topics")),
    )


def _organisation(row: dict[str, str], source: str) -> OrganisationRecord:
    activity = _get(row, "activityType").upper()
    return OrganisationRecord(
        source=source,
        external_id=_get(row, "organisationID"),
        name=one_line(_get(row, "name")),
        short_name=one_line(_get(row, "shortName")),
        country=normalise_country(_get(row, "country")),
        city=one_line(_get(row, "city")),
        org_type=ORG_TYPES.get(activity, "other"),
        sme=_bool(row, "SME"),
        website=_get(row, "organizationURL"),
    )


def _fill(first: OrganisationRecord, later: OrganisationRecord) -> OrganisationRecord:
    """`first`, with the blanks it has filled from `later`."""
    updates = {
        name: getattr(later, name)
        for name in ("short_name", "country", "city", "sme", "website")
        if getattr(first, name) in (None, "") and getattr(later, name) not in (None, "")
    }
    if first.org_type == "other" and later.org_type != "other":
        updates["org_type"] = later.org_type
    return replace(first, **updates) if updates else first


def _topics(
    data: bytes, name: str, known: set[str], notes: list[str], rejected: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """project id -> [(topic or field, title)] for the optional tables."""
    label = FILES[name]
    value_column, title_column = (
        ("topic", "title") if name == "topics" else ("euroSciVocTitle", "euroSciVocTitle")
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for line, row in _open_table(name, data, notes):
        if isinstance(row, str):
            rejected.append(f"{label}:{line}: {row}")
            continue
        project = _get(row, "projectID")
        value = one_line(_get(row, value_column))
        if not project or not value:
            rejected.append(f"{label}:{line}: missing projectID or {value_column}")
        elif project not in known:
            rejected.append(f"{label}:{line}: unknown project {project!r}")
        else:
            found.setdefault(project, []).append((value, one_line(_get(row, title_column))))
    return found


def parse_cordis(files: dict[str, bytes], source: str = SOURCE) -> CordisBatch:
    """The CORDIS tables (keys: ``"project"``, ``"organization"``, optionally ``"topics"`` and
    ``"euroSciVoc"``; see `table_name`) -> projects with their participants, and organisations.
    """
    unknown = sorted(set(files) - set(FILES))
    if unknown:
        raise CordisParseError(f"unknown CORDIS tables: {', '.join(unknown)}")
    missing = [FILES[name] for name in REQUIRED_TABLES if name not in files]
    if missing:
        raise CordisParseError(f"missing required tables: {', '.join(missing)}")
    rejected: list[str] = []
    notes: list[str] = []

    projects: dict[str, ProjectRecord] = {}
    first_line: dict[str, int] = {}
    for line, row in _open_table("project", files["project"], notes):
        if isinstance(row, str):
            rejected.append(f"project.csv:{line}: {row}")
            continue
        try:
            record = _project(row, source)
        except _RowError as exc:
            rejected.append(f"project.csv:{line}: {exc}")
            continue
        if record.external_id in projects:
            where = first_line[record.external_id]
            rejected.append(
                f"project.csv:{line}: repeated project id {record.external_id!r} "
                f"(first at line {where})"
            )
            continue
        projects[record.external_id] = record
        first_line[record.external_id] = line

    organisations: dict[str, OrganisationRecord] = {}
    participants: dict[str, dict[str, ParticipantRecord]] = {}
    for line, row in _open_table("organization", files["organization"], notes):
        if isinstance(row, str):
            rejected.append(f"organization.csv:{line}: {row}")
            continue
        project, org_id = _get(row, "projectID"), _get(row, "organisationID")
        source_role = _get(row, "role")
        if not org_id or not _get(row, "name"):
            reason = "missing organisationID" if not org_id else "missing name"
        elif project not in projects:
            reason = f"unknown project {project!r}" if project else "missing projectID"
        elif source_role.casefold() not in _ROLES:
            reason = f"unknown role {source_role!r}"
        else:
            reason = ""
        if reason:
            rejected.append(f"organization.csv:{line}: {reason}")
            continue
        org = _organisation(row, source)
        seen = organisations.get(org_id)
        organisations[org_id] = org if seen is None else _fill(seen, org)
        participants.setdefault(project, {}).setdefault(
            org_id, ParticipantRecord(org_id, _ROLES[source_role.casefold()], source_role)
        )

    known = set(projects)
    topics = _topics(files["topics"], "topics", known, notes, rejected) if "topics" in files else {}
    fields_ = (
        _topics(files["euroSciVoc"], "euroSciVoc", known, notes, rejected)
        if "euroSciVoc" in files
        else {}
    )
    result: list[ProjectRecord] = []
    for identifier, record in projects.items():
        call_id, call_title = topics[identifier][0] if identifier in topics else ("", "")
        keywords = tuple(dict.fromkeys(value for value, _ in fields_.get(identifier, [])))
        result.append(
            replace(
                record,
                participants=tuple(participants.get(identifier, {}).values()),
                funding_call_id=call_id or record.funding_call_id,
                funding_call_title=call_title,
                keywords=keywords,
            )
        )
    return CordisBatch(list(organisations.values()), result, rejected, notes)
