"""Import pipelines: read -> parse -> validate -> store, all of it in the caller's transaction.

Everything is parsed and checked before the first row is written, so a bad file changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from scrapers.bench import check_participants, read_bench_dir
from scrapers.errors import SourceFileError
from scrapers.eu_portal import PortalParseError, parse_open_calls
from scrapers.records import CallRecord
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

    def summary(self) -> str:
        parts = [
            f"{kind}: {c.inserted} new, {c.updated} updated, {c.unchanged} unchanged"
            for kind, c in self.counts.items()
        ]
        return f"{self.source}: " + "; ".join(parts)


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
    if data.organisations:
        stored = store_organisations(
            session, data.organisations, progress("organisations", len(data.organisations))
        )
        report.counts["organisations"] = stored.counts
        org_ids.update(stored.ids)
    if data.projects:
        stored = store_projects(
            session, data.projects, org_ids, progress("projects", len(data.projects))
        )
        report.counts["projects"] = stored.counts
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
