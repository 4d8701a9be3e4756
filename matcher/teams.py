"""Consortia for a call: the call's aspects, the candidate pool, the builder and the reasons, in one
call that the service layer, the CLI and the evaluation share."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.aspects import split_aspects
from matcher.consortium.builder import BuildResult, build_consortia
from matcher.consortium.problem import Problem, Weights
from matcher.consortium.rules import Rules
from matcher.documents import Query
from matcher.explain import Explanation
from matcher.filters import Filters
from matcher.pool import POOL_SIZE, per_seat, raw_pool, to_problem
from matcher.search import PartnerSearch

# Chosen with scripts/tune_consortium.py on cordis-he (the consortium task), see the README:
# the redundancy penalty (per seat, see `per_seat`) cost precision there at every weight tried,
# so it is off unless asked for; collaboration with the lead is already part of relevance.
DEFAULT_WEIGHTS = Weights(
    relevance=1.0, coverage=0.3, redundancy=0.0, collaboration=0.0, diversity=0.02
)


@dataclass(frozen=True)
class Proposal:
    query: Query
    rules: Rules
    problem: Problem
    result: BuildResult
    explanations: dict[str, Explanation]  # organisation id -> why it fits the call


def call_aspects(query: Query) -> list[str]:
    """The call's work areas; its title when the text gives none."""
    return split_aspects(query.text, query.title) or [query.title or query.text[:300]]


def propose_consortia(
    search: PartnerSearch,
    query: Query,
    rules: Rules,
    *,
    alternatives: int = 3,
    filters: Filters | None = None,
    pool_size: int = POOL_SIZE,
    explain: bool = True,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Proposal:
    """Up to `alternatives` consortia for the call under the rules, or why there can be none.
    The pool holds at least three candidates per seat (large consortia need large pools)."""
    raw = raw_pool(
        search.ranker,
        query,
        call_aspects(query),
        lead=rules.lead,
        include=sorted(rules.include),
        filters=filters,
        pool_size=max(pool_size, 3 * rules.max_size),
    )
    problem = to_problem(search.ranker, raw, per_seat(weights, rules.max_size))
    result = build_consortia(problem, rules, alternatives)
    members = [problem.candidates[i].id for c in result.consortia for i in c.members]
    explanations = search.explain_many(query, members, raw.batch) if explain else {}
    return Proposal(query, rules, problem, result, explanations)
