"""Consortium building on small hand-built problems: the objective's trade-offs, the rules, the
alternatives, the explanations of infeasibility, and the builder against the exact search."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.consortium import (
    Candidate,
    Problem,
    Rules,
    Weights,
    build_consortia,
    check_rules,
    exact_best,
    explain_infeasible,
    objective,
    shares_at_most,
)
from matcher.consortium.problem import marginal_gains

COUNTRIES = {"KE": "LM", "SN": "LM", "UG": "L", "BR": "UM", "FR": "H", "DE": "H", "GB": "H"}
TYPES = ["ngo", "research", "public", "private", "network"]


def make_problem(
    candidates: list[Candidate],
    relevance: list[float],
    coverage: list[list[float]],
    similarity: np.ndarray | None = None,
    **kwargs: object,
) -> Problem:
    n = len(candidates)
    sim = np.zeros((n, n)) if similarity is None else similarity
    aspects = [f"aspect {a}" for a in range(len(coverage))]
    return Problem(candidates, np.array(relevance), np.array(coverage), sim, aspects, **kwargs)  # type: ignore[arg-type]


def org(cid: str, country: str = "FR", org_type: str = "ngo") -> Candidate:
    return Candidate(cid, cid.title(), country, COUNTRIES.get(country), org_type)


def random_problem(seed: int, n: int, n_aspects: int = 5) -> Problem:
    rng = np.random.default_rng(seed)
    names = list(COUNTRIES)
    candidates = [
        org(f"o{i}", names[rng.integers(len(names))], TYPES[rng.integers(len(TYPES))])
        for i in range(n)
    ]
    relevance = rng.beta(2, 4, n)
    coverage = np.clip(relevance * rng.uniform(0.2, 1.3, (n_aspects, n)), 0, 1)
    vectors = rng.normal(size=(n, 3))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = np.clip(vectors @ vectors.T, 0, 1)
    return Problem(candidates, relevance, coverage, similarity, [f"a{k}" for k in range(n_aspects)])


def ids(problem: Problem, members: list[int]) -> list[str]:
    return [problem.candidates[i].id for i in members]


@pytest.fixture
def twins() -> Problem:
    """`a` and `b` are near-identical strong candidates; `c`, `d`, `e` each cover another aspect."""
    candidates = [org("a"), org("b"), org("c", "KE"), org("d", "SN", "research"), org("e", "DE")]
    sim = np.zeros((5, 5))
    sim[0, 1] = sim[1, 0] = 0.95
    coverage = [
        [0.9, 0.88, 0.0, 0.0, 0.0],
        [0.9, 0.9, 0.0, 0.0, 0.1],
        [0.0, 0.0, 0.8, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.8, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.5],
    ]
    return make_problem(candidates, [0.9, 0.9, 0.6, 0.6, 0.4], coverage, sim)


# --- objective -----------------------------------------------------------------------------------


def test_objective_terms() -> None:
    problem = make_problem(
        [org("a"), org("b")],
        [0.5, 0.25],
        [[1.0, 0.5], [0.0, 0.5]],
        np.array([[1.0, 0.4], [0.4, 1.0]]),
        collaboration=np.array([0.0, np.e - 1]),
        weights=Weights(relevance=2.0, coverage=1.0, redundancy=0.5, collaboration=0.1),
    )
    assert objective(problem, []) == 0.0
    assert objective(problem, [0]) == pytest.approx(2 * 0.5 + 1.0)
    assert objective(problem, [0, 1]) == pytest.approx(2 * 0.75 + 1.5 - 0.5 * 0.4 + 0.1)
    gains = marginal_gains(problem, [0])
    assert gains[1] == pytest.approx(objective(problem, [0, 1]) - objective(problem, [0]))


def test_coverage_beats_redundancy(twins: Problem) -> None:
    result = build_consortia(twins, Rules(min_size=3, max_size=3), alternatives=1)
    (best,) = result.consortia
    chosen = set(ids(twins, best.members))
    assert len(chosen & {"a", "b"}) == 1
    assert {"c", "d"} <= chosen
    assert best.objective == pytest.approx(exact_best(twins, Rules(min_size=3, max_size=3))[1])  # type: ignore[index]


def test_lead_and_includes_first_excluded_never(twins: Problem) -> None:
    rules = Rules(min_size=3, max_size=4, lead="e", include=frozenset({"b"}), exclude={"a"})  # type: ignore[arg-type]
    result = build_consortia(twins, rules)
    assert result.consortia
    for cons in result.consortia:
        names = ids(twins, cons.members)
        assert names[:2] == ["e", "b"]
        assert "a" not in names
        assert all(check.ok for check in cons.checks)
        rules_seen = {check.rule for check in cons.checks}
        assert {"size", "lead", "include", "exclude"} <= rules_seen


def test_required_types_lmic_and_countries_met() -> None:
    problem = random_problem(3, 30)
    rules = Rules(
        min_size=3,
        max_size=5,
        min_countries=3,
        min_lmic=2,
        required_types={"Research": 1, "public": 1},
        required_countries=frozenset({"ug"}),
    )
    assert rules.required_types == {"research": 1, "public": 1}
    assert rules.required_countries == {"UG"}
    result = build_consortia(problem, rules)
    assert result.consortia and not result.infeasible
    for cons in result.consortia:
        members = [problem.candidates[i] for i in cons.members]
        assert len({c.country for c in members}) >= 3
        assert sum(c.is_lmic for c in members) >= 2
        assert any(c.org_type == "research" for c in members)
        assert any(c.org_type == "public" for c in members)
        assert any(c.country == "UG" for c in members)
        keys = {check.rule for check in cons.checks}
        assert {"countries", "lmic", "type:research", "type:public", "required-countries"} <= keys


def test_allowed_countries_and_regions_filter() -> None:
    problem = random_problem(4, 25)
    rules = Rules(min_size=2, max_size=4, allowed_countries=frozenset({"ke", "sn", "fr"}))
    for cons in build_consortia(problem, rules).consortia:
        assert {problem.candidates[i].country for i in cons.members} <= {"KE", "SN", "FR"}


@pytest.mark.parametrize("min_difference", [0.5, 1.0])
def test_alternatives_differ(min_difference: float) -> None:
    problem = random_problem(7, 40)
    rules = Rules(min_size=3, max_size=5, lead="o0")
    result = build_consortia(problem, rules, alternatives=3, min_difference=min_difference)
    assert len(result.consortia) == 3
    objectives = [c.objective for c in result.consortia]
    assert objectives == sorted(objectives, reverse=True)
    fixed = [problem.index_of("o0")]
    for k, later in enumerate(result.consortia):
        for earlier in result.consortia[:k]:
            own = set(later.members) - set(fixed)
            other = set(earlier.members) - set(fixed)
            assert shares_at_most(later.members, earlier.members, fixed, min_difference)
            assert len(own & other) <= (1 - min_difference) * len(own) + 1e-9


def test_alternatives_stop_when_pool_exhausted(twins: Problem) -> None:
    rules = Rules(min_size=5, max_size=5)
    result = build_consortia(twins, rules, alternatives=3)
    assert len(result.consortia) == 1


def test_contributions_and_coverage_consistent(twins: Problem) -> None:
    (cons,) = build_consortia(twins, Rules(min_size=3, max_size=4), alternatives=1).consortia
    members = cons.members
    expected = twins.coverage[:, members].max(axis=1)
    np.testing.assert_allclose(cons.coverage, expected)
    for a, by in enumerate(cons.covered_by):
        if expected[a] == 0:
            assert by is None
        else:
            assert by in members and twins.coverage[a, by] == expected[a]
    assert [c.member for c in cons.contributions] == members
    for contribution in cons.contributions:
        assert contribution.aspects == [
            a for a, by in enumerate(cons.covered_by) if by == contribution.member
        ]
        assert contribution.relevance == twins.relevance[contribution.member]
        rest = [m for m in members if m != contribution.member]
        assert contribution.marginal == pytest.approx(cons.objective - objective(twins, rest))
    marginals = [c.marginal for c in cons.contributions]
    assert marginals == sorted(marginals, reverse=True)
    assert cons.objective == pytest.approx(objective(twins, members))


# --- infeasibility -------------------------------------------------------------------------------


def assert_explained(problem: Problem, rules: Rules, rule: str) -> None:
    reasons = explain_infeasible(problem, rules)
    assert rule in {r.rule for r in reasons}, reasons
    for reason in reasons:
        assert reason.rule and reason.reason and reason.relax
    result = build_consortia(problem, rules)
    assert result.consortia == [] and result.infeasible == reasons
    assert exact_best(problem, rules) is None


def test_rules_validation() -> None:
    with pytest.raises(ValueError, match="larger than max_size"):
        Rules(min_size=4, max_size=3)
    with pytest.raises(ValueError, match="at least 1"):
        Rules(min_size=0)
    with pytest.raises(ValueError, match="min_lmic"):
        Rules(min_lmic=-1)
    with pytest.raises(ValueError, match="required_types"):
        Rules(required_types={"ngo": -2})


def test_min_above_max_is_explained(twins: Problem) -> None:
    rules = Rules(min_size=2, max_size=3)
    object.__setattr__(rules, "min_size", 4)  # bypassing the constructor's check
    (reason,) = explain_infeasible(twins, rules)
    assert reason.rule == "size" and "larger" in reason.reason and "max_size" in reason.relax


def test_lead_excluded(twins: Problem) -> None:
    assert_explained(twins, Rules(lead="a", exclude=frozenset({"a"})), "lead")


def test_unknown_include(twins: Problem) -> None:
    assert_explained(twins, Rules(include=frozenset({"zz"})), "include")


def test_lead_outside_allowed_countries(twins: Problem) -> None:
    rules = Rules(min_size=1, lead="a", allowed_countries=frozenset({"KE"}))
    assert_explained(twins, rules, "lead")


def test_too_few_lmic(twins: Problem) -> None:
    rules = Rules(min_lmic=3)
    assert_explained(twins, rules, "lmic")
    (reason,) = explain_infeasible(twins, rules)
    assert "only 2 candidates" in reason.reason and "min_lmic to 2" in reason.relax


def test_fixed_members_leave_no_room_for_lmic(twins: Problem) -> None:
    rules = Rules(min_size=2, max_size=3, include=frozenset({"a", "b"}), min_lmic=2)
    assert_explained(twins, rules, "lmic")


def test_type_missing(twins: Problem) -> None:
    assert_explained(twins, Rules(required_types={"multilateral": 1}), "type:multilateral")


def test_types_do_not_fit(twins: Problem) -> None:
    rules = Rules(min_size=1, max_size=2, required_types={"ngo": 2, "research": 1})
    assert_explained(twins, rules, "types")


def test_too_few_countries_reachable(twins: Problem) -> None:
    assert_explained(twins, Rules(min_countries=5, max_size=6), "countries")
    assert_explained(twins, Rules(min_size=2, max_size=2, min_countries=3), "countries")


def test_lmic_members_limit_countries() -> None:
    """Four LMIC members from two LMIC countries plus one other: at most 3 countries of 5."""
    candidates = [org("k1", "KE"), org("k2", "KE"), org("s1", "SN"), org("s2", "SN")]
    candidates += [org("f1", "FR"), org("d1", "DE")]
    problem = make_problem(candidates, [0.5] * 6, [[0.5] * 6])
    rules = Rules(min_size=3, max_size=5, min_lmic=4, min_countries=4)
    assert_explained(problem, rules, "countries")
    assert "LMIC" in explain_infeasible(problem, rules)[0].reason
    assert build_consortia(
        problem, Rules(min_size=3, max_size=5, min_lmic=4, min_countries=3)
    ).consortia


def test_required_country_absent(twins: Problem) -> None:
    assert_explained(twins, Rules(required_countries=frozenset({"BR"})), "required-countries")


def test_pool_too_small(twins: Problem) -> None:
    assert_explained(twins, Rules(min_size=5, exclude=frozenset({"a"})), "size")


def test_infeasible_only_in_combination_is_explained() -> None:
    """Each rule alone can be met with one member, but no single candidate meets both."""
    problem = make_problem(
        [org("kenya-ngo", "KE", "ngo"), org("paris-lab", "FR", "research")],
        [0.5, 0.5],
        [[0.5, 0.5]],
    )
    rules = Rules(min_size=1, max_size=1, min_lmic=1, required_types={"research": 1})
    assert explain_infeasible(problem, rules) == []
    result = build_consortia(problem, rules)
    assert result.consortia == []
    assert {r.rule for r in result.infeasible} & {"lmic", "type:research"}
    assert all(r.reason and r.relax for r in result.infeasible)
    assert exact_best(problem, rules) is None


# --- exact search --------------------------------------------------------------------------------


def test_builder_close_to_exact() -> None:
    ratios = []
    for seed in range(12):
        problem = random_problem(100 + seed, 14)
        rules = Rules(min_size=3, max_size=5, min_countries=2, min_lmic=1, lead="o1")
        exact = exact_best(problem, rules)
        assert exact is not None
        (built,) = build_consortia(problem, rules, alternatives=1).consortia
        assert built.objective <= exact[1] + 1e-9
        ratios.append(built.objective / exact[1])
    assert np.mean(ratios) >= 0.95
    assert min(ratios) >= 0.8


def test_exact_limits_pool_size() -> None:
    with pytest.raises(ValueError, match="limited to 25"):
        exact_best(random_problem(0, 30), Rules())
    assert exact_best(random_problem(0, 30), Rules(allowed_countries=frozenset({"KE"}))) is not None


# --- problem and checks --------------------------------------------------------------------------


def test_problem_validation() -> None:
    cands = [org("a"), org("b")]
    sim = np.zeros((2, 2))
    with pytest.raises(ValueError, match="relevance has shape"):
        Problem(cands, np.zeros(3), np.zeros((1, 2)), sim, ["x"])
    with pytest.raises(ValueError, match="coverage has shape"):
        Problem(cands, np.zeros(2), np.zeros((2, 2)), sim, ["x"])
    with pytest.raises(ValueError, match="coverage must be 2-D"):
        Problem(cands, np.zeros(2), np.zeros(2), sim, ["x"])
    with pytest.raises(ValueError, match="similarity has shape"):
        Problem(cands, np.zeros(2), np.zeros((1, 2)), np.zeros((3, 3)), ["x"])
    with pytest.raises(ValueError, match="symmetric"):
        Problem(cands, np.zeros(2), np.zeros((1, 2)), np.array([[0, 0.2], [0.5, 0]]), ["x"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Problem(cands, np.array([0.5, 1.5]), np.zeros((1, 2)), sim, ["x"])
    with pytest.raises(ValueError, match="collaboration has shape"):
        Problem(cands, np.zeros(2), np.zeros((1, 2)), sim, ["x"], collaboration=np.zeros(3))
    with pytest.raises(ValueError, match="duplicate candidate id"):
        Problem([org("a"), org("a")], np.zeros(2), np.zeros((1, 2)), sim, ["x"])
    problem = Problem(cands, [0.1, 0.2], [[0.3, 0.4]], np.ones((2, 2)), ["x"])  # type: ignore[arg-type]
    assert problem.index_of("b") == 1
    assert problem.similarity[0, 0] == 0.0
    with pytest.raises(KeyError):
        problem.index_of("zz")


def test_check_rules_details(twins: Problem) -> None:
    rules = Rules(min_size=3, max_size=6, min_lmic=1, min_countries=2, lead="a")
    checks = {c.rule: c for c in check_rules(twins, rules, [0, 2, 3, 4])}
    assert checks["size"].ok and checks["size"].detail == "4 members (3-6 allowed)"
    assert checks["lmic"].detail == "2 LMIC members (at least 1)"
    assert checks["countries"].ok and checks["lead"].ok and checks["unique"].ok
    bad = {c.rule: c for c in check_rules(twins, rules, [1, 1])}
    assert not bad["size"].ok and not bad["unique"].ok and not bad["lead"].ok
    assert not bad["lmic"].ok and not bad["countries"].ok
    with pytest.raises(ValueError, match="out of range"):
        check_rules(twins, rules, [9])


def test_diversity_counts_distinct_countries_and_types() -> None:
    candidates = [org("a", "FR", "ngo"), org("b", "FR", "research"), org("c", "KE", "ngo")]
    problem = make_problem(
        candidates, [0.5, 0.5, 0.5], [[0.0, 0.0, 0.0]], weights=Weights(0, 0, 0, 0, diversity=1)
    )
    assert objective(problem, [0, 1]) == 3  # one country, two types
    assert objective(problem, [0, 2]) == 3  # two countries, one type
    assert objective(problem, [0, 1, 2]) == 4
    assert list(marginal_gains(problem, [0])) == [0.0, 1.0, 1.0]


def test_builder_close_to_exact_with_diversity() -> None:
    ratios = []
    weights = Weights(relevance=1, coverage=0.3, redundancy=0.1, collaboration=0, diversity=0.2)
    for seed in range(8):
        base = random_problem(300 + seed, 14)
        problem = Problem(
            base.candidates,
            base.relevance,
            base.coverage,
            base.similarity,
            base.aspects,
            weights=weights,
        )
        rules = Rules(min_size=3, max_size=5, min_countries=2, lead="o1")
        exact = exact_best(problem, rules)
        assert exact is not None
        (built,) = build_consortia(problem, rules, alternatives=1).consortia
        assert built.objective <= exact[1] + 1e-9
        ratios.append(built.objective / exact[1])
    assert np.mean(ratios) >= 0.95
