"""Performance benchmark of indexing and matching on synthetic networks (issue 9).

For each size: generate a network (bench/generate.py) -> fresh SQLite database -> migrate ->
import_bench -> measure, all in this one process (so ratios compare figures of one run):

1. raw encode: the exact passages the index will embed, through the encoder's own `encode`
   (SentenceTransformer.encode, same batch size), weights already loaded -> passages/s;
2. full index: `build_index` with an empty embedding cache -> passages/s, ratio to (1), and where
   its time goes (embedding per stage, the rest: reading the database, TF-IDF, writing the file);
3. re-index with nothing changed -> seconds, ratio to (2);
4. re-index after 1 % of the projects' descriptions changed -> seconds, passages embedded;
5. `load_index`, then p50/p95/p99 latency of `search_partners` (call titles and short phrases),
   `members_for_call` (random calls) and `propose_for_call` (random calls and leads);
6. memory: ru_maxrss of this process (cumulative: it also covers indexing), and the peak RSS of a
   fresh child process that only loads the index and answers one search (the serving figure);
   the index file's size.

    python bench/run.py --sizes 1k --json /tmp/hm-bench/1k.json
    python bench/run.py --sizes 200:1000 --queries 50 --consortia 10   # a quick smoke run

Sizes: `1k` (1,000 organisations, 5,000 projects), `10k` (10,000 / 50,000), `20k` (20,000 /
100,000), or `ORGS:PROJECTS`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from api.services.consortium import propose_for_call
from api.services.corpus import calls_from_db, corpus_from_db
from api.services.matching import members_for_call, search_partners
from api.services.search_index import build_index, forget_loaded, load_index
from matcher.embedders import Encoder, get_encoder
from matcher.evidence import build_evidence
from matcher.text import passages
from models.call import Call
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.project import Project
from models.settings import Settings
from scrapers.pipeline import import_bench

try:  # python -m bench.run from the repository root
    from bench.generate import generate, load_source
except ImportError:  # python bench/run.py: this folder is on sys.path
    from generate import generate, load_source  # type: ignore[no-redef]

SIZES = {"1k": (1_000, 5_000), "10k": (10_000, 50_000), "20k": (20_000, 100_000)}

# run in a fresh interpreter: the peak memory of a process that serves searches from the index
SERVE_PROBE = """
import json, sys, time
from models.settings import Settings
from api.services.search_index import load_index
from api.services.matching import search_partners
settings = Settings(database_url=sys.argv[1], index_path=sys.argv[2])
started = time.perf_counter()
search = load_index(settings)
loaded = time.perf_counter() - started
search_partners(search=search, text="malaria vector control in rural districts")
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's peak across fork and exec
status = open("/proc/self/status").read().split("VmHWM:")[1]
hwm_kb = int(status.split()[0])
print(json.dumps({"load_s": loaded, "first_search_s": time.perf_counter() - started - loaded,
                  "peak_rss_mb": round(hwm_kb / 1024, 1)}))
"""


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_size(text: str) -> tuple[str, int, int]:
    if text in SIZES:
        return (text, *SIZES[text])
    orgs, _, projects = text.partition(":")
    try:
        return (text, int(orgs), int(projects))
    except ValueError:
        raise SystemExit(f"unknown size '{text}': 1k, 10k, 20k or ORGS:PROJECTS") from None


def rss_mb() -> dict[str, float]:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    current = 0.0
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        current = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return {"peak_rss_mb": round(peak, 1), "rss_mb": round(current, 1)}


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def timed(calls: Sequence[Callable[[], Any]]) -> tuple[list[float], int]:
    """Latencies of each call; errors (e.g. no consortium possible) are counted and timed too."""
    latencies, errors = [], 0
    for call in calls:
        started = time.perf_counter()
        try:
            call()
        except Exception:
            errors += 1
        latencies.append(time.perf_counter() - started)
    return latencies, errors


def index_passages(engine: Any, settings: Settings) -> list[str]:
    """The distinct passages `build_index` embeds, found the way the ranker finds them: evidence
    bodies, the titles of the calls projects were funded under, then the calls' bodies and
    titles (HybridRanker.fit and .prepare, through matcher.vectors.embed)."""
    encoder = get_encoder(settings.embedding_model)
    with Session(engine) as session:
        evidence = build_evidence(corpus_from_db(session))
        calls = calls_from_db(session, open_only=False)
    texts = [doc.body for doc in evidence.docs]
    texts += sorted({doc.call_title for doc in evidence.docs if doc.call_title})
    texts += [query.body() for query in calls] + [query.title for query in calls]
    unique = {p for text in texts for p in passages(text, max_words=encoder.max_words) if p}
    return sorted(unique)


class EncodeClock:
    """Times every `Encoder.encode` call while active (the class method is wrapped, so the
    encoder the ranker builds for itself is timed too)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def __enter__(self) -> EncodeClock:
        self.original = Encoder.encode
        clock = self

        def encode(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
            started = time.perf_counter()
            try:
                return clock.original(encoder, texts)
            finally:
                clock.seconds += time.perf_counter() - started
                clock.calls += 1

        Encoder.encode = encode  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Encoder.encode = self.original  # type: ignore[method-assign]


def change_descriptions(engine: Any, share: float, rng: random.Random, pool: list[str]) -> int:
    with session_scope(engine) as session:
        ids = list(session.exec(select(Project.id).order_by(col(Project.id))))
        chosen = rng.sample(ids, max(1, round(len(ids) * share)))
        for project_id in chosen:
            project = session.get(Project, project_id)
            assert project is not None
            project.description = f"{project.description} {rng.choice(pool)}".strip()
            session.add(project)
    return len(chosen)


def serve_probe(url: str, index_path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE, url, str(index_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"}
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_size(label: str, n_orgs: int, n_projects: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    folder = args.work / label
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "bench.db"
    url = f"sqlite:///{db}"
    settings = Settings(database_url=url, index_path=folder / "bench.index")
    result: dict[str, Any] = {"size": label, "organisations": n_orgs, "projects": n_projects}

    started = time.perf_counter()
    source = load_source(args.source)
    result["generated"] = generate(n_orgs, n_projects, args.seed, folder / "network", source)
    result["generate_s"] = round(time.perf_counter() - started, 2)
    out(f"[{label}] generated {result['generated']} in {result['generate_s']} s")

    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        import_bench(session, folder / "network", source="bench")
    result["import_s"] = round(time.perf_counter() - started, 2)
    out(f"[{label}] migrated and imported in {result['import_s']} s")

    # 1. raw encode over the exact passages, weights loaded beforehand
    texts = index_passages(engine, settings)
    encoder = get_encoder(settings.embedding_model)
    encoder.encode(["warm up the weights"])
    sample = texts if args.raw_sample <= 0 else rng.sample(texts, min(args.raw_sample, len(texts)))
    started = time.perf_counter()
    encoder._encode(encoder._model, sample)  # the model's own encode (SentenceTransformer.encode)
    raw_s = time.perf_counter() - started
    words = [t.count(" ") + 1 for t in texts]
    result["passages"] = {
        "distinct": len(texts),
        "mean_words": round(float(np.mean(words)), 1),
        "raw_encoded": len(sample),
        "raw_s": round(raw_s, 2),
        "raw_per_s": round(len(sample) / raw_s, 1),
    }
    out(f"[{label}] raw encode: {len(sample):,} passages in {raw_s:.1f} s")

    # 2. full index, empty embedding cache
    with EncodeClock() as clock:
        full = build_index(engine, settings)
    index_per_s = full.embedded / full.seconds if full.seconds else 0.0
    result["index_full"] = {
        "s": round(full.seconds, 2),
        "embedded": full.embedded,
        "from_cache": full.from_cache,
        "per_s": round(index_per_s, 1),
        "ratio_to_raw": round(index_per_s / result["passages"]["raw_per_s"], 3),
        "encode_s": round(clock.seconds, 2),
        "other_s": round(full.seconds - clock.seconds, 2),
        "documents": full.documents,
        "calls": full.calls,
        "file_mb": round(settings.search_index_path().stat().st_size / 2**20, 2),
    }
    out(f"[{label}] full index: {full.summary()}")

    # 3. re-index, nothing changed
    again = build_index(engine, settings)
    result["index_unchanged"] = {
        "s": round(again.seconds, 2),
        "embedded": again.embedded,
        "ratio_to_full": round(again.seconds / full.seconds, 3),
    }
    out(f"[{label}] re-index unchanged: {again.seconds:.1f} s")

    # 4. re-index after 1 % of the descriptions changed
    changed = change_descriptions(engine, 0.01, rng, source.sentences)
    partial = build_index(engine, settings)
    result["index_1pct"] = {
        "changed_projects": changed,
        "s": round(partial.seconds, 2),
        "embedded": partial.embedded,
        "ratio_to_full": round(partial.seconds / full.seconds, 3),
    }
    out(f"[{label}] re-index 1 % changed: {partial.seconds:.1f} s, {partial.embedded} embedded")

    # 5. queries through the service layer
    forget_loaded()
    started = time.perf_counter()
    search = load_index(settings, engine=engine)
    result["load_index_s"] = round(time.perf_counter() - started, 2)
    result["memory_after_load"] = rss_mb()

    with Session(engine) as session:
        call_rows = list(session.exec(select(Call.id, Call.title)))
    call_ids = [row[0] for row in call_rows]
    projects = [json.loads(line) for line in (folder / "network" / "projects.jsonl").open()]
    phrases = []
    for project in rng.sample(projects, min(len(projects), args.queries)):
        words = project["title"].split()
        phrases.append(" ".join(words[: rng.randint(2, 6)]) or project["title"])
        if project["keywords"]:
            phrases[-1] += " " + " ".join(project["keywords"][:2])
    call_titles = [title for _, title in call_rows]
    texts_q = [
        rng.choice(call_titles) if i % 2 == 0 else phrases[i % len(phrases)]
        for i in range(args.queries)
    ]
    leads = [
        int(org)
        for org, ok in zip(search.evidence.org_ids, search.ranker.valid_, strict=True)
        if ok
    ]

    with Session(engine) as session:
        search_partners(search=search, text=texts_q[0])  # first query: lazy state, not timed
        members_for_call(session=session, search=search, call_id=call_ids[0])
        lat, err = timed([lambda t=t: search_partners(search=search, text=t) for t in texts_q])
        result["search_partners"] = {**percentiles(lat), "errors": err}
        result["search_partners_call_titles"] = percentiles(lat[0::2])
        result["search_partners_phrases"] = percentiles(lat[1::2])
        picks = [rng.choice(call_ids) for _ in range(args.queries)]
        lat, err = timed(
            [lambda c=c: members_for_call(session=session, search=search, call_id=c) for c in picks]
        )
        result["members_for_call"] = {**percentiles(lat), "errors": err}
        pairs = [(rng.choice(call_ids), rng.choice(leads)) for _ in range(args.consortia)]
        lat, err = timed(
            [
                lambda c=c, lead=lead: propose_for_call(
                    session=session, search=search, call_id=c, lead=lead
                )
                for c, lead in pairs
            ]
        )
        result["propose_for_call"] = {**percentiles(lat), "errors": err}
    out(f"[{label}] queries done")

    # 6. memory of a process that only serves
    result["serve_process"] = serve_probe(url, settings.search_index_path())
    result["memory_end"] = rss_mb()
    engine.dispose()
    if not args.keep:
        shutil.rmtree(folder / "network", ignore_errors=True)
    return result


def machine() -> dict[str, Any]:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def growth(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each figure at each size divided by the same figure at the smallest size."""
    keys = {
        "index_full_s": ("index_full", "s"),
        "index_unchanged_s": ("index_unchanged", "s"),
        "index_1pct_s": ("index_1pct", "s"),
        "search_p50_ms": ("search_partners", "p50_ms"),
        "members_p50_ms": ("members_for_call", "p50_ms"),
        "consortium_p50_ms": ("propose_for_call", "p50_ms"),
        "serve_peak_rss_mb": ("serve_process", "peak_rss_mb"),
        "index_file_mb": ("index_full", "file_mb"),
    }
    base = results[0]
    table: dict[str, dict[str, float]] = {}
    for name, (group, field) in keys.items():
        first = base.get(group, {}).get(field)
        if not first:
            continue
        table[name] = {
            r["size"]: round(r[group][field] / first, 2)
            for r in results
            if r.get(group, {}).get(field)
        }
    return table


def print_table(results: list[dict[str, Any]]) -> None:
    rows: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("organisations / projects", lambda r: f"{r['organisations']:,} / {r['projects']:,}"),
        (
            "distinct passages (mean words)",
            lambda r: f"{r['passages']['distinct']:,} ({r['passages']['mean_words']})",
        ),
        ("import (s)", lambda r: r["import_s"]),
        ("raw encode (passages/s)", lambda r: r["passages"]["raw_per_s"]),
        ("full index (s)", lambda r: r["index_full"]["s"]),
        ("  of which in Encoder.encode (s)", lambda r: r["index_full"]["encode_s"]),
        ("full index (passages/s)", lambda r: r["index_full"]["per_s"]),
        ("  ratio to raw encode", lambda r: r["index_full"]["ratio_to_raw"]),
        ("re-index unchanged (s)", lambda r: r["index_unchanged"]["s"]),
        ("  ratio to full index", lambda r: r["index_unchanged"]["ratio_to_full"]),
        ("re-index 1 % changed (s)", lambda r: r["index_1pct"]["s"]),
        ("  passages embedded", lambda r: r["index_1pct"]["embedded"]),
        ("index file (MB)", lambda r: r["index_full"]["file_mb"]),
        ("load_index (s)", lambda r: r["load_index_s"]),
    ]
    for name in (
        "search_partners",
        "search_partners_call_titles",
        "search_partners_phrases",
        "members_for_call",
        "propose_for_call",
    ):
        rows.append(
            (
                f"{name} p50/p95/p99 (ms)",
                lambda r, n=name: (
                    f"{r[n].get('p50_ms')} / {r[n].get('p95_ms')} / "
                    f"{r[n].get('p99_ms')}"
                    + (f" ({r[n]['errors']} err)" if r[n].get("errors") else "")
                ),
            )
        )
    rows += [
        ("peak RSS, this process (MB)", lambda r: r["memory_after_load"]["peak_rss_mb"]),
        ("peak RSS, serving process (MB)", lambda r: r["serve_process"].get("peak_rss_mb")),
    ]
    width = max(len(name) for name, _ in rows)
    out("figure".ljust(width) + "".join(f" | {r['size']:>22}" for r in results))
    out("-" * width + "".join(" | " + "-" * 22 for _ in results))
    for name, get in rows:
        out(name.ljust(width) + "".join(f" | {get(r)!s:>22}" for r in results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1k", help="comma-separated: 1k, 10k, 20k, ORGS:PROJECTS"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/hm-bench"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--consortia", type=int, default=30)
    parser.add_argument(
        "--raw-sample",
        type=int,
        default=0,
        help="raw encode on a random sample of this many passages (0: all of them)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "cordis-he",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated JSONL files")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    results = []
    for size in args.sizes.split(","):
        label, n_orgs, n_projects = parse_size(size.strip())
        results.append(run_size(label, n_orgs, n_projects, args))
        report["sizes"] = results
        report["growth"] = growth(results)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2))
    out()
    out(f"machine: {json.dumps(report['machine'])}")
    print_table(results)
    if len(results) > 1:
        out(f"growth relative to {results[0]['size']}: {json.dumps(report['growth'], indent=1)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
