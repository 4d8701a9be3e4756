"""Import pipelines: read -> parse -> validate -> store, all of it in the caller's transaction.

Everything is parsed and checked before the first row is written, so a bad file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from scrapers.bench import check_participants, read_bench_dir
from scrapers.call_merge import merge_calls
from scrapers.errors import SourceFileError
from scrapers.eu_portal import PortalParseError, parse_open_calls
from scrapers.eu_portal_formats import parse_portal
from scrapers.iati import read_iati
from scrapers.records import CallRecord, OrganisationRecord, ProjectRecord
from scrapers.spreadsheet import SpreadsheetError, parse_files
from scrapers.store import (
    Progress,
    StoreCounts,
    known_external_ids,
    store_calls,
    store_organisations,
    store_projects,
)

# Given a stage's label and its number of records, returns the callback that advances it.
ProgressFactory = Callable[[str, int], Progress]


def _no_progress(_label: str, _total: int) -> Progress:
    return lambda _n: None


@dataclass
class ImportReport:
    source: str
    counts: dict[str, StoreCounts] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # "FILE:LINE: reason", left out
    notes: list[str] = field(default_factory=list)  # how the input was read

    def summary(self) -> str:
        parts = [
            f"{kind}: {c.inserted} new, {c.updated} updated, {c.unchanged} unchanged"
            + (f", {c.merged} already stored from another source (merged)" if c.merged else "")
            for kind, c in self.counts.items()
        ]
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected")
        return "\n".join([f"{self.source}: " + "; ".join(parts), *self.notes, *self.rejected])


def _store_evidence(
    session: Session,
    report: ImportReport,
    organisations: Sequence[OrganisationRecord],
    projects: Sequence[ProjectRecord],
    org_ids: dict[str, int],
    progress: ProgressFactory,
) -> None:
    """Organisations first (adding their ids to `org_ids`), then projects with participants."""
    if organisations:
        stored = store_organisations(
            session, organisations, progress("organisations", len(organisations))
        )
        report.counts["organisations"] = stored.counts
        org_ids.update(stored.ids)
    if projects:
        stored = store_projects(session, projects, org_ids, progress("projects", len(projects)))
        report.counts["projects"] = stored.counts


def import_bench(
    session: Session,
    folder: Path,
    *,
    source: str | None = None,
    progress: ProgressFactory = _no_progress,
) -> ImportReport:
    """Load a benchmark-format folder; `source` (default: the folder's name) keys provenance."""
    source = source or folder.resolve().name
    data = read_bench_dir(folder, source)
    org_ids = known_external_ids(session, source, "organisation")
    check_participants(data, set(org_ids))
    report = ImportReport(source)
    _store_evidence(session, report, data.organisations, data.projects, org_ids, progress)
    if data.calls:
        stored = store_calls(session, data.calls, progress("calls", len(data.calls)))
        report.counts["calls"] = stored.counts
    return report


def read_open_calls(path: Path) -> list[CallRecord]:
    """The EU portal's open-calls collection (plain or gzipped), with errors naming the file."""
    try:
        return parse_open_calls(path.read_bytes())
    except OSError as exc:
        raise SourceFileError(path, None, f"cannot read ({exc.strerror})") from exc
    except PortalParseError as exc:
        raise SourceFileError(path, None, str(exc)) from exc


def import_open_calls(
    session: Session, records: list[CallRecord], *, progress: ProgressFactory = _no_progress
) -> ImportReport:
    report = ImportReport("eu-portal")
    report.counts["calls"] = store_calls(session, records, progress("calls", len(records))).counts
    return report


def import_iati(
    session: Session, path: Path, *, progress: ProgressFactory = _no_progress
) -> ImportReport:
    """An IATI activity file: its organisations first, then its activities as projects."""
    data = read_iati(path)
    report = ImportReport("iati", rejected=[f"{path}: skipped {reason}" for reason in data.skipped])
    _store_evidence(session, report, data.organisations, data.projects, {}, progress)
    return report


_PORTAL_SUFFIXES = (".json", ".jsonl", ".gz", ".csv")


def _portal_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_PORTAL_SUFFIXES))


def _where(file: Path, reason: str) -> str:
    """``line 7: why`` -> ``FILE:7: why``; any other reason -> ``FILE: reason``."""
    if reason.startswith("line "):
        return f"{file}:{reason.removeprefix('line ')}"
    return f"{file}: {reason}"


def import_eu_portal(
    session: Session, path: Path, *, progress: ProgressFactory = _no_progress
) -> ImportReport:
    """Funding & Tenders payloads (a file, or a folder of them) in any recorded format: all
    parsed first, then stored; a topic met in several files or formats is one call."""
    report = ImportReport("eu-portal")
    records: list[CallRecord] = []
    for file in _portal_files(path):
        try:
            batch = parse_portal(file.read_bytes(), file.name)
        except OSError as exc:
            raise SourceFileError(file, None, f"cannot read ({exc.strerror})") from exc
        except PortalParseError as exc:
            raise SourceFileError(file, None, str(exc)) from exc
        records += batch.calls
        report.rejected += [_where(file, reason) for reason in batch.rejected]
    calls = merge_calls(records)
    report.counts["calls"] = store_calls(session, calls, progress("calls", len(calls))).counts
    return report


def import_spreadsheet(
    session: Session,
    path: Path | Sequence[Path],
    *,
    progress: ProgressFactory = _no_progress,
) -> ImportReport:
    """Members (and their projects) from CSV or XLSX files: one sheet, or an organisations sheet
    and a projects sheet (in one workbook or two files). Rejected rows are listed, the rest kept."""
    paths = [path] if isinstance(path, Path) else list(path)
    files: list[tuple[str, bytes]] = []
    for file in paths:
        try:
            files.append((str(file), file.read_bytes()))
        except OSError as exc:
            raise SourceFileError(file, None, f"cannot read ({exc.strerror})") from exc
    try:
        data = parse_files(files)
    except SpreadsheetError as exc:
        where = paths[0] if len(paths) == 1 else ", ".join(map(str, paths))
        raise SourceFileError(where, None, str(exc)) from exc
    report = ImportReport("spreadsheet", rejected=data.rejected, notes=data.notes)
    org_ids = known_external_ids(session, "spreadsheet", "organisation")
    _store_evidence(session, report, data.organisations, data.projects, org_ids, progress)
    return report
