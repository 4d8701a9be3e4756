"""Parser for the benchmark folder format (see the benchmarks README): JSON Lines, one file each
for organisations, projects (with participants) and calls. Plain `.jsonl` or gzipped `.jsonl.gz`.

Pure: bytes in, records out. `read_bench_dir` adds the file handling and the checks that span
files (duplicate ids, participants that name no organisation).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from scrapers.dates import parse_date
from scrapers.errors import SourceFileError
from scrapers.records import CallRecord, OrganisationRecord, ParticipantRecord, ProjectRecord

FILES = ("organisations", "projects", "calls")

# CORDIS organisation activity types -> healthmatch organisation types.
ORG_TYPES = {
    "HES": "research",  # higher or secondary education
    "REC": "research",  # research organisation
    "PRC": "private",  # private for-profit
    "PUB": "public",  # public body
    "OTH": "other",
}
KNOWN_ORG_TYPES = {"ngo", "research", "public", "private", "network", "multilateral", "funder"}

# Participant roles as CORDIS spells them -> healthmatch roles; healthmatch's own names pass.
ROLES = {
    "coordinator": "lead",
    "participant": "partner",
    "associatedPartner": "partner",
    "thirdParty": "implementer",
    "lead": "lead",
    "partner": "partner",
    "funder": "funder",
    "implementer": "implementer",
}

# EU conventions that differ from ISO 3166-1 alpha-2.
COUNTRY_ALIASES = {"EL": "GR", "UK": "GB"}


class _Identified(Protocol):
    @property
    def external_id(self) -> str: ...


R = TypeVar("R", bound=_Identified)


class FieldError(ValueError):
    """A problem with one JSON object; `read_bench_dir` adds the file and line."""


@dataclass
class BenchData:
    organisations: list[OrganisationRecord] = field(default_factory=list)
    projects: list[ProjectRecord] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    # external id -> (file, line), to report problems found later at their place
    where: dict[tuple[str, str], tuple[Path, int]] = field(default_factory=dict)


def iter_jsonl(data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) for every non-blank line; gzip is detected by its magic."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceFileError("", None, f"damaged gzip data ({exc})") from exc
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceFileError("", number, f"not UTF-8 ({exc.reason})") from exc
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON ({exc.msg} at column {exc.colno})"
            raise SourceFileError("", number, reason) from exc


def _str(obj: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise FieldError(f"missing '{key}'")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "id":
        return str(value)
    if not isinstance(value, str):
        raise FieldError(f"'{key}' must be a string, got {type(value).__name__}")
    return value.strip()


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(f"'{key}' must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _year(obj: dict[str, Any]) -> int | None:
    value = obj.get("year")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise FieldError(f"'year' must be an integer, got {value!r}")
    return int(value)


def normalise_country(code: str) -> str | None:
    code = code.strip().upper()
    return COUNTRY_ALIASES.get(code, code) or None


def parse_organisation(obj: dict[str, Any], source: str) -> OrganisationRecord:
    short_name = _str(obj, "short_name")
    raw_type = _str(obj, "type")
    org_type = raw_type.lower() if raw_type.lower() in KNOWN_ORG_TYPES else ORG_TYPES.get(raw_type)
    sme = obj.get("sme")
    if sme is not None and not isinstance(sme, bool):
        raise FieldError(f"'sme' must be true or false, got {sme!r}")
    return OrganisationRecord(
        source=source,
        external_id=_str(obj, "id", required=True),
        name=_str(obj, "name", required=True),
        short_name=short_name,
        country=normalise_country(_str(obj, "country")),
        city=_str(obj, "city"),
        org_type=org_type or "other",
        sme=sme,
    )


def _participants(obj: dict[str, Any]) -> tuple[ParticipantRecord, ...]:
    value = obj.get("participants") or []
    if not isinstance(value, list):
        raise FieldError("'participants' must be a list")
    result: list[ParticipantRecord] = []
    for item in value:
        if not isinstance(item, dict):
            raise FieldError("each participant must be an object with 'org' and 'role'")
        org = _str(item, "org", required=True)
        source_role = _str(item, "role") or "participant"
        if source_role not in ROLES:
            raise FieldError(f"participant '{org}' has unknown role '{source_role}'")
        result.append(ParticipantRecord(org, ROLES[source_role], source_role))
    return tuple(result)


def parse_project(obj: dict[str, Any], source: str) -> ProjectRecord:
    call = obj.get("call") or {}
    if not isinstance(call, dict):
        raise FieldError("'call' must be an object with 'id', 'title' and 'text'")
    return ProjectRecord(
        source=source,
        external_id=_str(obj, "id", required=True),
        title=_str(obj, "title", required=True),
        description=_str(obj, "text"),
        keywords=_str_list(obj, "keywords"),
        year=_year(obj),
        funding_call_id=_str(call, "id"),
        funding_call_title=_str(call, "title"),
        funding_call_text=_str(call, "text"),
        participants=_participants(obj),
    )


def parse_call(obj: dict[str, Any], source: str) -> CallRecord:
    deadline = _str(obj, "deadline")
    try:
        deadlines = (parse_date(deadline),) if deadline else ()
    except ValueError as exc:
        raise FieldError(f"'deadline': {exc}") from exc
    return CallRecord(
        source=source,
        external_id=_str(obj, "id", required=True),
        title=_str(obj, "title", required=True),
        text=_str(obj, "text"),
        year=_year(obj),
        deadlines=deadlines,
        action_type=_str(obj, "action_type"),
        call_identifier=_str(obj, "id", required=True),
    )


def find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.jsonl", f"{stem}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _parse_file(
    path: Path, kind: str, parse: Callable[[dict[str, Any], str], R], source: str, data: BenchData
) -> list[R]:
    records: list[R] = []
    try:
        for line, obj in iter_jsonl(path.read_bytes()):
            if not isinstance(obj, dict):
                raise SourceFileError(path, line, "each line must be a JSON object")
            try:
                record = parse(obj, source)
            except FieldError as exc:
                raise SourceFileError(path, line, str(exc)) from exc
            key = (kind, record.external_id)
            if key in data.where:
                first = data.where[key][1]
                reason = f"duplicate id '{key[1]}' (first at line {first})"
                raise SourceFileError(path, line, reason)
            data.where[key] = (path, line)
            records.append(record)
    except SourceFileError as exc:
        if exc.path:
            raise
        raise SourceFileError(path, exc.line, exc.reason) from exc
    except OSError as exc:
        raise SourceFileError(path, None, f"cannot read ({exc.strerror})") from exc
    return records


def read_bench_dir(folder: Path, source: str) -> BenchData:
    """Parse every benchmark file present in `folder` (qrels are judgements, not data: skipped)."""
    if not folder.is_dir():
        raise SourceFileError(folder, None, "no such folder")
    paths = {stem: find_file(folder, stem) for stem in FILES}
    if not any(paths.values()):
        expected = ", ".join(f"{stem}.jsonl" for stem in FILES)
        raise SourceFileError(folder, None, f"none of {expected} found")
    data = BenchData()
    if paths["organisations"]:
        data.organisations = _parse_file(
            paths["organisations"], "organisation", parse_organisation, source, data
        )
    if paths["projects"]:
        data.projects = _parse_file(paths["projects"], "project", parse_project, source, data)
    if paths["calls"]:
        data.calls = _parse_file(paths["calls"], "call", parse_call, source, data)
    return data


def check_participants(data: BenchData, known_elsewhere: set[str]) -> None:
    """Every participant must name an organisation of this folder or one stored before."""
    known = {org.external_id for org in data.organisations} | known_elsewhere
    for project in data.projects:
        for participant in project.participants:
            if participant.org_external_id not in known:
                path, line = data.where[("project", project.external_id)]
                raise SourceFileError(
                    path,
                    line,
                    f"project '{project.external_id}' names unknown organisation "
                    f"'{participant.org_external_id}'",
                )
