"""Build the best consortia for a call: greedy under rules, local search, diverse alternatives.

Algorithm
---------
1. **Eligibility.** Excluded candidates and those outside the allowed countries/regions are dropped.
   The fixed members (lead, then includes) must be eligible; `explain_infeasible` runs first and
   any necessary condition it proves violated is returned as the explanation.
2. **Greedy under lower bounds.** Start from the fixed members and repeatedly add the candidate
   with the best marginal gain among the *admissible* ones. Admissible means that after adding it,
   the lower bound on members still needed (new countries, LMIC members, the sum of per-type needs;
   `Compiled.lower_bound_after`) fits in the slots left (max_size - |S|); once slots == deficit,
   only deficit-reducing candidates pass. Stop at max_size, or once |S| >= min_size, every
   lower-bound rule is met and the best admissible gain is <= 0. The objective is submodular, so a
   lazy greedy (heap of stale gains) would pick the same members; with numpy, recomputing every
   candidate's gain in one vectorised pass (O(aspects * n), microseconds for n in the hundreds) is
   cheaper than heap bookkeeping in Python, so that is what is done.
3. **Repair / second start.** The deficit bound is necessary, not sufficient (e.g. one LMIC NGO
   from Kenya may be needed for three rules at once). A depth-first search also completes the
   fixed members (it is the only start when the greedy ends infeasible): it branches on the most
   constrained unmet rule over the candidates that reduce it (best gain first, siblings already
   tried are excluded, pruned by the lower bound), then pads to min_size. Within its node budget
   it is complete, so small pools never get a false "infeasible".
4. **Local search** from each start (the better result is kept): up to three passes of swaps (a
   non-fixed member for any eligible non-member, best feasible swap per member), additions and
   removals within the size bounds; only strict improvements that keep every rule met count.
5. **Alternatives.** Each later consortium may share at most (1 - min_difference) of its non-fixed
   members with every earlier one (`shares_at_most`). Candidates for the next alternative are built
   (steps 2-4) with bans taken from the earlier consortia: their strongest ceil(d * k) non-fixed
   members, their weakest, or all of them; the best one that satisfies the difference rule is kept.
   The search stops early when none does.
6. **Explanations.** If nothing feasible is found although `explain_infeasible` proved nothing,
   each rule still unmet in the best attempt is reported. Every returned consortium has been
   checked with the exact `check_rules`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.consortium.problem import Problem, best_coverage, marginal_gains, objective
from matcher.consortium.rules import (
    Compiled,
    Infeasibility,
    RuleCheck,
    Rules,
    all_ok,
    check_rules,
    explain_infeasible,
)

_EPS = 1e-9
_LOCAL_PASSES = 3
_REPAIR_BUDGET = 8_000
_TRIES_PER_MOVE = 25


@dataclass(frozen=True)
class Contribution:
    member: int
    aspects: list[int]  # aspects where this member gives the consortium's best coverage
    relevance: float
    marginal: float  # objective(S) - objective(S without member)


@dataclass(frozen=True)
class Consortium:
    members: list[int]  # lead first, then includes, then by contribution
    objective: float
    checks: list[RuleCheck]  # all ok
    coverage: np.ndarray  # (n_aspects,) best coverage of each aspect by the consortium
    covered_by: list[int | None]  # per aspect, the member giving the best coverage (None if 0)
    contributions: list[Contribution]


@dataclass(frozen=True)
class BuildResult:
    consortia: list[Consortium]  # up to `alternatives`, best first; empty iff infeasible
    infeasible: list[Infeasibility]  # non-empty iff consortia is empty


def shares_at_most(
    members: Sequence[int], earlier: Sequence[int], fixed: Sequence[int], min_difference: float
) -> bool:
    """True when `members` is a distinct set sharing at most (1 - min_difference) of its
    non-fixed members with `earlier`."""
    if set(members) == set(earlier):
        return False
    own = set(members) - set(fixed)
    if not own:
        return True
    shared = len(own & set(earlier))
    return shared <= (1.0 - min_difference) * len(own) + _EPS


class _Search:
    """Greedy, repair and local search for one problem and its compiled rules."""

    def __init__(self, problem: Problem, comp: Compiled) -> None:
        self.problem = problem
        self.comp = comp
        self.rules = comp.rules
        self.fixed = list(dict.fromkeys(comp.fixed))
        self.best_attempt: list[int] = list(self.fixed)

    def build(self, banned: frozenset[int] = frozenset()) -> list[int] | None:
        pool = self.comp.eligible.copy()
        pool[list(banned)] = False
        pool[self.fixed] = True
        greedy = self._greedy(pool)
        starts = [greedy] if self.comp.feasible(greedy) else []
        if not starts and (len(self.best_attempt) <= len(self.fixed) or not banned):
            self.best_attempt = greedy
        repaired = self._repair(pool, _REPAIR_BUDGET if not banned else _REPAIR_BUDGET // 4)
        if repaired is not None and repaired not in starts:
            starts.append(repaired)
        if not starts:
            return None
        improved = [self._local_search(start, pool) for start in starts]
        return max(improved, key=lambda members: objective(self.problem, members))

    def _greedy(self, pool: np.ndarray) -> list[int]:
        rules, comp = self.rules, self.comp
        members = list(self.fixed)
        taken = np.zeros(self.problem.n, dtype=bool)
        taken[members] = True
        while len(members) < rules.max_size:
            slots_after = rules.max_size - len(members) - 1
            admissible = pool & ~taken & (comp.lower_bound_after(members) <= slots_after)
            if not admissible.any():
                break
            gains = np.where(admissible, marginal_gains(self.problem, members), -np.inf)
            best = int(np.argmax(gains))
            done = len(members) >= rules.min_size and comp.lower_bound(members) == 0
            if done and gains[best] <= 0:
                break
            members.append(best)
            taken[best] = True
        return members

    def _branch_options(self, members: list[int]) -> np.ndarray:
        """Candidates of the most constrained unmet rule (mask); any completion needs one."""
        comp = self.comp
        countries = {int(comp.country[i]) for i in members if comp.country[i] >= 0}
        n_lmic = int(comp.lmic[members].sum()) if members else 0
        _, _, _, need_types = comp.deficits(members)
        options: list[np.ndarray] = [comp.country == r for r in comp.required - countries]
        if comp.rules.min_countries > len(countries):
            options.append((comp.country >= 0) & ~np.isin(comp.country, list(countries)))
        if comp.rules.min_lmic > n_lmic:
            options.append(comp.lmic.copy())
        options += [comp.org_type == k for k, need in enumerate(need_types) if need > 0]
        return min(options, key=lambda mask: int(mask.sum()))

    def _repair(self, pool: np.ndarray, budget: int) -> list[int] | None:
        comp, rules = self.comp, self.rules
        nodes = 0

        def search(members: list[int], forbidden: np.ndarray) -> list[int] | None:
            nonlocal nodes
            nodes += 1
            need = comp.lower_bound(members)
            if need == 0:
                return members
            if need > rules.max_size - len(members) or nodes > budget:
                return None
            options = self._branch_options(members) & pool & ~forbidden
            options[members] = False
            gains = marginal_gains(self.problem, members)
            order = sorted(np.flatnonzero(options), key=lambda i: -gains[i])
            tried = forbidden.copy()
            for i in order:
                found = search([*members, int(i)], tried)
                if found is not None:
                    return found
                tried[i] = True
            return None

        if comp.required_absent:
            return None
        found = search(list(self.fixed), np.zeros(self.problem.n, dtype=bool))
        if found is None:
            return None
        while len(found) < rules.min_size:
            free = pool.copy()
            free[found] = False
            if not free.any():
                return None
            gains = np.where(free, marginal_gains(self.problem, found), -np.inf)
            found.append(int(np.argmax(gains)))
        return found

    def _try_swaps(
        self, members: list[int], value: float, pool: np.ndarray
    ) -> tuple[list[int], float]:
        fixed = set(self.fixed)
        for m in [x for x in members if x not in fixed]:
            if m not in members:
                continue
            rest = [x for x in members if x != m]
            values = objective(self.problem, rest) + marginal_gains(self.problem, rest)
            free = pool.copy()
            free[members] = False
            candidates = np.flatnonzero(free & (values > value + _EPS))
            for c in candidates[np.argsort(-values[candidates], kind="stable")][:_TRIES_PER_MOVE]:
                trial = [*rest, int(c)]
                if self.comp.feasible(trial):
                    members, value = trial, float(values[c])
                    break
        return members, value

    def _try_add(
        self, members: list[int], value: float, pool: np.ndarray
    ) -> tuple[list[int], float]:
        if len(members) >= self.rules.max_size:
            return members, value
        gains = marginal_gains(self.problem, members)
        free = pool.copy()
        free[members] = False
        candidates = np.flatnonzero(free & (gains > _EPS))
        for c in candidates[np.argsort(-gains[candidates], kind="stable")][:_TRIES_PER_MOVE]:
            trial = [*members, int(c)]
            if self.comp.feasible(trial):
                return trial, value + float(gains[c])
        return members, value

    def _try_remove(self, members: list[int], value: float) -> tuple[list[int], float]:
        if len(members) <= self.rules.min_size:
            return members, value
        fixed = set(self.fixed)
        best: tuple[float, list[int]] | None = None
        for m in members:
            if m in fixed:
                continue
            trial = [x for x in members if x != m]
            trial_value = objective(self.problem, trial)
            improves = trial_value > value + _EPS and (best is None or trial_value > best[0])
            if improves and self.comp.feasible(trial):
                best = (trial_value, trial)
        return (best[1], best[0]) if best else (members, value)

    def _local_search(self, members: list[int], pool: np.ndarray) -> list[int]:
        value = objective(self.problem, members)
        for _ in range(_LOCAL_PASSES):
            start = value
            members, value = self._try_swaps(members, value, pool)
            members, value = self._try_add(members, value, pool)
            members, value = self._try_remove(members, value)
            if value <= start + _EPS:
                break
        return members

    def unmet(self) -> list[Infeasibility]:
        """Explain a failed build from the rules still unmet in the best attempt."""
        checks = [c for c in check_rules(self.problem, self.rules, self.best_attempt) if not c.ok]
        if len(checks) > 1:  # a short attempt is a symptom of the other rules
            checks = [c for c in checks if c.rule != "size"]
        if not checks:
            checks = [RuleCheck("size", False, "no combination of eligible candidates found")]
        names = ", ".join(c.rule for c in checks)
        return [
            Infeasibility(
                check.rule,
                f"no consortium of at most {self.rules.max_size} eligible members meets all "
                f"rules together; the best attempt fails {check.rule}: {check.detail}",
                f"relax one of: {names}, raise max_size, or add candidates that meet several "
                "requirements at once",
            )
            for check in checks
        ]


def _order(problem: Problem, rules: Rules, members: list[int]) -> list[tuple[int, float]]:
    """(member, marginal) with the lead first, then includes, then by contribution."""
    total = objective(problem, members)
    marginal = {m: total - objective(problem, [x for x in members if x != m]) for m in members}
    lead = problem.index_of(rules.lead) if rules.lead is not None else None
    include = {problem.index_of(x) for x in rules.include if problem.has(x)}

    def key(m: int) -> tuple[int, float, int]:
        rank = 0 if m == lead else 1 if m in include else 2
        return rank, -marginal[m], m

    return [(m, marginal[m]) for m in sorted(members, key=key)]


def describe(problem: Problem, rules: Rules, members: Sequence[int]) -> Consortium:
    """The consortium record for a member set (checks included; they may fail here)."""
    ordered = _order(problem, rules, list(dict.fromkeys(int(m) for m in members)))
    chosen = [m for m, _ in ordered]
    coverage = best_coverage(problem, chosen)
    covered_by: list[int | None] = []
    for a in range(problem.coverage.shape[0]):
        if coverage[a] <= 0:
            covered_by.append(None)
        else:
            covered_by.append(max(chosen, key=lambda m: (problem.coverage[a, m], -chosen.index(m))))
    contributions = [
        Contribution(
            member=m,
            aspects=[a for a, by in enumerate(covered_by) if by == m],
            relevance=float(problem.relevance[m]),
            marginal=float(gain),
        )
        for m, gain in ordered
    ]
    return Consortium(
        members=chosen,
        objective=objective(problem, chosen),
        checks=check_rules(problem, rules, chosen),
        coverage=coverage,
        covered_by=covered_by,
        contributions=contributions,
    )


def _ban_sets(
    earlier: list[Consortium], fixed: set[int], min_difference: float
) -> list[frozenset[int]]:
    strongest: set[int] = set()
    weakest: set[int] = set()
    everyone: set[int] = set()
    for cons in earlier:
        own = [c.member for c in cons.contributions if c.member not in fixed]
        own.sort(key=lambda m: -next(c.marginal for c in cons.contributions if c.member == m))
        t = max(1, math.ceil(min_difference * len(own) - _EPS)) if own else 0
        strongest.update(own[:t])
        weakest.update(own[len(own) - t :])
        everyone.update(own)
    sets = [frozenset(strongest), frozenset(weakest), frozenset(everyone)]
    return [s for k, s in enumerate(sets) if s and s not in sets[:k]]


def _next_alternative(
    search: _Search, earlier: list[Consortium], min_difference: float
) -> Consortium | None:
    fixed = set(search.fixed)
    best: Consortium | None = None
    for bans in _ban_sets(earlier, fixed, min_difference):
        members = search.build(bans)
        if members is None:
            continue
        if not all(
            shares_at_most(members, e.members, search.fixed, min_difference) for e in earlier
        ):
            continue
        cons = describe(search.problem, search.rules, members)
        if all_ok(cons.checks) and (best is None or cons.objective > best.objective):
            best = cons
    return best


def build_consortia(
    problem: Problem, rules: Rules, alternatives: int = 3, *, min_difference: float = 0.5
) -> BuildResult:
    """Up to `alternatives` good consortia, best first, or the reasons none exists."""
    if alternatives < 1:
        raise ValueError(f"alternatives must be at least 1, got {alternatives}")
    if not 0.0 <= min_difference <= 1.0:
        raise ValueError(f"min_difference must lie in [0, 1], got {min_difference}")
    infeasible = explain_infeasible(problem, rules)
    if infeasible:
        return BuildResult([], infeasible)
    search = _Search(problem, Compiled.of(problem, rules))
    members = search.build()
    first = describe(problem, rules, members) if members is not None else None
    if first is None or not all_ok(first.checks):
        return BuildResult([], search.unmet())
    consortia = [first]
    while len(consortia) < alternatives:
        nxt = _next_alternative(search, consortia, min_difference)
        if nxt is None:
            break
        consortia.append(nxt)
    consortia.sort(key=lambda c: -c.objective)
    return BuildResult(consortia, [])
