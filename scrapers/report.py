"""What every importer returns, and the steps they share: reading a file with errors that name
it, and storing organisations before the projects that cite them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from scrapers.errors import SourceFileError
from scrapers.records import OrganisationRecord, ProjectRecord
from scrapers.store import Progress, StoreCounts, store_organisations, store_projects

# Given a stage's label and its number of records, returns the callback that advances it.
ProgressFactory = Callable[[str, int], Progress]


def no_progress(_label: str, _total: int) -> Progress:
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


def store_evidence(
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


def read_bytes(path: Path) -> bytes:
    """A source file's bytes; an unreadable file is an import refused with its name."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFileError(path, None, f"cannot read ({exc.strerror})") from exc


def where(file: Path | str, reason: str) -> str:
    """``line 7: why`` -> ``FILE:7: why``; any other reason -> ``FILE: reason``."""
    if reason.startswith("line "):
        return f"{file}:{reason.removeprefix('line ')}"
    return f"{file}: {reason}"
