"""Exhaustive search for the best consortium, the yardstick for the builder on small pools.

Every subset of the eligible non-fixed candidates whose size, with the fixed members, lies in
[min_size, max_size] is scored; rules and objective are evaluated on numpy blocks of subsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations, islice

import numpy as np

from matcher.consortium.problem import Problem, objective
from matcher.consortium.rules import Compiled, Rules, all_ok, check_rules

MAX_POOL = 25
_CHUNK = 8192


def _chunks(items: list[int], k: int) -> Iterator[np.ndarray]:
    combos = combinations(items, k)
    while True:
        block = list(islice(combos, _CHUNK))
        if not block:
            return
        yield np.array(block, dtype=int).reshape(len(block), k)


def _feasible(comp: Compiled, sets: np.ndarray) -> np.ndarray:
    rules = comp.rules
    ok = np.ones(len(sets), dtype=bool)
    if comp.required_absent:
        return ~ok
    codes = np.sort(comp.country[sets], axis=1)
    if rules.min_countries:
        fresh = codes >= 0
        fresh[:, 1:] &= codes[:, 1:] != codes[:, :-1]
        ok &= fresh.sum(axis=1) >= rules.min_countries
    for code in comp.required:
        ok &= (codes == code).any(axis=1)
    if rules.min_lmic:
        ok &= comp.lmic[sets].sum(axis=1) >= rules.min_lmic
    for k, need in enumerate(comp.type_needs):
        ok &= (comp.org_type[sets] == k).sum(axis=1) >= need
    return ok


def _values(problem: Problem, sets: np.ndarray) -> np.ndarray:
    w = problem.weights
    values = problem.modular()[sets].sum(axis=1)
    if problem.coverage.shape[0]:
        values += w.coverage * problem.coverage[:, sets].max(axis=2).sum(axis=0)
    size = sets.shape[1]
    for p in range(size):
        for q in range(p + 1, size):
            values -= w.redundancy * problem.similarity[sets[:, p], sets[:, q]]
    if w.diversity:
        for codes in (problem.country_codes, problem.type_codes):
            values += w.diversity * _distinct_per_row(codes[sets])
    return np.asarray(values)


def _distinct_per_row(codes: np.ndarray) -> np.ndarray:
    """(m,) how many different known codes (>= 0) each row holds."""
    ordered = np.sort(codes, axis=1)
    changes = np.diff(ordered, axis=1) != 0
    first_known = ordered[:, :1] >= 0
    counted = np.hstack([first_known, changes & (ordered[:, 1:] >= 0)])
    return np.asarray(counted.sum(axis=1), dtype=float)


def exact_best(problem: Problem, rules: Rules) -> tuple[list[int], float] | None:
    """The best feasible consortium (sorted indices) and its objective, or None if none exists.

    Raises ValueError when the pool (eligible candidates plus fixed members) exceeds 25.
    """
    comp = Compiled.of(problem, rules)
    fixed = sorted(set(comp.fixed))
    if len(fixed) < len(rules.fixed_ids()) or not all(comp.eligible[fixed]):
        return None
    others = [i for i in np.flatnonzero(comp.eligible).tolist() if i not in set(fixed)]
    if len(others) + len(fixed) > MAX_POOL:
        raise ValueError(
            f"exact search is limited to {MAX_POOL} candidates, the pool has "
            f"{len(others) + len(fixed)}"
        )
    best: tuple[float, list[int]] | None = None
    low = max(rules.min_size - len(fixed), 0)
    high = min(rules.max_size - len(fixed), len(others))
    for k in range(low, high + 1):
        for block in _chunks(others, k):
            sets = np.hstack([np.tile(np.array(fixed, dtype=int), (len(block), 1)), block])
            if sets.shape[1] == 0:
                continue
            values = np.where(_feasible(comp, sets), _values(problem, sets), -np.inf)
            top = int(np.argmax(values))
            if np.isfinite(values[top]) and (best is None or values[top] > best[0] + 1e-12):
                best = (float(values[top]), sorted(int(i) for i in sets[top]))
    if best is None:
        return None
    members = best[1]
    if not all_ok(check_rules(problem, rules, members)):  # pragma: no cover - defensive
        raise AssertionError("exact search returned an infeasible set")
    return members, objective(problem, members)
