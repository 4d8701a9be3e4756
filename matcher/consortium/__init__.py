"""Consortium building: choose a few partners that together cover a call, under its rules.

See `builder` for the algorithm, `rules` for the rules and infeasibility explanations, `problem`
for the objective, and `exact` for the exhaustive yardstick used in tests and benchmarks.
"""

from matcher.consortium.builder import (
    BuildResult,
    Consortium,
    Contribution,
    build_consortia,
    describe,
    shares_at_most,
)
from matcher.consortium.exact import exact_best
from matcher.consortium.problem import Candidate, Problem, Weights, marginal_gains, objective
from matcher.consortium.rules import (
    Infeasibility,
    RuleCheck,
    Rules,
    check_rules,
    explain_infeasible,
    is_eligible,
)

__all__ = [
    "BuildResult",
    "Candidate",
    "Consortium",
    "Contribution",
    "Infeasibility",
    "Problem",
    "RuleCheck",
    "Rules",
    "Weights",
    "build_consortia",
    "check_rules",
    "describe",
    "exact_best",
    "explain_infeasible",
    "is_eligible",
    "marginal_gains",
    "objective",
    "shares_at_most",
]
