"""Consortium rules: the exact checker, the pre-build infeasibility explanations, and the
compiled lower-bound bookkeeping that the builder uses to stay completable.

Rules are of two kinds. *Filters* (allowed countries/regions, exclude) decide which candidates are
eligible at all; *lower bounds* (min_size, min_countries, required countries, min_lmic, required
types) only ever get easier as members are added. Fixed members (lead + include) must be eligible.

`Compiled.lower_bound(members)` is the number of further members any feasible superset still needs:
the max of the new countries needed, LMIC members needed, and the *sum* of the per-type needs
(each member has a single type, so type needs cannot share a member). It is a valid lower bound,
which is what makes the builder's admissibility test and `explain_infeasible` sound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.consortium.problem import Candidate, Problem


def _upper(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().upper() for v in values if v and v.strip())


def _fold(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values if v and v.strip())


def _country(candidate: Candidate) -> str | None:
    return candidate.country.strip().upper() if candidate.country else None


def _org_type(candidate: Candidate) -> str | None:
    return candidate.org_type.strip().lower() if candidate.org_type else None


def _region(candidate: Candidate) -> str | None:
    return candidate.region.strip().casefold() if candidate.region else None


@dataclass(frozen=True)
class Rules:
    """What a consortium must satisfy. Countries are upper-cased, types lower-cased, regions are
    compared case-insensitively. Zero-valued type requirements are dropped."""

    min_size: int = 3
    max_size: int = 6
    min_countries: int = 0
    allowed_countries: frozenset[str] = frozenset()
    allowed_regions: frozenset[str] = frozenset()
    required_countries: frozenset[str] = frozenset()
    min_lmic: int = 0
    required_types: Mapping[str, int] = field(default_factory=dict)
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    lead: str | None = None

    def __post_init__(self) -> None:
        if self.min_size < 1:
            raise ValueError(f"min_size must be at least 1, got {self.min_size}")
        if self.min_size > self.max_size:
            raise ValueError(
                f"min_size ({self.min_size}) is larger than max_size ({self.max_size})"
            )
        for name in ("min_countries", "min_lmic"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        types: dict[str, int] = {}
        for key, count in dict(self.required_types).items():
            if count < 0:
                raise ValueError(f"required_types[{key!r}] must be >= 0, got {count}")
            norm = key.strip().lower()
            if norm and count:
                types[norm] = max(types.get(norm, 0), int(count))
        object.__setattr__(self, "required_types", types)
        object.__setattr__(self, "allowed_countries", _upper(self.allowed_countries))
        object.__setattr__(self, "required_countries", _upper(self.required_countries))
        object.__setattr__(
            self, "allowed_regions", frozenset(r.strip() for r in self.allowed_regions if r.strip())
        )
        object.__setattr__(self, "include", frozenset(self.include))
        object.__setattr__(self, "exclude", frozenset(self.exclude))

    def fixed_ids(self) -> list[str]:
        """Lead first, then the includes (sorted), without duplicates."""
        rest = sorted(self.include - {self.lead})
        return ([self.lead] if self.lead is not None else []) + rest


@dataclass(frozen=True)
class RuleCheck:
    rule: str  # size, countries, allowed-countries, ..., type:ngo, include, exclude, lead, unique
    ok: bool
    detail: str  # human readable, e.g. "4 members (3-6 allowed)"


@dataclass(frozen=True)
class Infeasibility:
    rule: str
    reason: str  # why it cannot be met
    relax: str  # what would make it possible


def is_eligible(candidate: Candidate, rules: Rules) -> bool:
    """Passes the filters: not excluded, in an allowed country and an allowed region."""
    if candidate.id in rules.exclude:
        return False
    if rules.allowed_countries and _country(candidate) not in rules.allowed_countries:
        return False
    return not rules.allowed_regions or _region(candidate) in _fold(rules.allowed_regions)


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def _resolve(problem: Problem, members: Sequence[int]) -> list[int]:
    out = [int(i) for i in members]
    for i in out:
        if not 0 <= i < problem.n:
            raise ValueError(f"member index {i} is out of range for {problem.n} candidates")
    return out


def check_rules(problem: Problem, rules: Rules, members: Sequence[int]) -> list[RuleCheck]:
    """Check every rule that applies to these members, exactly."""
    chosen = _resolve(problem, members)
    cands = [problem.candidates[i] for i in chosen]
    ids = {c.id for c in cands}
    size = len(set(chosen))
    checks = [
        RuleCheck(
            "size",
            rules.min_size <= size <= rules.max_size,
            f"{_plural(size, 'member')} ({rules.min_size}-{rules.max_size} allowed)",
        ),
        RuleCheck(
            "unique",
            size == len(chosen),
            "no duplicates" if size == len(chosen) else f"{len(chosen) - size} duplicated",
        ),
    ]
    countries = {c for c in map(_country, cands) if c}
    if rules.min_countries:
        checks.append(
            RuleCheck(
                "countries",
                len(countries) >= rules.min_countries,
                f"{_plural(len(countries), 'country')} (at least {rules.min_countries})",
            )
        )
    if rules.allowed_countries:
        out = sorted({c.id for c in cands if _country(c) not in rules.allowed_countries})
        detail = "all members in allowed countries" if not out else f"outside: {', '.join(out)}"
        checks.append(RuleCheck("allowed-countries", not out, detail))
    if rules.allowed_regions:
        regions = _fold(rules.allowed_regions)
        out = sorted({c.id for c in cands if _region(c) not in regions})
        detail = "all members in allowed regions" if not out else f"outside: {', '.join(out)}"
        checks.append(RuleCheck("allowed-regions", not out, detail))
    if rules.required_countries:
        missing = sorted(rules.required_countries - countries)
        detail = "all present" if not missing else f"missing: {', '.join(missing)}"
        checks.append(RuleCheck("required-countries", not missing, detail))
    if rules.min_lmic:
        lmic = sum(c.is_lmic for c in cands)
        checks.append(
            RuleCheck(
                "lmic",
                lmic >= rules.min_lmic,
                f"{_plural(lmic, 'LMIC member')} (at least {rules.min_lmic})",
            )
        )
    for org_type, need in sorted(rules.required_types.items()):
        have = sum(_org_type(c) == org_type for c in cands)
        checks.append(
            RuleCheck(
                f"type:{org_type}",
                have >= need,
                f"{have} of type {org_type} (at least {need})",
            )
        )
    if rules.include:
        missing = sorted(rules.include - ids)
        detail = "all included" if not missing else f"missing: {', '.join(missing)}"
        checks.append(RuleCheck("include", not missing, detail))
    if rules.exclude:
        present = sorted(rules.exclude & ids)
        detail = "none present" if not present else f"present: {', '.join(present)}"
        checks.append(RuleCheck("exclude", not present, detail))
    if rules.lead is not None:
        ok = rules.lead in ids
        checks.append(RuleCheck("lead", ok, f"{rules.lead} {'is' if ok else 'is not'} a member"))
    return checks


def all_ok(checks: Iterable[RuleCheck]) -> bool:
    return all(check.ok for check in checks)


@dataclass
class Compiled:
    """Rules compiled against one problem: integer codes and fast lower-bound bookkeeping."""

    problem: Problem
    rules: Rules
    eligible: np.ndarray  # (n,) bool, filters passed
    fixed: list[int]  # lead first, then includes; only known ids
    country: np.ndarray  # (n,) int code, -1 when unknown
    lmic: np.ndarray  # (n,) bool
    org_type: np.ndarray  # (n,) int code into `type_names`, -1 when not a required type
    type_names: list[str]
    type_needs: np.ndarray  # (n_types,) required counts
    required: frozenset[int]  # country codes of required countries present in the pool
    required_absent: frozenset[str]  # required countries no candidate at all is HQ'd in
    country_names: list[str]

    @classmethod
    def of(cls, problem: Problem, rules: Rules) -> Compiled:
        names: dict[str, int] = {}
        codes = np.full(problem.n, -1, dtype=int)
        for i, cand in enumerate(problem.candidates):
            code = _country(cand)
            if code:
                codes[i] = names.setdefault(code, len(names))
        type_names = sorted(rules.required_types)
        type_index = {t: k for k, t in enumerate(type_names)}
        types = np.array(
            [type_index.get(_org_type(c) or "", -1) for c in problem.candidates], dtype=int
        )
        return cls(
            problem=problem,
            rules=rules,
            eligible=np.array([is_eligible(c, rules) for c in problem.candidates], dtype=bool),
            fixed=[problem.index_of(x) for x in rules.fixed_ids() if problem.has(x)],
            country=codes,
            lmic=np.array([c.is_lmic for c in problem.candidates], dtype=bool),
            org_type=types,
            type_names=type_names,
            type_needs=np.array([rules.required_types[t] for t in type_names], dtype=int),
            required=frozenset(names[c] for c in rules.required_countries if c in names),
            required_absent=frozenset(c for c in rules.required_countries if c not in names),
            country_names=list(names),
        )

    def deficits(self, members: Iterable[int]) -> tuple[int, int, int, np.ndarray]:
        """(new countries needed, LMIC needed, total type need, per-type need) for the members."""
        countries: set[int] = set()
        lmic = 0
        have = np.zeros(len(self.type_names), dtype=int)
        for i in members:
            if self.country[i] >= 0:
                countries.add(int(self.country[i]))
            lmic += bool(self.lmic[i])
            if self.org_type[i] >= 0:
                have[self.org_type[i]] += 1
        missing_required = len(self.required - countries) + len(self.required_absent)
        need_countries = max(self.rules.min_countries - len(countries), missing_required, 0)
        need_lmic = max(self.rules.min_lmic - lmic, 0)
        need_types = np.maximum(self.type_needs - have, 0)
        return need_countries, need_lmic, int(need_types.sum()), need_types

    def lower_bound(self, members: Iterable[int]) -> int:
        """Members still needed by the lower-bound rules (0 when they are all met)."""
        countries, lmic, types, _ = self.deficits(members)
        return max(countries, lmic, types)

    def feasible(self, members: Sequence[int]) -> bool:
        """Fast equivalent of all_ok(check_rules(...)) for sets of eligible candidates that
        contain the fixed members."""
        size = len(members)
        return self.rules.min_size <= size <= self.rules.max_size and not self.lower_bound(members)

    def lower_bound_after(self, members: Sequence[int]) -> np.ndarray:
        """(n,) lower_bound(members + [i]) for every candidate i, vectorised."""
        countries = {int(self.country[i]) for i in members if self.country[i] >= 0}
        lmic = int(self.lmic[list(members)].sum()) if len(members) else 0
        _, _, _, need_types = self.deficits(members)
        new_country = (self.country >= 0) & ~np.isin(self.country, list(countries))
        in_required = np.isin(self.country, list(self.required - countries)) & new_country
        missing_required = len(self.required - countries) + len(self.required_absent)
        need_countries = np.maximum(
            np.maximum(self.rules.min_countries - len(countries) - new_country, 0),
            missing_required - in_required,
        )
        need_lmic = np.maximum(self.rules.min_lmic - lmic - self.lmic, 0)
        total = int(need_types.sum())
        helps_type = np.zeros(self.problem.n, dtype=bool)
        has_type = self.org_type >= 0
        helps_type[has_type] = need_types[self.org_type[has_type]] > 0
        need_types_after = total - helps_type
        return np.asarray(np.maximum(np.maximum(need_countries, need_lmic), need_types_after))


def _fixed_infeasibilities(problem: Problem, rules: Rules) -> list[Infeasibility]:
    out: list[Infeasibility] = []
    roles = [("lead", x) for x in ([rules.lead] if rules.lead is not None else [])]
    roles += [("include", x) for x in sorted(rules.include - {rules.lead})]
    for rule, cid in roles:
        what = "the lead" if rule == "lead" else "included candidate"
        if not problem.has(cid):
            out.append(
                Infeasibility(
                    rule,
                    f"{what} {cid!r} is not among the candidates",
                    f"add {cid!r} to the candidate pool or drop it from {rule}",
                )
            )
            continue
        cand = problem.candidates[problem.index_of(cid)]
        if cid in rules.exclude:
            out.append(
                Infeasibility(
                    rule,
                    f"{what} {cid!r} is also excluded",
                    f"remove {cid!r} from exclude or from {rule}",
                )
            )
        if rules.allowed_countries and _country(cand) not in rules.allowed_countries:
            out.append(
                Infeasibility(
                    rule,
                    f"{what} {cid!r} is headquartered in {cand.country or 'an unknown country'}, "
                    f"outside the allowed countries ({', '.join(sorted(rules.allowed_countries))})",
                    f"allow {cand.country or 'its country'} or drop {cid!r} from {rule}",
                )
            )
        if rules.allowed_regions and _region(cand) not in _fold(rules.allowed_regions):
            out.append(
                Infeasibility(
                    rule,
                    f"{what} {cid!r} is in region {cand.region or 'unknown'}, outside the allowed "
                    f"regions ({', '.join(sorted(rules.allowed_regions))})",
                    f"allow its region or drop {cid!r} from {rule}",
                )
            )
    return out


def explain_infeasible(problem: Problem, rules: Rules) -> list[Infeasibility]:
    """Necessary conditions for a consortium to exist; every entry proves infeasibility.

    Empty does not guarantee feasibility (the builder reports what it could not meet).
    """
    if rules.min_size > rules.max_size:  # Rules rejects this; kept for hand-altered instances
        return [
            Infeasibility(
                "size",
                f"min_size {rules.min_size} is larger than max_size {rules.max_size}",
                f"raise max_size to {rules.min_size} or lower min_size to {rules.max_size}",
            )
        ]
    out = _fixed_infeasibilities(problem, rules)
    comp = Compiled.of(problem, rules)
    fixed = sorted(set(comp.fixed))
    slots = rules.max_size - len(fixed)
    if len(fixed) > rules.max_size:
        out.append(
            Infeasibility(
                "size",
                f"{len(fixed)} fixed members (lead and includes) but at most "
                f"{rules.max_size} allowed",
                f"raise max_size to {len(fixed)} or include fewer candidates",
            )
        )
    pool = comp.eligible.copy()
    pool[fixed] = True
    others = pool.copy()
    others[fixed] = False
    n_pool = int(pool.sum())
    if n_pool < rules.min_size:
        out.append(
            Infeasibility(
                "size",
                f"only {_plural(n_pool, 'candidate')} eligible; at least {rules.min_size} required",
                f"lower min_size to {max(n_pool, 1)}, relax exclude/allowed countries or regions, "
                "or add candidates",
            )
        )
    if slots < 0:
        return out
    out += _country_infeasibilities(comp, pool, others, fixed, slots)
    out += _lmic_infeasibilities(comp, pool, fixed, slots)
    out += _type_infeasibilities(comp, pool, fixed, slots)
    return out


def _country_infeasibilities(
    comp: Compiled, pool: np.ndarray, others: np.ndarray, fixed: list[int], slots: int
) -> list[Infeasibility]:
    rules = comp.rules
    out: list[Infeasibility] = []
    pool_countries = {int(c) for c in comp.country[pool] if c >= 0}
    missing = sorted(
        {comp.country_names[c] for c in comp.required - pool_countries} | comp.required_absent
    )
    if missing:
        out.append(
            Infeasibility(
                "required-countries",
                f"no eligible candidate is headquartered in {', '.join(missing)}",
                f"drop {', '.join(missing)} from the required countries, relax the filters, "
                "or add candidates from there",
            )
        )
    fixed_countries = {int(comp.country[i]) for i in fixed if comp.country[i] >= 0}
    new_countries = {int(c) for c in comp.country[others] if c >= 0} - fixed_countries
    reachable = len(fixed_countries) + min(slots, len(new_countries))
    if rules.min_countries > reachable:
        if len(pool_countries) < rules.min_countries:
            reason = (
                f"eligible candidates are headquartered in only "
                f"{_plural(len(pool_countries), 'country')}; {rules.min_countries} required"
            )
        else:
            reason = (
                f"at most {_plural(reachable, 'country')} can be reached with "
                f"{rules.max_size} members; {rules.min_countries} required"
            )
        out.append(
            Infeasibility(
                "countries",
                reason,
                f"lower min_countries to {reachable}, raise max_size, or add candidates "
                "from other countries",
            )
        )
    if rules.min_countries <= reachable and rules.min_lmic:
        out += _lmic_country_infeasibility(comp, pool)
    missing_required = len(comp.required - fixed_countries) + len(comp.required_absent)
    if not missing and missing_required > slots:
        out.append(
            Infeasibility(
                "required-countries",
                f"{missing_required} required countries still missing after the fixed members "
                f"but only {_plural(slots, 'slot')} left",
                "raise max_size or require fewer countries",
            )
        )
    return out


def _lmic_country_infeasibility(comp: Compiled, pool: np.ndarray) -> list[Infeasibility]:
    """LMIC members come from LMIC countries only: with L >= min_lmic LMIC members among at most
    max_size, at most min(L, LMIC countries) + min(max_size - L, other countries) countries."""
    rules = comp.rules
    lmic_countries = {int(c) for c in comp.country[pool & comp.lmic] if c >= 0}
    other_countries = {int(c) for c in comp.country[pool & ~comp.lmic] if c >= 0}
    size = rules.max_size
    reachable = max(
        (
            min(lmic, len(lmic_countries)) + min(size - lmic, len(other_countries))
            for lmic in range(min(rules.min_lmic, size), size + 1)
        ),
        default=0,
    )
    if reachable >= rules.min_countries:
        return []
    return [
        Infeasibility(
            "countries",
            f"with at least {_plural(rules.min_lmic, 'LMIC member')} among {size}, at most "
            f"{_plural(reachable, 'country')} can be reached (eligible LMIC candidates come from "
            f"{_plural(len(lmic_countries), 'country')}); {rules.min_countries} required",
            f"lower min_countries to {reachable}, lower min_lmic, raise max_size, or add LMIC "
            "candidates from other countries",
        )
    ]


def _lmic_infeasibilities(
    comp: Compiled, pool: np.ndarray, fixed: list[int], slots: int
) -> list[Infeasibility]:
    need = comp.rules.min_lmic
    if not need:
        return []
    available = int((pool & comp.lmic).sum())
    fixed_lmic = int(comp.lmic[fixed].sum()) if fixed else 0
    reachable = min(available, fixed_lmic + slots)
    if reachable >= need:
        return []
    if available < need:
        reason = (
            f"only {_plural(available, 'candidate')} eligible "
            f"{'is' if available == 1 else 'are'} headquartered in a low- or middle-income "
            f"country; {need} required"
        )
    else:
        reason = (
            f"the fixed members leave room for at most {_plural(reachable, 'LMIC member')}; "
            f"{need} required"
        )
    return [Infeasibility("lmic", reason, f"lower min_lmic to {reachable}, or add LMIC candidates")]


def _type_infeasibilities(
    comp: Compiled, pool: np.ndarray, fixed: list[int], slots: int
) -> list[Infeasibility]:
    out: list[Infeasibility] = []
    fixed_have = np.zeros(len(comp.type_names), dtype=int)
    for i in fixed:
        if comp.org_type[i] >= 0:
            fixed_have[comp.org_type[i]] += 1
    short = False
    for k, name in enumerate(comp.type_names):
        need = int(comp.type_needs[k])
        available = int((pool & (comp.org_type == k)).sum())
        if available < need:
            short = True
            out.append(
                Infeasibility(
                    f"type:{name}",
                    f"only {_plural(available, 'eligible candidate')} of type {name}; "
                    f"{need} required",
                    f"lower the {name} requirement to {available}, or add {name} candidates",
                )
            )
    remaining = np.maximum(comp.type_needs - fixed_have, 0)
    if not short and int(remaining.sum()) > slots:
        parts = ", ".join(
            f"{int(r)} {n}" for n, r in zip(comp.type_names, remaining, strict=True) if r
        )
        out.append(
            Infeasibility(
                "types",
                f"the required types still need {int(remaining.sum())} members ({parts}) but "
                f"only {_plural(slots, 'slot')} left after the fixed members",
                f"raise max_size to {len(fixed) + int(remaining.sum())} or require fewer types",
            )
        )
    return out
