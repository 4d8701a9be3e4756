"""Offline evaluation of a fitted ranker against relevance judgements (benchmarks README).

Pure: rankers, queries and judgements in, numbers out; no files, no database.

Ranking convention, used by every metric and by the scores-out rows: organisations are ordered by
score, highest first; equal scores keep the order of the ranker's `org_ids_` (a stable sort), so
results are reproducible. An organisation scored `-inf` (or NaN) is not ranked at all: it is in no
top k, has no rank for the reciprocal rank and appears in no scores-out row.

Metrics, per call, then averaged over the calls evaluated:
- recall@k: relevant organisations in the top k / all relevant organisations of the call, including
  those that are no candidate at all (no evidence), so the average stays below `ceiling`;
- ndcg@20 with binary gains: DCG of the top 20 / the ideal DCG of min(|relevant|, 20) hits;
- reciprocal rank: 1 / rank of the best-ranked relevant organisation, 0 if none is ranked;
- ceiling: share of the call's relevant organisations that have any evidence.

Lead-conditioned variant (`lead=True`): the call's coordinator is given to the ranker as the lead,
then removed from the candidates (its score set to -inf) and from the relevant set. When a call
has several coordinators (several funded projects), the lead is the first of them, in the order
of the judgements, that is a candidate of the ranker. Calls without such a coordinator, or whose
relevant set becomes empty, are scored without a lead but left out of the metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.base import FitProgress, Ranker
from matcher.documents import Query

ROLES = ("coordinator", "participant")
RECALL_KS = (10, 50, 100)
NDCG_K = 20


@dataclass(frozen=True, eq=False)
class Judgements:
    """Per call: its relevant organisations and, in the order given, its coordinators."""

    relevant: Mapping[str, frozenset[str]]
    coordinators: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_triples(cls, triples: Iterable[tuple[str, str, str]]) -> Judgements:
        """From (call, organisation, role) triples; role is "coordinator" or "participant"."""
        relevant: dict[str, set[str]] = {}
        coordinators: dict[str, list[str]] = {}
        for call, org, role in triples:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} (expected coordinator or participant)")
            relevant.setdefault(call, set()).add(org)
            if role == "coordinator":
                known = coordinators.setdefault(call, [])
                if org not in known:
                    known.append(org)
        return cls(
            relevant={call: frozenset(orgs) for call, orgs in relevant.items()},
            coordinators={call: tuple(orgs) for call, orgs in coordinators.items()},
        )

    def coordinator(self, call: str) -> str | None:
        """The call's first coordinator, if it has one."""
        found = self.coordinators.get(call, ())
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self.relevant)

    def __contains__(self, call: object) -> bool:
        return call in self.relevant


# --- metrics on one ranked list ---------------------------------------------------------------


def _clean(scores: np.ndarray) -> np.ndarray:
    """Float64 scores with NaN turned into -inf (not ranked)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"expected one row of scores, got shape {values.shape}")
    return np.where(np.isnan(values), -np.inf, values)


def rank_order(scores: np.ndarray, top: int | None = None) -> np.ndarray:
    """Indices of the ranked organisations, best first, at most `top` (None: all of them).

    Ties keep index order; -inf and NaN are left out. Uses a partial sort when `top` is small.
    """
    values = _clean(scores)
    n_ranked = int(np.count_nonzero(values > -np.inf))
    k = n_ranked if top is None else min(top, n_ranked)
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    if 4 * k >= n_ranked:
        return np.argsort(-values, kind="stable")[:k]
    part = np.argpartition(-values, k - 1)[:k]
    threshold = values[part].min()  # the k-th best score
    above = np.flatnonzero(values > threshold)
    ties = np.flatnonzero(values == threshold)[: k - above.size]
    chosen = np.sort(np.concatenate([above, ties]))
    return chosen[np.argsort(-values[chosen], kind="stable")]


def relevant_ranks(scores: np.ndarray, relevant: Sequence[int] | np.ndarray) -> np.ndarray:
    """1-based ranks (ascending) of the relevant indices that are ranked; unranked ones are left
    out. Equivalent to looking them up in `rank_order(scores)`, without sorting every row."""
    values = _clean(scores)
    wanted = np.unique(np.asarray(relevant, dtype=np.intp))
    wanted = wanted[values[wanted] > -np.inf]
    if wanted.size == 0:
        return np.zeros(0, dtype=np.int64)
    mine = values[wanted]
    ordered = np.sort(values)
    right = np.searchsorted(ordered, mine, side="right")
    left = np.searchsorted(ordered, mine, side="left")
    ranks = (values.size - right + 1).astype(np.int64)  # 1 + number of better scores
    for i in np.flatnonzero(right - left > 1):  # ties: those with a lower index come first
        ranks[i] += int(np.count_nonzero(values[: wanted[i]] == mine[i]))
    return np.sort(ranks)


def _check(n_relevant: int) -> None:
    if n_relevant < 1:
        raise ValueError("a call needs at least one relevant organisation")


def recall_at_k(ranks: np.ndarray, n_relevant: int, k: int) -> float:
    """Relevant organisations ranked in the top k / all `n_relevant` of the call."""
    _check(n_relevant)
    return int(np.count_nonzero(np.asarray(ranks) <= k)) / n_relevant


def ndcg_at_k(ranks: np.ndarray, n_relevant: int, k: int = NDCG_K) -> float:
    """Binary-gain nDCG@k; the ideal puts min(n_relevant, k) hits first."""
    _check(n_relevant)
    hits = np.asarray(ranks, dtype=np.float64)
    dcg = float(np.sum(1.0 / np.log2(hits[hits <= k] + 1.0)))
    ideal = float(np.sum(1.0 / np.log2(np.arange(1, min(n_relevant, k) + 1) + 1.0)))
    return dcg / ideal


def reciprocal_rank(ranks: np.ndarray) -> float:
    """1 / the rank of the best-ranked relevant organisation; 0 if none is ranked."""
    values = np.asarray(ranks)
    return 1.0 / float(values.min()) if values.size else 0.0


def ceiling(relevant: Iterable[AbstractSet[str]], evidence_orgs: AbstractSet[str]) -> float:
    """Mean over calls of the share of relevant organisations that have any evidence."""
    shares = [len(orgs & evidence_orgs) / len(orgs) for orgs in relevant if orgs]
    return float(np.mean(shares)) if shares else 0.0


# --- a whole run ------------------------------------------------------------------------------


@dataclass(eq=False)
class ScoredQueries:
    """Every query's scores over the ranker's organisations (leads already set to -inf)."""

    query_ids: list[str]
    org_ids: list[str]
    scores: np.ndarray  # (n_queries, n_orgs)
    leads: list[str | None]
    lead: bool  # the lead-conditioned variant

    def rows(self, top: int | None) -> Iterator[tuple[str, str, float]]:
        """(call, organisation, score) of each query's top `top` (None: every ranked one)."""
        for i, query_id in enumerate(self.query_ids):
            row = self.scores[i]
            order = rank_order(row, top)
            for j, score in zip(order.tolist(), row[order].tolist(), strict=True):
                yield query_id, self.org_ids[j], score


@dataclass(eq=False)
class EvalReport:
    method: str
    calls: int  # calls evaluated
    recall_at_10: float
    recall_at_50: float
    recall_at_100: float
    ndcg_at_20: float
    mrr: float
    ceiling: float
    seconds: float = 0.0  # filled by the caller
    lead: bool = False
    top: int | None = 100  # how many rows per query `rows()` gives
    scored: ScoredQueries | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[str, str, float]]:
        if self.scored is not None:
            yield from self.scored.rows(self.top)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "lead": "coordinator" if self.lead else None,
            "calls": self.calls,
            "recall@10": round(self.recall_at_10, 4),
            "recall@50": round(self.recall_at_50, 4),
            "recall@100": round(self.recall_at_100, 4),
            "ndcg@20": round(self.ndcg_at_20, 4),
            "mrr": round(self.mrr, 4),
            "ceiling": round(self.ceiling, 4),
            "seconds": round(self.seconds, 4),
        }


def _lead_for(
    judgements: Judgements | None, call: str, candidates: Mapping[str, int]
) -> str | None:
    if judgements is None:
        return None
    return next((org for org in judgements.coordinators.get(call, ()) if org in candidates), None)


def score_queries(
    ranker: Ranker,
    queries: list[Query],
    judgements: Judgements | None,
    *,
    lead: bool,
    progress: FitProgress | None = None,
) -> ScoredQueries:
    """Score every query with a fitted ranker; with `lead`, each call's coordinator is the lead
    and is removed from the candidates."""
    query_ids = []
    for query in queries:
        if query.id is None:
            raise ValueError(f"query {query.title or query.text[:40]!r} has no id")
        query_ids.append(query.id)
    org_ids = list(ranker.org_ids_)
    index = {org: i for i, org in enumerate(org_ids)}
    leads = [_lead_for(judgements, call, index) if lead else None for call in query_ids]
    raw = ranker.score_many(queries, leads, progress)
    scores = np.array(raw, dtype=np.float64)  # a copy: the leads are blanked out below
    if scores.shape != (len(queries), len(org_ids)):
        raise ValueError(
            f"ranker returned scores of shape {scores.shape}, "
            f"expected {(len(queries), len(org_ids))}"
        )
    for i, chosen in enumerate(leads):
        if chosen is not None:
            scores[i, index[chosen]] = -np.inf
    return ScoredQueries(query_ids, org_ids, scores, leads, lead)


def report(
    scored: ScoredQueries,
    judgements: Judgements,
    *,
    evidence_orgs: AbstractSet[str],
    method: str,
    top: int | None = 100,
) -> EvalReport:
    """The metrics of scored queries; queries without judgements are not evaluated."""
    index = {org: i for i, org in enumerate(scored.org_ids)}
    recalls: dict[int, list[float]] = {k: [] for k in RECALL_KS}
    ndcgs: list[float] = []
    rrs: list[float] = []
    relevant_sets: list[frozenset[str]] = []
    for i, call in enumerate(scored.query_ids):
        relevant = judgements.relevant.get(call, frozenset())
        if scored.lead:
            chosen = scored.leads[i]
            if chosen is None:
                continue
            relevant = relevant - {chosen}
        if not relevant:
            continue
        ranks = relevant_ranks(
            scored.scores[i], np.array([index[o] for o in relevant if o in index], dtype=np.intp)
        )
        for k in RECALL_KS:
            recalls[k].append(recall_at_k(ranks, len(relevant), k))
        ndcgs.append(ndcg_at_k(ranks, len(relevant), NDCG_K))
        rrs.append(reciprocal_rank(ranks))
        relevant_sets.append(relevant)

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else 0.0

    return EvalReport(
        method=method,
        calls=len(rrs),
        recall_at_10=mean(recalls[10]),
        recall_at_50=mean(recalls[50]),
        recall_at_100=mean(recalls[100]),
        ndcg_at_20=mean(ndcgs),
        mrr=mean(rrs),
        ceiling=ceiling(relevant_sets, evidence_orgs),
        lead=scored.lead,
        top=top,
        scored=scored,
    )


def evaluate(
    ranker: Ranker,
    queries: list[Query],
    judgements: Judgements,
    *,
    lead: bool,
    evidence_orgs: AbstractSet[str],
    top: int | None,
    progress: FitProgress | None = None,
    method: str | None = None,
) -> EvalReport:
    """Score `queries` with an already fitted ranker and measure it against `judgements`.

    `method` names it in the report (default: the ranker's class name); `top` is how many rows
    per query the report's `rows()` gives (None: every ranked organisation); `seconds` is left to
    the caller, who knows what the run included.
    """
    scored = score_queries(ranker, queries, judgements, lead=lead, progress=progress)
    name = method or type(ranker).__name__
    return report(scored, judgements, evidence_orgs=evidence_orgs, method=name, top=top)
