"""The evaluation harness behind `healthmatch eval`: a benchmark folder in, metrics and scores out.

`load_benchmark` reads the benchmark format (see the benchmarks README) into the matcher's plain
documents; `run_eval` fits a named method on the evidence, scores every call, measures it against
the judgements when there are any and writes the scores. Nothing here touches the application's
database: embeddings are cached in a standalone SQLite file (`open_cache`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.services.vector_cache import SqlVectorCache
from matcher.base import FitProgress
from matcher.cache import VectorCache
from matcher.documents import Corpus, OrgDoc, ProjectDoc, Query
from matcher.evaluation import ROLES, EvalReport, Judgements, report, score_queries
from matcher.methods import get_method
from models.db import make_engine
from scrapers.bench import (
    BenchData,
    FieldError,
    check_participants,
    find_file,
    iter_jsonl,
    parse_call,
    read_bench_dir,
)
from scrapers.errors import SourceFileError
from scrapers.records import CallRecord

if TYPE_CHECKING:
    from matcher.team_evaluation import ConsortiumEvalReport


class EvaluationError(Exception):
    """A run that cannot be done as asked (options that do not fit the data)."""


@dataclass
class Benchmark:
    corpus: Corpus
    queries: list[Query]
    judgements: Judgements | None  # None: the queries folder has no qrels.jsonl
    evidence_orgs: set[str]  # organisations that take part in at least one project
    evidence_dir: Path
    queries_dir: Path


def default_cache_path() -> Path:
    return Path.home() / ".cache" / "healthmatch" / "eval-vectors.sqlite"


# --- reading -----------------------------------------------------------------------------------


def _objects(data: bytes, path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) of a JSON Lines file; any broken line is a SourceFileError at its place."""
    try:
        for line, obj in iter_jsonl(data):
            if not isinstance(obj, dict):
                raise SourceFileError(path, line, "each line must be a JSON object")
            yield line, obj
    except SourceFileError as exc:
        if exc.path:
            raise
        raise SourceFileError(path, exc.line, exc.reason) from exc


def _id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"missing '{key}'" if value in (None, "") else f"'{key}' must be a string")
    return value.strip()


def parse_qrels(data: bytes, path: Path | str, known_calls: AbstractSet[str]) -> Judgements:
    """Judgements from the bytes of a qrels.jsonl (`path` only names it in errors): one
    {"call", "org", "role"} object a line, role "coordinator" or "participant", every call one of
    `known_calls`. Organisations need not be known: relevant ones without evidence count too."""
    triples: list[tuple[str, str, str]] = []
    for line, obj in _objects(data, path):
        try:
            call, org, role = _id(obj, "call"), _id(obj, "org"), _id(obj, "role")
            if role not in ROLES:
                raise FieldError(f"unknown role '{role}' (expected coordinator or participant)")
            if call not in known_calls:
                raise FieldError(f"unknown call '{call}' (not in calls.jsonl)")
        except FieldError as exc:
            raise SourceFileError(path, line, str(exc)) from exc
        triples.append((call, org, role))
    return Judgements.from_triples(triples)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFileError(path, None, f"cannot read ({exc.strerror})") from exc


def _read_calls(path: Path) -> list[CallRecord]:
    calls: list[CallRecord] = []
    first_at: dict[str, int] = {}
    for line, obj in _objects(_read(path), path):
        try:
            call = parse_call(obj, path.parent.name)
        except FieldError as exc:
            raise SourceFileError(path, line, str(exc)) from exc
        if call.external_id in first_at:
            reason = (
                f"duplicate id '{call.external_id}' (first at line {first_at[call.external_id]})"
            )
            raise SourceFileError(path, line, reason)
        first_at[call.external_id] = line
        calls.append(call)
    return calls


def _corpus(data: BenchData) -> Corpus:
    organisations = [
        OrgDoc(id=org.external_id, name=org.name, hq_country=org.country, org_type=org.org_type)
        for org in data.organisations
    ]
    projects = [
        ProjectDoc(
            id=project.external_id,
            title=project.title,
            text=project.description,
            keywords=project.keywords,
            year=project.year,
            call_title=project.funding_call_title,
            participants=tuple((p.org_external_id, p.role) for p in project.participants),
        )
        for project in data.projects
    ]
    return Corpus(organisations=organisations, projects=projects)


def _require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise SourceFileError(folder, None, "no such folder")


def load_benchmark(evidence_dir: Path, queries_dir: Path | None = None) -> Benchmark:
    """The evidence (organisations, projects) of `evidence_dir`; the queries (calls.jsonl) and
    optional judgements (qrels.jsonl) of `queries_dir`, by default the same folder."""
    _require_folder(evidence_dir)
    for stem in ("organisations", "projects"):
        if find_file(evidence_dir, stem) is None:
            raise SourceFileError(evidence_dir, None, f"no {stem}.jsonl (the evidence) found")
    data = read_bench_dir(evidence_dir, evidence_dir.resolve().name)
    check_participants(data, set())
    for stem, records in (("organisations", data.organisations), ("projects", data.projects)):
        if not records:
            where = find_file(evidence_dir, stem) or evidence_dir
            raise SourceFileError(where, None, f"no {stem} in it (the evidence)")
    folder = queries_dir or evidence_dir
    _require_folder(folder)
    calls_path = find_file(folder, "calls")
    if calls_path is None:
        raise SourceFileError(folder, None, "no calls.jsonl (the queries) found")
    calls = data.calls if queries_dir is None else _read_calls(calls_path)
    if not calls:
        raise SourceFileError(calls_path, None, "no calls to evaluate on")
    qrels_path = find_file(folder, "qrels")
    judgements = None
    if qrels_path is not None:
        known = {call.external_id for call in calls}
        judgements = parse_qrels(_read(qrels_path), qrels_path, known)
    return Benchmark(
        corpus=_corpus(data),
        queries=[Query(id=call.external_id, title=call.title, text=call.text) for call in calls],
        judgements=judgements,
        evidence_orgs={
            p.org_external_id for project in data.projects for p in project.participants
        },
        evidence_dir=evidence_dir,
        queries_dir=folder,
    )


# --- running -----------------------------------------------------------------------------------


@contextmanager
def open_cache(path: Path | None) -> Iterator[VectorCache | None]:
    """The standalone embedding cache in SQLite file `path` (None: no cache)."""
    if path is None:
        yield None
        return
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{path.resolve()}")
    try:
        yield SqlVectorCache.standalone(engine)
    finally:
        engine.dispose()


def check_method(method: str) -> None:
    """Raise `matcher.methods.UnknownMethod` early, before any data is read."""
    get_method(method)


def _score_lines(rows: Iterable[tuple[str, str, float]]) -> Iterator[str]:
    """The JSON lines of `write_scores`, without a json.dumps per row (millions with --top all)."""
    encoded: dict[str, str] = {}

    def quote(text: str) -> str:
        found = encoded.get(text)
        if found is None:
            found = encoded[text] = json.dumps(text)
        return found

    for call, org, score in rows:
        value = repr(score) if math.isfinite(score) else json.dumps(score)
        yield f'{{"call": {quote(call)}, "org": {quote(org)}, "score": {value}}}\n'


def check_run(benchmark: Benchmark, *, lead: bool, scores_out: Path | None) -> None:
    """Refuse a run that cannot give anything, before any fitting (run_eval checks it too)."""
    qrels = benchmark.queries_dir / "qrels.jsonl"
    if benchmark.judgements is None and lead:
        raise EvaluationError(f"--lead coordinator needs the judgements: {qrels} not found")
    if benchmark.judgements is None and scores_out is None:
        raise EvaluationError(f"nothing to do: {qrels} not found (no metrics); give --scores-out")


def write_scores(path: Path, rows: Iterable[tuple[str, str, float]]) -> None:
    """JSON Lines {"call", "org", "score"}, written to a temporary file then renamed into place,
    so that a failed run leaves no half-written file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot write ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(_score_lines(rows))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise EvaluationError(f"{path}: cannot write ({exc.strerror})") from exc
        raise


def run_eval(
    benchmark: Benchmark,
    method: str,
    *,
    lead: bool = False,
    top: int | None = 100,
    scores_out: Path | None = None,
    cache: VectorCache | None = None,
    progress: FitProgress | None = None,
) -> EvalReport | None:
    """Fit `method` on the evidence, score every call and, when there are judgements, measure it
    (None without). `top` rows per call go to `scores_out` (None: every ranked organisation).
    `seconds` covers the whole run: fitting, scoring, metrics and writing."""
    started = time.perf_counter()
    ranker = get_method(method)
    check_run(benchmark, lead=lead, scores_out=scores_out)
    ranker.fit(benchmark.corpus, cache=cache, progress=progress)
    scored = score_queries(
        ranker, benchmark.queries, benchmark.judgements, lead=lead, progress=progress
    )
    result = None
    if benchmark.judgements is not None:
        result = report(
            scored,
            benchmark.judgements,
            evidence_orgs=benchmark.evidence_orgs,
            method=method,
            top=top,
        )
    if scores_out is not None:
        write_scores(scores_out, scored.rows(top))
    if result is not None:
        result.seconds = time.perf_counter() - started
    return result


TASKS = ("ranking", "consortium")


def check_task(task: str, method: str) -> None:
    if task not in TASKS:
        raise EvaluationError(f"--task must be one of {', '.join(TASKS)}, got '{task}'")
    if task == "consortium" and not method.startswith("hybrid"):
        raise EvaluationError("--task consortium needs a hybrid method (it builds on the search)")


def run_consortium_eval(
    benchmark: Benchmark,
    method: str,
    *,
    cache: VectorCache | None = None,
    progress: FitProgress | None = None,
) -> ConsortiumEvalReport:
    """Fit `method`, then for every call propose a consortium with its coordinator as the lead and
    compare it with the ranking's top-k (see `matcher.team_evaluation`)."""
    from matcher.hybrid import HybridRanker
    from matcher.search import PartnerSearch
    from matcher.team_evaluation import evaluate_consortia

    started = time.perf_counter()
    if benchmark.judgements is None:
        raise EvaluationError(f"--task consortium needs {benchmark.queries_dir}/qrels.jsonl")
    ranker = get_method(method)
    assert isinstance(ranker, HybridRanker)  # check_task allows hybrid methods only
    ranker.fit(benchmark.corpus, cache=cache, progress=progress)
    calls = benchmark.queries
    advance = _stage_advance(progress, "consortia", len(calls))
    result = evaluate_consortia(
        PartnerSearch(ranker), calls, benchmark.judgements, method=method, progress=advance
    )
    result.seconds = time.perf_counter() - started
    return result


def _stage_advance(progress: FitProgress | None, stage: str, total: int) -> Any:
    if progress is None:
        return None
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        progress(stage, done[0], total)

    return advance
