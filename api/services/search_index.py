"""The search index: a `HybridRanker` fitted on the database, kept in one file between runs.

`build_index` reads the database, embeds what the embedding cache (the `embedding_cache` table)
does not hold yet, and writes the fitted ranker atomically to the settings' index path: a
header line (format, model, counts, a fingerprint of the database) then the pickled ranker.
`load_index` reads it once per process (again only when the file changes); `check_index` tells
whether the database changed since it was built.

The index is a pickle: load only index files that healthmatch built on this machine.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.services.corpus import calls_from_db, corpus_from_db
from api.services.vector_cache import SqlVectorCache
from matcher.base import FitProgress
from matcher.cache import VectorCache
from matcher.embedders import Encoder, get_encoder
from matcher.hybrid import HybridRanker
from matcher.search import PartnerSearch
from models.call import Call
from models.network import Membership
from models.organisation import Organisation
from models.project import Project, ProjectParticipant
from models.settings import Settings
from scrapers.pipeline import ProgressFactory
from scrapers.store import Progress

FORMAT = 1
MAGIC = b"healthmatch-index\n"
# the ranker's progress stages, as a user reads them
STAGE_LABELS = {"documents": "evidence", "calls": "past calls", "queries": "calls"}


class SearchIndexError(Exception):
    """The search index cannot be used as it is; the message says what to do."""


class IndexMissing(SearchIndexError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"no search index at {path}: run `healthmatch index`")
        self.path = path


class IndexUnreadable(SearchIndexError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"the search index at {path} is unusable ({reason}): run `healthmatch index`"
        )
        self.path = path


@dataclass(frozen=True)
class IndexStale:
    """Not an error: the index answers, from the database as it was when it was built."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return (
            f"the search index at {self.path} is out of date ({self.reason}): "
            "run `healthmatch index`"
        )


@dataclass(frozen=True)
class IndexHeader:
    format: int
    model: str
    created_at: str  # ISO 8601, UTC
    organisations: int
    documents: int  # evidence documents: projects with participants and own descriptions
    calls: int
    fingerprint: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class IndexReport:
    path: Path
    model: str
    organisations: int
    documents: int
    calls: int
    embedded: int  # passages that had to be embedded
    from_cache: int  # passages whose vectors the embedding cache already held
    seconds: float

    def summary(self) -> str:
        return (
            f"search index: {self.organisations:,} organisations, {self.documents:,} documents, "
            f"{self.calls:,} calls; {self.embedded:,} passages embedded, {self.from_cache:,} from "
            f"the cache ({self.model}, {self.seconds:.1f} s) -> {self.path}"
        )


# --- caches ------------------------------------------------------------------------------------


class CountingCache:
    """Wraps a vector cache and counts what it served and what was written to it."""

    def __init__(self, inner: VectorCache) -> None:
        self.inner = inner
        self.hits = 0
        self.writes = 0

    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found = self.inner.get_many(model_id, keys)
        self.hits += len(found)
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        self.inner.put_many(model_id, vectors)
        self.writes += len(vectors)


class ReadOnlyCache:
    """Serves stored vectors (calls embedded at indexing time) and stores nothing new, so that
    searching never writes to the database."""

    def __init__(self, inner: VectorCache) -> None:
        self.inner = inner

    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return self.inner.get_many(model_id, keys)

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        return None


# --- building ----------------------------------------------------------------------------------


def database_fingerprint(session: Session) -> dict[str, list[str]]:
    """Counts, largest ids and latest updates of what the index is built from: any import or edit
    changes at least one of them."""
    queries = {
        "organisation": select(
            func.count(), func.max(Organisation.id), func.max(Organisation.updated_at)
        ),
        "project": select(func.count(), func.max(Project.id), func.max(Project.updated_at)),
        "participant": select(
            func.count(),
            func.sum(ProjectParticipant.project_id),
            func.sum(ProjectParticipant.organisation_id),
        ),
        "membership": select(
            func.count(), func.max(Membership.id), func.sum(Membership.organisation_id)
        ),
        "call": select(func.count(), func.max(Call.id), func.max(Call.updated_at)),
    }
    return {
        name: [str(value) for value in session.exec(query).one()] for name, query in queries.items()
    }


def _labelled(progress: FitProgress | None) -> FitProgress | None:
    if progress is None:
        return None
    return lambda stage, done, total: progress(STAGE_LABELS.get(stage, stage), done, total)


def fit_ranker(
    engine: Engine, model: str, progress: FitProgress | None = None
) -> tuple[HybridRanker, IndexHeader, CountingCache]:
    """A ranker fitted on the database, with every call embedded through the cache too."""
    with Session(engine) as session:
        fingerprint = database_fingerprint(session)
        corpus = corpus_from_db(session)
        calls = calls_from_db(session, open_only=False)
    cache = CountingCache(SqlVectorCache(engine))
    ranker = HybridRanker(encoder=model).fit(corpus, cache=cache, progress=_labelled(progress))
    if calls:
        ranker.prepare(calls, progress=_labelled(progress))
    ranker.cache_ = None  # the index file holds no database handle
    _share_encoder(ranker)
    header = IndexHeader(
        format=FORMAT,
        model=model,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        organisations=len(corpus.organisations),
        documents=len(ranker.evidence_.docs),
        calls=len(calls),
        fingerprint=fingerprint,
    )
    return ranker, header, cache


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_index(path: Path, header: IndexHeader, ranker: HybridRanker) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it into place:
    readers see the old index or the new one, never half of one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SearchIndexError(f"{path}: cannot write the search index ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC)
            handle.write(json.dumps(asdict(header)).encode("utf-8") + b"\n")
            pickle.dump(ranker, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            reason = f"cannot write the search index ({exc.strerror})"
            raise SearchIndexError(f"{path}: {reason}") from exc
        raise
    _fsync_dir(path.parent)


def check_model(settings: Settings) -> None:
    """Raise `matcher.embedders.UnknownModel` when the settings name no registered encoder."""
    get_encoder(settings.embedding_model)  # builds the wrapper only: the weights load lazily


def build_index(
    engine: Engine, settings: Settings, progress: FitProgress | None = None
) -> IndexReport:
    """Fit the ranker on the database and save it to `settings.search_index_path()`."""
    started = time.perf_counter()
    check_model(settings)  # an unknown name fails before any work
    path = settings.search_index_path()
    ranker, header, cache = fit_ranker(engine, settings.embedding_model, progress)
    write_index(path, header, ranker)
    return IndexReport(
        path=path,
        model=header.model,
        organisations=header.organisations,
        documents=header.documents,
        calls=header.calls,
        embedded=cache.writes,
        from_cache=cache.hits,
        seconds=time.perf_counter() - started,
    )


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]  # (mtime in ns, size) of the file it was read from
    header: IndexHeader
    ranker: HybridRanker


_loaded: dict[Path, _Loaded] = {}
_lock = threading.Lock()
_encoders: dict[str, Encoder] = {}  # model id -> the one encoder (and weights) of this process
_encoders_lock = threading.Lock()


def _share_encoder(ranker: HybridRanker) -> None:
    """Point the ranker at this process's encoder for its model, so that the weights (seconds to
    load) are loaded once per process rather than once per fitted or unpickled ranker."""
    if ranker.encoder_ is None:
        return
    with _encoders_lock:
        ranker.encoder_ = _encoders.setdefault(ranker.encoder_.model_id, ranker.encoder_)


def _read_header(handle: BinaryIO, path: Path) -> IndexHeader:
    if handle.readline() != MAGIC:
        raise IndexUnreadable(path, "not a healthmatch search index")
    try:
        fields = json.loads(handle.readline())
    except ValueError as exc:
        raise IndexUnreadable(path, "damaged header") from exc
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        found = fields.get("format") if isinstance(fields, dict) else None
        raise IndexUnreadable(path, f"format {found}, this version reads {FORMAT}")
    try:
        return IndexHeader(**fields)
    except TypeError as exc:
        raise IndexUnreadable(path, "damaged header") from exc


def _read(path: Path, stamp: tuple[int, int]) -> _Loaded:
    with path.open("rb") as handle:
        header = _read_header(handle, path)
        try:
            ranker = pickle.load(handle)
        except Exception as exc:  # a truncated file or one from an incompatible version
            raise IndexUnreadable(path, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(ranker, HybridRanker):
        raise IndexUnreadable(path, f"holds a {type(ranker).__name__}, not a HybridRanker")
    if getattr(ranker, "layout_", None) != HybridRanker.LAYOUT:
        raise IndexUnreadable(path, "built by another version of the ranker")
    _share_encoder(ranker)
    return _Loaded(stamp, header, ranker)


def _load(path: Path) -> _Loaded:
    """The index at `path`, read from disk only when the file changed since the last read."""
    key = path.resolve()
    try:
        stat = key.stat()
    except FileNotFoundError:
        raise IndexMissing(path) from None
    except OSError as exc:
        raise IndexUnreadable(path, exc.strerror or str(exc)) from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _loaded.get(key)
        if cached is None or cached.stamp != stamp:
            try:
                cached = _read(key, stamp)
            except FileNotFoundError:  # replaced between stat and open: rare, say it plainly
                raise IndexMissing(path) from None
            _loaded[key] = cached
        return cached


def load_index(settings: Settings, *, engine: Engine | None = None) -> PartnerSearch:
    """Searches over the index at `settings.search_index_path()`. With `engine`, query vectors
    stored in that database's embedding cache (the calls, embedded by `build_index`) are reused;
    nothing is ever written to it."""
    ranker = _load(settings.search_index_path()).ranker
    if engine is not None:
        ranker = copy.copy(ranker)  # shares the fitted arrays; only the cache differs
        ranker.cache_ = ReadOnlyCache(SqlVectorCache(engine))
    return PartnerSearch(ranker)


def index_header(settings: Settings) -> IndexHeader:
    return _load(settings.search_index_path()).header


def check_index(engine: Engine, settings: Settings) -> IndexStale | None:
    """Why the index no longer reflects the database or the settings, if it does not."""
    path = settings.search_index_path()
    header = index_header(settings)
    if header.model != settings.embedding_model:
        reason = f"built with model '{header.model}', the settings say '{settings.embedding_model}'"
        return IndexStale(path, reason)
    with Session(engine) as session:
        now = database_fingerprint(session)
    if now != header.fingerprint:
        return IndexStale(path, f"the database changed since it was built at {header.created_at}")
    return None


def forget_loaded() -> None:
    """Drop every index read so far (the next `load_index` reads the file again)."""
    with _lock:
        _loaded.clear()


def stage_progress(bars: ProgressFactory) -> FitProgress:
    """A FitProgress (stage, done, total) drawn with one bar per stage from a bar factory."""
    advances: dict[str, Progress] = {}
    reached: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in advances:
            advances[stage], reached[stage] = bars(stage, total), 0
        advances[stage](done - reached[stage])
        reached[stage] = done

    return progress
