"""Importers of funding calls: the EU Funding & Tenders portal, Grants.gov extracts and funders'
RSS/Atom feeds. Each parses the whole input first, then stores; a call already stored from
another source is merged into it (`scrapers.call_merge`), and importing again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sqlmodel import Session

from scrapers.call_merge import merge_calls
from scrapers.errors import SourceFileError
from scrapers.eu_portal import PortalParseError, parse_open_calls
from scrapers.eu_portal_formats import parse_portal
from scrapers.feeds import FeedParseError, parse_feed
from scrapers.grants_gov import GrantsGovParseError, parse_grants_gov
from scrapers.records import CallRecord
from scrapers.report import ImportReport, ProgressFactory, no_progress, read_bytes, where
from scrapers.store import store_calls


def _store(
    session: Session, report: ImportReport, calls: list[CallRecord], progress: ProgressFactory
) -> ImportReport:
    report.counts["calls"] = store_calls(session, calls, progress("calls", len(calls))).counts
    return report


def read_open_calls(path: Path) -> list[CallRecord]:
    """The EU portal's open-calls collection (plain or gzipped), with errors naming the file."""
    try:
        return parse_open_calls(read_bytes(path))
    except PortalParseError as exc:
        raise SourceFileError(path, None, str(exc)) from exc


def import_open_calls(
    session: Session, records: list[CallRecord], *, progress: ProgressFactory = no_progress
) -> ImportReport:
    report = ImportReport("eu-portal")
    report.counts["calls"] = store_calls(session, records, progress("calls", len(records))).counts
    return report


_PORTAL_SUFFIXES = (".json", ".jsonl", ".gz", ".csv")


def _portal_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(_PORTAL_SUFFIXES))


def import_eu_portal(
    session: Session, path: Path, *, progress: ProgressFactory = no_progress
) -> ImportReport:
    """Funding & Tenders payloads (a file, or a folder of them) in any recorded format: all
    parsed first, then stored; a topic met in several files or formats is one call."""
    report = ImportReport("eu-portal")
    records: list[CallRecord] = []
    for file in _portal_files(path):
        try:
            batch = parse_portal(read_bytes(file), file.name)
        except PortalParseError as exc:
            raise SourceFileError(file, None, str(exc)) from exc
        records += batch.calls
        report.rejected += [where(file, reason) for reason in batch.rejected]
    calls = merge_calls(records)
    report.counts["calls"] = store_calls(session, calls, progress("calls", len(calls))).counts
    return report


def import_grants_gov(
    session: Session, path: Path, *, progress: ProgressFactory = no_progress
) -> ImportReport:
    """A Grants.gov XML extract, or the zip it is published in (streamed): one call per
    opportunity, forecasts as forthcoming calls."""
    try:
        batch = parse_grants_gov(read_bytes(path))
    except GrantsGovParseError as exc:
        raise SourceFileError(path, None, str(exc)) from exc
    report = ImportReport(
        "grants-gov",
        rejected=[where(path, reason) for reason in batch.rejected],
        notes=batch.notes,
    )
    return _store(session, report, batch.calls, progress)


def feed_source(feed_url: str, path: Path) -> str:
    """The provenance name of a feed: ``feed:`` and its host, else its file name."""
    host = urlsplit(feed_url).hostname if feed_url else None
    return f"feed:{host or path.stem}"[:64]


def import_feed(
    session: Session,
    path: Path,
    *,
    feed_url: str = "",
    source: str | None = None,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """A funder's RSS or Atom feed: one call per entry, deadlines read from the entry's text.
    `feed_url` (where it was fetched) resolves relative links and names the source."""
    source = source or feed_source(feed_url, path)
    try:
        batch = parse_feed(read_bytes(path), source=source, feed_url=feed_url)
    except FeedParseError as exc:
        raise SourceFileError(feed_url or path, None, str(exc)) from exc
    report = ImportReport(
        source,
        rejected=[where(feed_url or path, reason) for reason in batch.rejected],
        notes=batch.notes,
    )
    return _store(session, report, batch.calls, progress)
