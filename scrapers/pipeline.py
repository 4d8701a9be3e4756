"""Importers of evidence (organisations and their projects): read -> parse -> validate -> store,
all of it in the caller's transaction.

Everything is parsed and checked before the first row is written, so a bad file changes nothing.
Calls are imported by `scrapers.call_imports`, member websites by `scrapers.site_imports`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session

from scrapers.bench import check_participants, read_bench_dir
from scrapers.cordis import CordisParseError, parse_cordis, table_name
from scrapers.errors import SourceFileError
from scrapers.iati import read_iati
from scrapers.report import ImportReport, ProgressFactory, no_progress, read_bytes, store_evidence
from scrapers.spreadsheet import SpreadsheetError, parse_files
from scrapers.store import known_external_ids, store_calls

__all__ = [
    "ImportReport",
    "ProgressFactory",
    "import_bench",
    "import_cordis",
    "import_iati",
    "import_spreadsheet",
]


def import_bench(
    session: Session,
    folder: Path,
    *,
    source: str | None = None,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """Load a benchmark-format folder; `source` (default: the folder's name) keys provenance."""
    source = source or folder.resolve().name
    data = read_bench_dir(folder, source)
    org_ids = known_external_ids(session, source, "organisation")
    check_participants(data, set(org_ids))
    report = ImportReport(source)
    store_evidence(session, report, data.organisations, data.projects, org_ids, progress)
    if data.calls:
        stored = store_calls(session, data.calls, progress("calls", len(data.calls)))
        report.counts["calls"] = stored.counts
    return report


def import_iati(
    session: Session, path: Path, *, progress: ProgressFactory = no_progress
) -> ImportReport:
    """An IATI activity file: its organisations first, then its activities as projects."""
    data = read_iati(path)
    report = ImportReport("iati", rejected=[f"{path}: skipped {reason}" for reason in data.skipped])
    store_evidence(session, report, data.organisations, data.projects, {}, progress)
    return report


def import_spreadsheet(
    session: Session,
    path: Path | Sequence[Path],
    *,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """Members (and their projects) from CSV or XLSX files: one sheet, or an organisations sheet
    and a projects sheet (in one workbook or two files). Rejected rows are listed, the rest kept."""
    paths = [path] if isinstance(path, Path) else list(path)
    files = [(str(file), read_bytes(file)) for file in paths]
    try:
        data = parse_files(files)
    except SpreadsheetError as exc:
        where = paths[0] if len(paths) == 1 else ", ".join(map(str, paths))
        raise SourceFileError(where, None, str(exc)) from exc
    report = ImportReport("spreadsheet", rejected=data.rejected, notes=data.notes)
    org_ids = known_external_ids(session, "spreadsheet", "organisation")
    store_evidence(session, report, data.organisations, data.projects, org_ids, progress)
    return report


# --- CORDIS open data -----------------------------------------------------------------------------

CORDIS_ZIP_MAX = 2 * 1024**3  # uncompressed bytes read from one published archive, at most


def _cordis_zip_tables(archive_path: Path) -> dict[str, bytes]:
    """The CORDIS tables inside a published archive (``cordis-HORIZONprojects-csv.zip``)."""
    tables: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = [(table_name(i.filename), i) for i in archive.infolist() if not i.is_dir()]
            wanted = [(name, info) for name, info in members if name is not None]
            if sum(info.file_size for _, info in wanted) > CORDIS_ZIP_MAX:
                raise SourceFileError(archive_path, None, "tables larger than 2 GB uncompressed")
            for name, info in wanted:
                tables[name] = archive.read(info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceFileError(archive_path, None, f"not a readable zip archive ({exc})") from exc
    return tables


def cordis_tables(paths: Sequence[Path]) -> dict[str, bytes]:
    """project.csv, organization.csv, topics.csv ... given as files, folders or zip archives."""
    tables: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            files = [p for p in sorted(path.iterdir()) if table_name(p.name)]
            tables.update({str(table_name(p.name)): read_bytes(p) for p in files})
        elif zipfile.is_zipfile(path):
            tables.update(_cordis_zip_tables(path))
        elif (name := table_name(path.name)) is not None:
            tables[name] = read_bytes(path)
        else:
            raise SourceFileError(
                path, None, "not a CORDIS table (project.csv, organization.csv, topics.csv)"
            )
    return tables


def import_cordis(
    session: Session,
    paths: Sequence[Path],
    *,
    source: str = "cordis",
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """The CORDIS open-data tables as published: projects (with their topic as the call they
    were won under) and the organisations taking part, with their roles."""
    tables = cordis_tables(paths)
    where = ", ".join(map(str, paths))
    try:
        data = parse_cordis(tables, source)
    except CordisParseError as exc:
        raise SourceFileError(where, None, str(exc)) from exc
    report = ImportReport("cordis", rejected=data.rejected, notes=data.notes)
    org_ids = known_external_ids(session, source, "organisation")
    store_evidence(session, report, data.organisations, data.projects, org_ids, progress)
    return report
