"""Grid over the consortium objective's weights on a benchmark (the consortium task).

    .venv/bin/python scripts/tune_consortium.py ../shared/benchmarks/cordis-he [--cache PATH]

The candidate pools (scores for the call given its coordinator as lead, per-aspect scores,
redundancy) are computed once; each weight setting then only re-runs the builder. Prints, per
setting, the builder's precision against the real partners and the distinct countries and
organisation types of its consortia, and the same for the ranking's top-k. The weights shipped in
`matcher.consortium.problem.Weights` were chosen with this script on all benchmark calls (they are
the calls `healthmatch eval --task consortium` reports on: read its figures as tuned, not held out).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from api.services.evaluation import default_cache_path, load_benchmark, open_cache
from matcher.consortium import Rules, Weights, build_consortia
from matcher.hybrid import HybridRanker
from matcher.methods import get_method
from matcher.pool import RawPool, per_seat, raw_pool, to_problem
from matcher.teams import call_aspects


def team_facts(ranker: HybridRanker, members: list[int]) -> tuple[int, int]:
    orgs = [ranker.evidence_.orgs[i] for i in members]
    return len({o.hq_country for o in orgs if o.hq_country}), len(
        {o.org_type for o in orgs if o.org_type}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--cache", type=Path, default=default_cache_path())
    args = parser.parse_args()
    bench = load_benchmark(args.benchmark)
    assert bench.judgements is not None
    ranker = get_method("hybrid")
    assert isinstance(ranker, HybridRanker)
    started = time.perf_counter()
    with open_cache(args.cache) as cache:
        ranker.fit(bench.corpus, cache=cache)
        cases: list[tuple[RawPool, str, frozenset[str], int]] = []
        for query in bench.queries:
            truth = bench.judgements.relevant.get(query.id or "", frozenset())
            lead = bench.judgements.coordinator(query.id or "")
            if lead is None or lead not in ranker.evidence_.org_index or len(truth) < 2:
                continue
            aspects = call_aspects(query)
            raw = raw_pool(ranker, query, aspects, lead=lead, pool_size=max(200, 3 * len(truth)))
            cases.append((raw, lead, truth, len(truth)))
    print(f"{len(cases)} calls, pools built in {time.perf_counter() - started:.0f} s")
    ids = ranker.evidence_.org_ids

    def precision(members: list[int], lead: str, truth: frozenset[str]) -> float:
        partners = [ids[i] for i in members if ids[i] != lead]
        return sum(p in truth for p in partners) / max(len(partners), 1)

    ranking = []
    for raw, lead, truth, size in cases:
        lead_index = ranker.evidence_.org_index[lead]
        order = [raw.pool[i] for i in np.argsort(-raw.scores, kind="stable")]
        team = [lead_index, *[i for i in order if i != lead_index][: size - 1]]
        ranking.append((precision(team, lead, truth), *team_facts(ranker, team)))
    r = np.mean(ranking, axis=0)
    print(f"ranking top-k: precision {r[0]:.4f} countries {r[1]:.2f} types {r[2]:.2f}")
    grid = itertools.product((1.0,), (0.1, 0.3), (0.0, 0.05, 0.2), (0.0,), (0.02, 0.03))
    print("relevance coverage redundancy/seat collaboration diversity  precision countries types")
    for rel, cov, red, col, div in grid:
        weights = Weights(
            relevance=rel, coverage=cov, redundancy=red, collaboration=col, diversity=div
        )
        scores = []
        for raw, lead, truth, size in cases:
            problem = to_problem(ranker, raw, per_seat(weights, size))
            result = build_consortia(problem, Rules(min_size=size, max_size=size, lead=lead), 1)
            if not result.consortia:
                scores.append((0.0, 0, 0))
                continue
            team = [raw.pool[i] for i in result.consortia[0].members]
            scores.append((precision(team, lead, truth), *team_facts(ranker, team)))
        m = np.mean(scores, axis=0)
        print(
            f"{rel:9.2f} {cov:8.2f} {red:15.2f} {col:13.2f} {div:9.2f}"
            f"  {m[0]:9.4f} {m[1]:9.2f} {m[2]:5.2f}"
        )


if __name__ == "__main__":
    main()
