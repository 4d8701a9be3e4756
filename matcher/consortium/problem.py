"""The consortium-building problem: a call's candidate pool and the objective to maximise.

A consortium S (a set of candidate indices) scores

    objective(S) = w.relevance     * sum_{i in S} rel[i]
                 + w.coverage      * sum_a max_{i in S} cov[a, i]
                 - w.redundancy    * sum_{i < j in S} sim[i, j]
                 + w.collaboration * sum_{i in S} log1p(collab[i])
                 + w.diversity     * (distinct HQ countries of S + distinct organisation types of S)

The coverage term is a facility-location function (monotone submodular); the redundancy term is a
negative sum of non-negative pairwise similarities, which keeps the whole submodular (but no longer
monotone). The diversity term is a coverage function over countries and types (monotone
submodular). Relevance and collaboration are modular: `collab[i]` counts past projects shared
with the *fixed* members (lead and includes), never with the members being chosen, so the
greedy's stale marginal gains remain upper bounds.

`marginal_gains` evaluates the gain of adding every candidate at once (numpy, O(aspects * n)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

LMIC_GROUPS = frozenset({"L", "LM", "UM"})
_TOL = 1e-9


@dataclass(frozen=True)
class Candidate:
    """One organisation that may join the consortium."""

    id: str
    name: str
    country: str | None = None  # ISO alpha-2 of the headquarters
    income_group: str | None = None  # World Bank group of the HQ country: L, LM, UM, H or None
    org_type: str | None = None  # ngo, research, public, private, network, multilateral, ...
    region: str | None = None  # World Bank region of the HQ

    @property
    def is_lmic(self) -> bool:
        """Headquartered in a low- or middle-income country (World Bank L, LM or UM)."""
        return (self.income_group or "").strip().upper() in LMIC_GROUPS


@dataclass(frozen=True)
class Weights:
    """Weights of the objective's four terms (all non-negative)."""

    relevance: float = 1.0
    coverage: float = 1.0
    redundancy: float = 0.5
    collaboration: float = 0.1
    diversity: float = 0.0

    def __post_init__(self) -> None:
        for name in ("relevance", "coverage", "redundancy", "collaboration", "diversity"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"weight {name} must be a finite number >= 0, got {value!r}")


def _as_float(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_unit(name: str, array: np.ndarray) -> None:
    if array.size and (array.min() < -_TOL or array.max() > 1 + _TOL):
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{array.min():.3g}, {array.max():.3g}]"
        )


@dataclass
class Problem:
    """One call's candidate pool with everything the objective needs.

    Arrays are converted to float copies; the similarity's diagonal is set to 0 (it is ignored).
    """

    candidates: list[Candidate]
    relevance: np.ndarray  # (n,) relevance of each candidate to the whole call, in [0, 1]
    coverage: np.ndarray  # (n_aspects, n) how well each candidate covers each aspect, in [0, 1]
    similarity: np.ndarray  # (n, n) symmetric profile similarity in [0, 1], diagonal ignored
    aspects: list[str]  # the call's work areas, len == coverage.shape[0]
    collaboration: np.ndarray | None = None  # (n,) shared past projects with the fixed members
    weights: Weights = Weights()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    # per candidate, an integer code of its HQ country and of its type (-1: unknown)
    country_codes: np.ndarray = field(init=False, repr=False, compare=False)
    type_codes: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.candidates)
        self.candidates = list(self.candidates)
        self.aspects = list(self.aspects)
        self.relevance = _as_float("relevance", self.relevance, (n,))
        _check_unit("relevance", self.relevance)
        coverage = np.asarray(self.coverage, dtype=float)
        if coverage.ndim != 2:
            raise ValueError(f"coverage must be 2-D (n_aspects, n), got shape {coverage.shape}")
        self.coverage = _as_float("coverage", coverage, (len(self.aspects), n))
        _check_unit("coverage", self.coverage)
        similarity = _as_float("similarity", self.similarity, (n, n)).copy()
        np.fill_diagonal(similarity, 0.0)
        _check_unit("similarity", similarity)
        if not np.allclose(similarity, similarity.T, atol=1e-6):
            raise ValueError("similarity must be symmetric")
        self.similarity = similarity
        if self.collaboration is not None:
            self.collaboration = _as_float("collaboration", self.collaboration, (n,))
            if self.collaboration.size and self.collaboration.min() < 0:
                raise ValueError("collaboration counts must be >= 0")
        self.country_codes = _codes([c.country for c in self.candidates])
        self.type_codes = _codes([c.org_type for c in self.candidates])
        self._index = {}
        for i, candidate in enumerate(self.candidates):
            if candidate.id in self._index:
                raise ValueError(f"duplicate candidate id {candidate.id!r}")
            self._index[candidate.id] = i

    @property
    def n(self) -> int:
        return len(self.candidates)

    def index_of(self, candidate_id: str) -> int:
        """Index of the candidate with this id (KeyError if unknown)."""
        try:
            return self._index[candidate_id]
        except KeyError:
            raise KeyError(f"unknown candidate id {candidate_id!r}") from None

    def has(self, candidate_id: str) -> bool:
        return candidate_id in self._index

    def modular(self) -> np.ndarray:
        """(n,) the modular part of each candidate's score: relevance and collaboration."""
        w = self.weights
        values = w.relevance * self.relevance
        if self.collaboration is not None and w.collaboration:
            values = values + w.collaboration * np.log1p(self.collaboration)
        return np.asarray(values, dtype=float)


def _codes(values: Sequence[str | None]) -> np.ndarray:
    known = {v: k for k, v in enumerate(sorted({v for v in values if v}))}
    return np.array([known[v] if v else -1 for v in values], dtype=int)


def distinct_count(codes: np.ndarray) -> int:
    """How many different known codes (>= 0)."""
    return len(set(codes[codes >= 0].tolist()))


def _new_code(codes: np.ndarray, members: Sequence[int]) -> np.ndarray:
    """(n,) 1 where a candidate's known code is not among the members' codes yet."""
    taken = np.isin(codes, codes[list(members)]) if len(members) else np.zeros(len(codes), bool)
    return ((codes >= 0) & ~taken).astype(float)


def best_coverage(problem: Problem, members: Sequence[int]) -> np.ndarray:
    """(n_aspects,) the best coverage of each aspect by the members (0 for no members)."""
    if len(members) == 0:
        return np.zeros(problem.coverage.shape[0])
    return np.asarray(problem.coverage[:, list(members)].max(axis=1), dtype=float)


def objective(problem: Problem, members: Sequence[int]) -> float:
    """The consortium objective (see the module docstring); duplicates are counted once."""
    chosen = sorted(set(int(i) for i in members))
    if not chosen:
        return 0.0
    w = problem.weights
    value = float(problem.modular()[chosen].sum())
    value += w.coverage * float(best_coverage(problem, chosen).sum())
    block = problem.similarity[np.ix_(chosen, chosen)]
    value -= w.redundancy * float(np.triu(block, k=1).sum())
    if w.diversity:
        picked = np.array(chosen)
        value += w.diversity * (
            distinct_count(problem.country_codes[picked])
            + distinct_count(problem.type_codes[picked])
        )
    return value


def marginal_gains(problem: Problem, members: Sequence[int]) -> np.ndarray:
    """(n,) objective(S + i) - objective(S) for every candidate i (meaningless for i in S)."""
    w = problem.weights
    gains = problem.modular().copy()
    if len(members):
        best = best_coverage(problem, members)
        lift = np.maximum(problem.coverage - best[:, None], 0.0).sum(axis=0)
        gains += w.coverage * lift
        gains -= w.redundancy * problem.similarity[:, list(members)].sum(axis=1)
    else:
        gains += w.coverage * problem.coverage.sum(axis=0)
    if w.diversity:
        new = _new_code(problem.country_codes, members) + _new_code(problem.type_codes, members)
        gains += w.diversity * new
    return gains
