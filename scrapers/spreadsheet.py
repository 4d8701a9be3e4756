"""Members and their projects as a secretariat keeps them: CSV or XLSX, one sheet or two.

Pure functions over bytes. One sheet holds organisations (optionally with project columns on the
same row), or two sheets/files hold organisations and projects (a projects sheet names its
organisation in a `name`/`organisation` column). Header names are matched flexibly (case, spacing,
punctuation, common synonyms); every rejected row is listed with its line and reason while the good
rows still import. External ids are the `id` column, else a slug of the organisation's name, so
importing the same sheet again changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import pycountry

from models.organisation import OrgType
from models.project import ParticipantRole
from scrapers.records import OrganisationRecord, ParticipantRecord, ProjectRecord

SOURCE = "spreadsheet"
MAX_UNCOMPRESSED = 50 * 1024 * 1024  # bytes, all entries of an XLSX archive together
MAX_ROWS = 100_000


class SpreadsheetError(Exception):
    """A file refused as a whole (unreadable, a zip bomb, too many rows, no name column)."""


# --- headers ------------------------------------------------------------------------------------

# canonical header -> synonyms (compared after `_norm_header`)
HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("id", "org id", "organisation id", "organization id", "member id", "external id"),
    "name": (
        "name",
        "organisation",
        "organization",
        "org",
        "org name",
        "organisation name",
        "organization name",
        "member",
        "member name",
        "institution",
        "legal name",
    ),
    "short name": ("short name", "acronym", "abbreviation"),
    "country": (
        "country",
        "hq country",
        "headquarters",
        "headquarters country",
        "hq",
        "country of headquarters",
        "based in",
    ),
    "city": ("city", "town", "hq city"),
    "type": (
        "type",
        "org type",
        "organisation type",
        "organization type",
        "category",
        "kind",
        "sector type",
    ),
    "website": ("website", "url", "web", "web site", "homepage", "site"),
    "email": ("email", "e mail", "contact email", "contact e mail", "mail"),
    "countries of work": (
        "countries of work",
        "countries",
        "where we work",
        "countries of operation",
        "operating countries",
        "work countries",
        "active in",
    ),
    "themes": ("themes", "topics", "sectors", "theme", "topic", "sector", "areas", "focus areas"),
    "languages": ("languages", "language", "working languages"),
    "description": ("description", "about", "profile", "mission", "summary of organisation"),
    "project id": ("project id", "project code", "project ref", "project reference"),
    "project title": ("project title", "project", "project name", "title"),
    "project description": (
        "project description",
        "summary",
        "project summary",
        "abstract",
        "project abstract",
    ),
    "year": ("year", "start year", "project year"),
    "role": ("role", "project role", "participant role"),
}
# The same headers in French, Spanish and Portuguese, the other working languages of the networks
# (accents are ignored by `_norm_header`).
FOREIGN_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("identifiant", "identificador", "codigo"),
    "name": ("nom", "nom de l organisation", "nombre", "organizacion", "nome", "organizacao"),
    "short name": ("sigle", "acronyme", "sigla", "acronimo"),
    "country": ("pays", "pays du siege", "siege", "pais", "pais sede", "sede"),
    "city": ("ville", "ciudad", "cidade"),
    "type": ("type d organisation", "tipo", "tipo de organizacion", "tipo de organizacao"),
    "website": ("site web", "site internet", "sitio web", "pagina web"),
    "email": ("courriel", "adresse e mail", "correo", "correo electronico", "correio eletronico"),
    "countries of work": (
        "pays d intervention",
        "pays d activite",
        "paises de intervencion",
        "paises de trabajo",
        "paises de atuacao",
        "paises",
    ),
    "themes": ("themes", "thematiques", "domaines", "temas", "areas tematicas"),
    "languages": ("langues", "langues de travail", "idiomas", "lenguas", "linguas"),
    "description": ("presentation", "descripcion", "descricao"),
    "project title": ("titre du projet", "projet", "titulo del proyecto", "proyecto", "projeto"),
    "project description": ("resume", "description du projet", "resumen", "resumo"),
    "year": ("annee", "ano"),
    "role": ("role dans le projet", "rol", "papel"),
}
ORG_ONLY = {
    "id",
    "short name",
    "country",
    "city",
    "type",
    "website",
    "email",
    "countries of work",
    "themes",
    "languages",
    "description",
}
PROJECT_COLUMNS = {"project id", "project title", "project description", "year", "role"}
TEMPLATE_HEADERS = list(HEADERS)
TEMPLATE_EXAMPLE = {
    "id": "",
    "name": "Santé Pour Tous",
    "short name": "SPT",
    "country": "Senegal",
    "city": "Dakar",
    "type": "NGO",
    "website": "https://example.org",
    "email": "contact@example.org",
    "countries of work": "SN; ML; Burkina Faso",
    "themes": "maternal health; malaria",
    "languages": "French; Wolof",
    "description": "Community health workers in rural Senegal.",
    "project id": "",
    "project title": "Malaria nets for Kolda",
    "project description": "Distribution of long-lasting insecticidal nets.",
    "year": "2024",
    "role": "lead",
}


def _norm_header(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_SYNONYMS = {
    _norm_header(s): canon
    for table in (FOREIGN_HEADERS, HEADERS)  # English last: it wins where a word is shared
    for canon, syns in table.items()
    for s in syns
}


def canonical_header(text: str) -> str | None:
    return _SYNONYMS.get(_norm_header(text))


# --- values -------------------------------------------------------------------------------------

_ORG_TYPES: dict[str, OrgType] = {
    **{t.value: t for t in OrgType},
    "non governmental organisation": OrgType.NGO,
    "non governmental organization": OrgType.NGO,
    "non governmental": OrgType.NGO,
    "non profit": OrgType.NGO,
    "nonprofit": OrgType.NGO,
    "not for profit": OrgType.NGO,
    "charity": OrgType.NGO,
    "cso": OrgType.NGO,
    "civil society": OrgType.NGO,
    "civil society organisation": OrgType.NGO,
    "civil society organization": OrgType.NGO,
    "ingo": OrgType.NGO,
    "ong": OrgType.NGO,  # French, Spanish, Portuguese
    "association sans but lucratif": OrgType.NGO,
    "organizacion no gubernamental": OrgType.NGO,
    "universite": OrgType.RESEARCH,
    "universidad": OrgType.RESEARCH,
    "universidade": OrgType.RESEARCH,
    "institut de recherche": OrgType.RESEARCH,
    "ministere": OrgType.PUBLIC,
    "ministere de la sante": OrgType.PUBLIC,
    "ministerio": OrgType.PUBLIC,
    "ministerio de salud": OrgType.PUBLIC,
    "ministerio da saude": OrgType.PUBLIC,
    "entreprise": OrgType.PRIVATE,
    "empresa": OrgType.PRIVATE,
    "university": OrgType.RESEARCH,
    "academic": OrgType.RESEARCH,
    "academia": OrgType.RESEARCH,
    "research institute": OrgType.RESEARCH,
    "research institution": OrgType.RESEARCH,
    "research organisation": OrgType.RESEARCH,
    "research organization": OrgType.RESEARCH,
    "institute": OrgType.RESEARCH,
    "hes": OrgType.RESEARCH,
    "rec": OrgType.RESEARCH,
    "government": OrgType.PUBLIC,
    "governmental": OrgType.PUBLIC,
    "ministry": OrgType.PUBLIC,
    "ministry of health": OrgType.PUBLIC,
    "public body": OrgType.PUBLIC,
    "public agency": OrgType.PUBLIC,
    "public sector": OrgType.PUBLIC,
    "pub": OrgType.PUBLIC,
    "company": OrgType.PRIVATE,
    "business": OrgType.PRIVATE,
    "private sector": OrgType.PRIVATE,
    "private company": OrgType.PRIVATE,
    "firm": OrgType.PRIVATE,
    "sme": OrgType.PRIVATE,
    "prc": OrgType.PRIVATE,
    "platform": OrgType.NETWORK,
    "alliance": OrgType.NETWORK,
    "consortium": OrgType.NETWORK,
    "association": OrgType.NETWORK,
    "un agency": OrgType.MULTILATERAL,
    "international organisation": OrgType.MULTILATERAL,
    "international organization": OrgType.MULTILATERAL,
    "donor": OrgType.FUNDER,
    "foundation": OrgType.FUNDER,
    "funding agency": OrgType.FUNDER,
    "oth": OrgType.OTHER,
}

_ROLES: dict[str, ParticipantRole] = {
    **{r.value: r for r in ParticipantRole},
    "coordinator": ParticipantRole.LEAD,
    "coordinating": ParticipantRole.LEAD,
    "lead partner": ParticipantRole.LEAD,
    "leader": ParticipantRole.LEAD,
    "applicant": ParticipantRole.LEAD,
    "member": ParticipantRole.PARTNER,
    "participant": ParticipantRole.PARTNER,
    "co applicant": ParticipantRole.PARTNER,
    "associated partner": ParticipantRole.PARTNER,
    "donor": ParticipantRole.FUNDER,
    "implementing partner": ParticipantRole.IMPLEMENTER,
    "implementing": ParticipantRole.IMPLEMENTER,
}

_COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "usa": "US",
    "us": "US",
    "united states": "US",
    "russia": "RU",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of congo": "CD",
    "democratic republic of the congo": "CD",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "republic of congo": "CG",
    "south korea": "KR",
    "north korea": "KP",
    "czech republic": "CZ",
    "turkey": "TR",
    "swaziland": "SZ",
    "cape verde": "CV",
    "burma": "MM",
    "the gambia": "GM",
    "gambia": "GM",
    "palestine": "PS",
    "kosovo": "XK",
}

_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


class RowError(ValueError):
    """One row left out, with its reason."""


def country_code(value: str) -> str:
    """ISO alpha-2 of a code (alpha-2 or alpha-3) or an English name; RowError if unknown."""
    text = value.strip()
    alias = _COUNTRY_ALIASES.get(_norm_header(text))
    if alias:
        return alias
    try:
        if len(text) == 2:
            found = pycountry.countries.get(alpha_2=text.upper())
        elif len(text) == 3:
            found = pycountry.countries.get(alpha_3=text.upper())
        else:
            found = pycountry.countries.lookup(text)
    except LookupError:
        found = None
    if found is None:
        raise RowError(f'unknown country "{text}"')
    return str(found.alpha_2)


def org_type(value: str) -> str:
    text = _norm_header(value)
    if not text:
        return OrgType.OTHER.value
    found = _ORG_TYPES.get(text)
    if found is None and text.endswith("s"):
        found = _ORG_TYPES.get(text[:-1])  # "universities" is rare, "ngos" is not
    if found is None:
        raise RowError(f'unknown organisation type "{value.strip()}"')
    return found.value


def participant_role(value: str) -> str:
    text = _norm_header(value)
    if not text:
        return ParticipantRole.PARTNER.value
    found = _ROLES.get(text)
    if found is None:
        raise RowError(f'unknown role "{value.strip()}"')
    return found.value


def split_list(value: str) -> tuple[str, ...]:
    """`a; b; c` or `a, b, c` (a `;` wins, so `Korea, Republic of; Kenya` keeps its comma)."""
    sep = ";" if ";" in value else ","
    parts = [part.strip() for part in value.split(sep)]
    seen: dict[str, None] = {}
    for part in parts:
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


def slug(text: str) -> str:
    return "-".join(_norm_header(text).split())


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Sheet:
    label: str  # the file name, with the sheet's title for a workbook: "members.xlsx[Projects]"
    rows: list[tuple[int, dict[str, str]]]  # (line or row number, canonical header -> value)
    ignored: list[str] = field(default_factory=list)  # header cells not recognised
    columns: set[str] = field(default_factory=set)  # canonical headers present


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _sheet(label: str, raw_rows: Sequence[tuple[int, list[str]]]) -> Sheet | None:
    """The first non-empty row is the header; None when no header cell is recognised."""
    rows = [(n, cells) for n, cells in raw_rows if any(c.strip() for c in cells)]
    if not rows:
        return None
    _, header = rows[0]
    keys = [canonical_header(h) if h.strip() else None for h in header]
    if not any(keys):
        return None
    ignored = [h.strip() for h, k in zip(header, keys, strict=True) if h.strip() and k is None]
    body: list[tuple[int, dict[str, str]]] = []
    for n, cells in rows[1:]:
        record: dict[str, str] = {}
        for key, value in zip(keys, cells, strict=False):
            if key is not None and value.strip() and key not in record:
                record[key] = value.strip()
        body.append((n, record))
    return Sheet(label, body, ignored, {k for k in keys if k})


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text and the encoding that read it: UTF-8 (BOM or not), else cp1252, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def sniff_delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes, label: str) -> tuple[Sheet | None, str, str]:
    """The sheet, the encoding and the delimiter of a CSV file."""
    text, encoding = decode_csv(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    raw: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for cells in reader:
            raw.append((start, cells))
            start = reader.line_num + 1
            if len(raw) > MAX_ROWS + 1:
                raise SpreadsheetError(f"more than {MAX_ROWS:,} rows")
    except csv.Error as exc:
        raise SpreadsheetError(f"line {reader.line_num}: {exc}") from exc
    return _sheet(label, raw), encoding, delimiter


def check_archive(data: bytes) -> None:
    """Refuse what is not a zip, or whose entries declare more than MAX_UNCOMPRESSED bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise SpreadsheetError("not an XLSX workbook (not a zip archive)") from exc
    if declared > MAX_UNCOMPRESSED:
        raise SpreadsheetError(
            f"refused: the workbook would uncompress to {declared:,} bytes "
            f"(more than {MAX_UNCOMPRESSED:,}); a zip bomb or not a members list"
        )


def read_xlsx(data: bytes, label: str) -> list[Sheet]:
    check_archive(data)
    import openpyxl  # imported here: only workbooks need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken archive
        raise SpreadsheetError(f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    sheets: list[Sheet] = []
    try:
        for worksheet in workbook.worksheets:
            raw: list[tuple[int, list[str]]] = []
            for n, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                if n > MAX_ROWS + 1:
                    raise SpreadsheetError(
                        f"sheet {worksheet.title!r} has more than {MAX_ROWS:,} rows"
                    )
                raw.append((n, [_cell(v) for v in values]))
            sheet = _sheet(f"{label}[{worksheet.title}]", raw)
            if sheet is not None:
                sheets.append(sheet)
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise SpreadsheetError(f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    finally:
        workbook.close()
    return sheets


# --- parsing ------------------------------------------------------------------------------------


@dataclass
class SpreadsheetData:
    organisations: list[OrganisationRecord] = field(default_factory=list)
    projects: list[ProjectRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # "LABEL:LINE: reason"
    notes: list[str] = field(default_factory=list)


def _year(value: str) -> int | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})(?:-\d{2}(?:-\d{2})?)?", value.strip())
    if not match or not 1900 <= int(match.group(1)) <= 2100:
        raise RowError(f'bad year "{value}"')
    return int(match.group(1))


def _organisation(row: dict[str, str]) -> OrganisationRecord:
    name = row.get("name", "")
    if not name:
        raise RowError("missing name")
    email = row.get("email", "")
    if email and not _EMAIL.match(email):
        raise RowError(f'bad email "{email}"')
    country = country_code(row["country"]) if row.get("country") else None
    countries = tuple(
        dict.fromkeys(country_code(c) for c in split_list(row.get("countries of work", "")))
    )
    return OrganisationRecord(
        source=SOURCE,
        external_id=row.get("id") or slug(name),
        name=name,
        short_name=row.get("short name", ""),
        country=country,
        city=row.get("city", ""),
        org_type=org_type(row.get("type", "")),
        website=row.get("website", ""),
        contact_email=email,
        description=row.get("description", ""),
        languages=split_list(row.get("languages", "")),
        countries=countries,
        themes=split_list(row.get("themes", "")),
    )


@dataclass
class _Project:
    record: ProjectRecord
    participants: dict[str, ParticipantRecord]


def _project(row: dict[str, str], countries: tuple[str, ...]) -> ProjectRecord:
    title = row["project title"]
    year = _year(row.get("year", ""))
    return ProjectRecord(
        source=SOURCE,
        external_id=row.get("project id") or slug(title),
        title=title,
        description=row.get("project description", ""),
        countries=countries,
        year=year,
    )


def parse_sheets(sheets: Sequence[Sheet]) -> SpreadsheetData:
    """Organisation sheets first, then projects sheets (those with project columns and none of
    an organisation's own, when an organisation sheet is there too)."""
    data = SpreadsheetData()
    org_sheets = [s for s in sheets if s.columns & ORG_ONLY or "project title" not in s.columns]
    project_sheets = [s for s in sheets if s not in org_sheets]
    if not org_sheets:
        org_sheets, project_sheets = project_sheets, []
    for sheet in sheets:
        if "name" not in sheet.columns and (sheet in org_sheets or "id" not in sheet.columns):
            raise SpreadsheetError(
                f"{sheet.label}: no organisation name column "
                f"(headers such as name, organisation, organization, org name)"
            )
        if sheet.ignored:
            data.notes.append(f"{sheet.label}: ignored columns: {', '.join(sheet.ignored)}")

    orgs: dict[str, OrganisationRecord] = {}
    by_name: dict[str, str] = {}  # slug of a name or an id -> external id
    projects: dict[str, _Project] = {}

    def add_participant(row: dict[str, str], org_id: str) -> None:
        if not row.get("project title"):
            if any(row.get(c) for c in PROJECT_COLUMNS):
                raise RowError("project columns filled but no project title")
            return
        role = participant_role(row.get("role", ""))
        record = _project(row, ())
        found = projects.setdefault(record.external_id, _Project(record, {}))
        found.participants.setdefault(
            org_id, ParticipantRecord(org_id, role, row.get("role", "").strip())
        )

    for sheet in org_sheets:
        for line, row in sheet.rows:
            if not row:
                continue
            try:
                org = _organisation(row)
                add_participant(row, org.external_id)
            except RowError as exc:
                data.rejected.append(f"{sheet.label}:{line}: {exc}")
                continue
            orgs.setdefault(org.external_id, org)
            by_name.setdefault(slug(org.name), org.external_id)
            by_name.setdefault(org.external_id, org.external_id)
    for sheet in project_sheets:
        for line, row in sheet.rows:
            if not row:
                continue
            try:
                ref = row.get("id") or row.get("name", "")
                org_id = by_name.get(ref) or by_name.get(slug(ref))
                if not ref:
                    raise RowError("missing organisation")
                if org_id is None:
                    raise RowError(f'unknown organisation "{ref}" (not in the organisations list)')
                add_participant(row, org_id)
            except RowError as exc:
                data.rejected.append(f"{sheet.label}:{line}: {exc}")
    data.organisations = list(orgs.values())
    data.projects = [
        replace(p.record, participants=tuple(p.participants.values())) for p in projects.values()
    ]
    return data


def parse_files(files: Sequence[tuple[str, bytes]]) -> SpreadsheetData:
    """(label, bytes) of CSV or XLSX files, recognised by content: a zip is a workbook."""
    sheets: list[Sheet] = []
    notes: list[str] = []
    for label, content in files:
        if content[:4] == b"PK\x03\x04" or label.lower().endswith((".xlsx", ".xlsm")):
            found = read_xlsx(content, label)
            if not found:
                raise SpreadsheetError(f"{label}: no sheet with recognised headers")
            sheets += found
        else:
            sheet, encoding, delimiter = read_csv(content, label)
            if sheet is None:
                raise SpreadsheetError(f"{label}: no recognised header row")
            shown = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
            notes.append(f"{label}: read as {encoding}, {shown}-separated")
            sheets.append(sheet)
    data = parse_sheets(sheets)
    data.notes = notes + data.notes
    return data


# --- template -----------------------------------------------------------------------------------


def template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow([TEMPLATE_EXAMPLE[h] for h in TEMPLATE_HEADERS])
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Members"
    sheet.append(TEMPLATE_HEADERS)
    sheet.append([TEMPLATE_EXAMPLE[h] for h in TEMPLATE_HEADERS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
