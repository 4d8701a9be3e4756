"""Synthetic health-cooperation networks of any size, in the benchmark JSONL format.

Every text and attribute is drawn from the shared benchmark corpus `../shared/benchmarks/cordis-he`
(built from the public CORDIS open data for Horizon Europe, (c) European Union, reused under
CC BY 4.0, and the Funding & Tenders portal's topic texts for the 2023-2024 work programme; see
that folder's README), recombined so that texts are realistic but distinct:

- organisations: real organisation records sampled whole, so countries, types, SME flags and cities
  keep the real joint distribution; beyond the corpus's 19,371 organisations records are reused
  with a numbered suffix on the name (" #2") so that every name stays unique;
- projects: a real project lends its keywords, year and funding call; the title joins the head of
  one real title to the tail of another; the description has as many sentences as a real
  project's description (so the share of empty descriptions and the length distribution stay
  real), each drawn from the pool of every real description sentence;
- participants: 2-12 per project, the count drawn from the real distribution clipped to that range,
  the organisations drawn with a Zipf-like skew (a few organisations take part in many projects,
  most in one or two), the first one as coordinator;
- calls: real calls (title, text, deadline) sampled without replacement, about one per 20
  projects (at least 30, at most the 328 of the corpus).

Deterministic for a seed. Writes `organisations.jsonl`, `projects.jsonl` and `calls.jsonl` into
`out_dir`, which `scrapers.pipeline.import_bench` (`healthmatch import bench DIR`) loads.

    python bench/generate.py --orgs 1000 --projects 5000 --out /tmp/net-1k
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.text import sentences

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "benchmarks" / "cordis-he"
MIN_PARTICIPANTS, MAX_PARTICIPANTS = 2, 12
ZIPF_EXPONENT = 0.9  # popularity of the organisation of rank r ~ 1 / (r + ZIPF_OFFSET) ** this
ZIPF_OFFSET = 5


@dataclass
class SourceCorpus:
    organisations: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    sentences: list[str]  # every sentence of every real description, in corpus order
    sentence_counts: list[int]  # per real project, sentences in its description (0: empty)
    participant_counts: list[int]  # per real project, clipped to the range above


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_source(folder: Path = DEFAULT_SOURCE) -> SourceCorpus:
    organisations = _read_jsonl(folder / "organisations.jsonl")
    projects = _read_jsonl(folder / "projects.jsonl")
    calls = _read_jsonl(folder / "calls.jsonl")
    pool: list[str] = []
    counts: list[int] = []
    for project in projects:
        pieces = sentences(project.get("text") or "")
        pool.extend(pieces)
        counts.append(len(pieces))
    participants = [
        min(MAX_PARTICIPANTS, max(MIN_PARTICIPANTS, len(project.get("participants") or [])))
        for project in projects
    ]
    return SourceCorpus(organisations, projects, calls, pool, counts, participants)


def _organisations(source: SourceCorpus, n: int, rng: random.Random) -> list[dict[str, Any]]:
    real = source.organisations
    picks = rng.sample(range(len(real)), min(n, len(real)))
    while len(picks) < n:  # more than the corpus holds: reuse records, renamed below
        picks.append(rng.randrange(len(real)))
    seen: dict[str, int] = {}
    out = []
    for i, pick in enumerate(picks):
        record = dict(real[pick])
        seen[record["id"]] = seen.get(record["id"], 0) + 1
        if seen[record["id"]] > 1:
            record["name"] = f"{record['name']} #{seen[record['id']]}"
        record["id"] = f"org-{i + 1:06d}"
        out.append(record)
    return out


def _title(source: SourceCorpus, rng: random.Random) -> str:
    head = rng.choice(source.projects)["title"].split()
    tail = rng.choice(source.projects)["title"].split()
    if len(head) < 2 or len(tail) < 2:
        return " ".join(head + tail)
    return " ".join(head[: rng.randint(1, len(head) - 1)] + tail[rng.randint(1, len(tail) - 1) :])


def _participants(
    n_orgs: int, count: int, weights: list[float], rng: random.Random
) -> list[dict[str, str]]:
    count = min(count, n_orgs)
    chosen: list[int] = []
    taken: set[int] = set()
    while len(chosen) < count:
        for org in rng.choices(range(n_orgs), weights=weights, k=count - len(chosen)):
            if org not in taken:
                taken.add(org)
                chosen.append(org)
    return [
        {"org": f"org-{org + 1:06d}", "role": "coordinator" if i == 0 else "participant"}
        for i, org in enumerate(chosen)
    ]


def _projects(
    source: SourceCorpus, n: int, n_orgs: int, rng: random.Random
) -> list[dict[str, Any]]:
    ranks = list(range(n_orgs))
    rng.shuffle(ranks)  # which organisations are the popular ones: random, not corpus order
    weights = [1.0 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in ranks]
    out = []
    for i in range(n):
        model = rng.choice(source.projects)
        n_sentences = rng.choice(source.sentence_counts)
        text = " ".join(rng.choice(source.sentences) for _ in range(n_sentences))
        project: dict[str, Any] = {
            "id": f"proj-{i + 1:07d}",
            "title": _title(source, rng),
            "text": text,
            "keywords": list(model.get("keywords") or []),
            "year": model.get("year"),
            "participants": _participants(
                n_orgs, rng.choice(source.participant_counts), weights, rng
            ),
        }
        if model.get("call"):
            project["call"] = model["call"]
        out.append(project)
    return out


def _calls(source: SourceCorpus, n_projects: int, rng: random.Random) -> list[dict[str, Any]]:
    count = min(len(source.calls), max(30, n_projects // 20))
    fields = ("id", "title", "text", "year", "deadline", "action_type")
    return [
        {key: call[key] for key in fields if key in call}
        for call in rng.sample(source.calls, count)
    ]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def generate(
    n_orgs: int,
    n_projects: int,
    seed: int,
    out_dir: Path,
    source: SourceCorpus | None = None,
) -> dict[str, int]:
    """Write a synthetic network into `out_dir`; returns the counts written."""
    if n_orgs < MIN_PARTICIPANTS or n_projects < 1:
        raise ValueError("need at least 2 organisations and 1 project")
    source = source or load_source()
    rng = random.Random(seed)
    organisations = _organisations(source, n_orgs, rng)
    projects = _projects(source, n_projects, n_orgs, rng)
    calls = _calls(source, n_projects, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "organisations.jsonl", organisations)
    _write_jsonl(out_dir / "projects.jsonl", projects)
    _write_jsonl(out_dir / "calls.jsonl", calls)
    return {"organisations": n_orgs, "projects": n_projects, "calls": len(calls)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, required=True)
    parser.add_argument("--projects", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    counts = generate(args.orgs, args.projects, args.seed, args.out, load_source(args.source))
    sys.stdout.write(
        f"{counts['organisations']:,} organisations, {counts['projects']:,} projects, "
        f"{counts['calls']:,} calls -> {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
