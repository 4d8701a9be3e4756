"""Consortium builder benchmark: speed on realistic pools and closeness to the exact optimum.

    .venv/bin/python scripts/consortium_bench.py [--timing 30] [--exactness 40]

(a) Timing: build_consortia (K=3 alternatives, size 3-6, a lead, min 3 countries, 1 LMIC member,
    one research organisation) over 200 random candidates with 10 aspects; median and p90 ms.
(b) Exactness: builder / exact_best objective over seeded instances of 16-20 candidates, sizes 3-5
    (with a few rules); mean and min ratio.

Data: relevance ~ Beta(2, 5); coverage = relevance times a per-aspect affinity plus noise, clipped
to [0, 1] and sparsified; similarity = cosine of random 4-d vectors, clipped to [0, 1].
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from matcher.consortium import Candidate, Problem, Rules, Weights, build_consortia, exact_best
from matcher.pool import per_seat
from matcher.teams import DEFAULT_WEIGHTS

INCOME = {
    "KE": "LM", "SN": "LM", "UG": "L", "NG": "LM", "IN": "LM", "BR": "UM", "ZA": "UM",
    "PE": "UM", "FR": "H", "DE": "H", "GB": "H", "US": "H", "NL": "H", "CH": "H",
}  # fmt: skip
TYPES = ["ngo", "research", "public", "private", "network", "multilateral"]


def random_problem(seed: int, n: int, n_aspects: int, weights: Weights | None = None) -> Problem:
    rng = np.random.default_rng(seed)
    countries = list(INCOME)
    candidates = []
    for i in range(n):
        country = countries[rng.integers(len(countries))]
        org_type = TYPES[rng.integers(len(TYPES))]
        candidates.append(
            Candidate(f"org{i}", f"Organisation {i}", country, INCOME[country], org_type)
        )
    relevance = rng.beta(2, 5, n)
    affinity = rng.beta(1, 2, (n_aspects, n))
    coverage = relevance[None, :] * (0.5 + affinity) + rng.normal(0, 0.08, (n_aspects, n))
    coverage = np.clip(coverage, 0, 1) * (rng.random((n_aspects, n)) < 0.7)
    vectors = rng.normal(size=(n, 4))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = np.clip(vectors @ vectors.T, 0, 1)
    collaboration = rng.poisson(0.3, n).astype(float)
    aspects = [f"aspect {k}" for k in range(n_aspects)]
    return Problem(
        candidates, relevance, coverage, similarity, aspects, collaboration, weights or Weights()
    )


def timing(instances: int, weights: Weights) -> None:
    times = []
    sizes = []
    for seed in range(instances):
        problem = random_problem(seed, 200, 10, weights)
        rules = Rules(
            min_size=3,
            max_size=6,
            min_countries=3,
            min_lmic=1,
            required_types={"research": 1},
            lead=f"org{seed}",
        )
        start = time.perf_counter()
        result = build_consortia(problem, rules, alternatives=3)
        times.append((time.perf_counter() - start) * 1000)
        sizes.append([len(c.members) for c in result.consortia])
    p90 = float(np.percentile(times, 90))
    print(
        f"(a) timing over {instances} instances (200 candidates, 10 aspects, size 3-6, K=3): "
        f"median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, max {max(times):.1f} ms"
    )
    alternatives = sum(len(s) for s in sizes) / len(sizes)
    members = np.mean([m for s in sizes for m in s])
    print(f"    consortia per instance {alternatives:.2f}, mean members {members:.2f}")


def exactness(instances: int, weights: Weights) -> None:
    ratios = []
    exact_ms = []
    for seed in range(instances):
        rng = np.random.default_rng(10_000 + seed)
        n = int(rng.integers(16, 21))
        problem = random_problem(10_000 + seed, n, 10, weights)
        rules = Rules(
            min_size=3,
            max_size=5,
            min_countries=int(rng.integers(0, 4)),
            min_lmic=int(rng.integers(0, 3)),
            required_types={"ngo": 1} if rng.random() < 0.5 else {},
            lead=f"org{rng.integers(n)}" if rng.random() < 0.5 else None,
        )
        start = time.perf_counter()
        exact = exact_best(problem, rules)
        exact_ms.append((time.perf_counter() - start) * 1000)
        result = build_consortia(problem, rules, alternatives=1)
        if exact is None:
            assert not result.consortia, "builder found a consortium the exact search did not"
            continue
        assert result.consortia, f"seed {seed}: builder reported infeasible, exact did not"
        ratios.append(result.consortia[0].objective / exact[1])
    print(
        f"(b) exactness over {len(ratios)} feasible of {instances} instances (16-20 candidates, "
        f"size 3-5): builder/exact mean {np.mean(ratios):.4f}, min {min(ratios):.4f}, "
        f"optimal in {sum(r > 1 - 1e-9 for r in ratios)}; exact search median "
        f"{statistics.median(exact_ms):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", type=int, default=30, help="instances for (a)")
    parser.add_argument("--exactness", type=int, default=40, help="instances for (b)")
    args = parser.parse_args()
    build_consortia(random_problem(999, 200, 10), Rules())  # warm-up (imports, caches)
    for label, weights in (("generic weights", Weights()), ("shipped weights", DEFAULT_WEIGHTS)):
        print(f"--- {label}: {weights}")
        timing(args.timing, per_seat(weights, 6))
        exactness(args.exactness, per_seat(weights, 5))


if __name__ == "__main__":
    main()
