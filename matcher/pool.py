"""Candidate pools for the consortium builder: a call and a fitted ranker in, a `Problem` out.

The call is scored as a whole (relevance) and aspect by aspect (coverage) with the same fused
ranker that ranks partners; both are rescaled to [0, 1] over the pool. Redundancy is the cosine
of the candidates' evidence vectors above the pool's typical (median) pairwise cosine, so two
organisations count as redundant only when they are more alike than partners in the field usually
are. Collaboration is the number of past projects shared with the fixed members (lead, includes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from matcher.consortium.problem import Candidate, Problem, Weights
from matcher.documents import OrgDoc, Query
from matcher.filters import Filters
from matcher.hybrid import HybridRanker, QueryBatch

POOL_SIZE = 200


def _unit(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] along the last axis (all equal: all 0)."""
    low = values.min(axis=-1, keepdims=True)
    span = values.max(axis=-1, keepdims=True) - low
    scaled = np.divide(values - low, span, out=np.zeros_like(values), where=span > 0)
    clipped: np.ndarray = np.clip(scaled, 0.0, 1.0)
    return clipped


def candidate(org: OrgDoc) -> Candidate:
    return Candidate(
        id=org.id,
        name=org.name,
        country=org.hq_country,
        income_group=org.income_group,
        org_type=org.org_type,
        region=org.hq_region,
    )


def _scores(
    ranker: HybridRanker, batch: QueryBatch, lead: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """(n_orgs,) fused scores for the call (the batch's first query) given the lead, and
    (n_aspects, n_orgs) for the aspects (the others)."""
    n_aspects = len(batch.passages) - 1
    legs = ranker.leg_scores(batch, ranker.doc_similarities(batch))
    fused = ranker.fuse(legs, [lead] + [None] * n_aspects)  # (n_orgs, 1 + n_aspects)
    finite = np.isfinite(fused)
    floor = np.where(finite, fused, np.inf).min(axis=0) if finite.any() else np.zeros(1 + n_aspects)
    fused = np.where(finite, fused, floor)  # organisations without evidence score lowest
    return fused[:, 0], fused[:, 1:].T


def _pool(scores: np.ndarray, valid: np.ndarray, fixed: Sequence[int], size: int) -> list[int]:
    """The fixed members, then the best-scoring eligible organisations, `size` in all."""
    order = [int(i) for i in np.argsort(-scores, kind="stable") if valid[i]]
    pool = list(dict.fromkeys(fixed))
    for i in order:
        if len(pool) >= size:
            break
        if i not in pool:
            pool.append(i)
    return pool


def _redundancy(vectors: np.ndarray) -> np.ndarray:
    """(n, n) cosine above the median pairwise cosine, rescaled to [0, 1]."""
    cosine = np.clip(vectors @ vectors.T, -1.0, 1.0)
    n = len(cosine)
    if n < 2:
        return np.zeros((n, n))
    upper = cosine[np.triu_indices(n, k=1)]
    base = float(np.median(upper))
    above: np.ndarray = np.clip((cosine - base) / max(1.0 - base, 1e-9), 0.0, 1.0)
    np.fill_diagonal(above, 0.0)
    return above


def _shared_with(ranker: HybridRanker, pool: list[int], fixed: Iterable[int]) -> np.ndarray:
    collab = ranker.collab_
    shared = np.zeros(len(pool))
    for member in fixed:
        row = np.asarray(collab[member].toarray()).ravel()
        shared += row[pool]
    return shared


@dataclass(frozen=True)
class RawPool:
    """A call's candidate pool before rescaling (`to_problem` makes the builder's problem)."""

    pool: list[int]  # organisation indices of the ranker's evidence
    scores: np.ndarray  # (n,) fused scores for the whole call, given the lead
    per_aspect: np.ndarray  # (n_aspects, n) fused scores per aspect
    similarity: np.ndarray  # (n, n) redundancy in [0, 1]
    shared: np.ndarray  # (n,) past projects shared with the fixed members
    aspects: list[str]
    batch: QueryBatch  # the call, then its aspects, as the ranker prepared them (explanations)


def raw_pool(
    ranker: HybridRanker,
    query: Query,
    aspects: Sequence[str],
    *,
    lead: str | None = None,
    include: Iterable[str] = (),
    filters: Filters | None = None,
    pool_size: int = POOL_SIZE,
) -> RawPool:
    """The lead and includes, then the `pool_size` best organisations with evidence that pass
    `filters` (unknown ids are the builder's to report), with their raw scores."""
    evidence = ranker.evidence_
    aspects = list(aspects) or [query.title or query.text[:300]]
    queries = [query, *(Query(text=a, id=f"{query.id}#{i}") for i, a in enumerate(aspects))]
    batch = ranker.prepare(queries)
    scores, per_aspect = _scores(ranker, batch, lead)
    valid = evidence.has_evidence()
    if filters is not None:
        valid = valid & filters.mask(evidence.orgs)
    fixed_ids = [org_id for org_id in (lead, *include) if org_id in evidence.org_index]
    fixed = [evidence.org_index[org_id] for org_id in fixed_ids if org_id is not None]
    pool = _pool(scores, valid, fixed, pool_size)
    vectors = ranker.batch_for_orgs(pool).vectors
    similarity = _redundancy(vectors) if vectors is not None else np.zeros((len(pool), len(pool)))
    return RawPool(
        pool,
        scores[pool],
        per_aspect[:, pool],
        similarity,
        _shared_with(ranker, pool, fixed),
        aspects,
        batch,
    )


def to_problem(ranker: HybridRanker, raw: RawPool, weights: Weights | None = None) -> Problem:
    """Relevance and coverage rescaled to [0, 1] over the pool; candidates with their facts."""
    orgs = ranker.evidence_.orgs
    return Problem(
        candidates=[candidate(orgs[i]) for i in raw.pool],
        relevance=_unit(raw.scores),
        coverage=_unit(raw.per_aspect),
        similarity=raw.similarity,
        aspects=raw.aspects,
        collaboration=raw.shared,
        weights=weights or Weights(),
    )


def per_seat(weights: Weights, max_size: int) -> Weights:
    """`weights` with the redundancy penalty divided by (max_size - 1): a member's average
    redundancy with the others counts, so large consortia are not penalised quadratically."""
    return replace(weights, redundancy=weights.redundancy / max(1, max_size - 1))
