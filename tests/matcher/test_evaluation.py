"""The evaluation metrics on tiny rankings computed by hand, and a whole run on a fixed ranker."""

from __future__ import annotations

import math
import time
from typing import Self

import numpy as np
import pytest

from matcher.base import FitProgress, Ranker
from matcher.cache import VectorCache
from matcher.documents import Corpus, Query
from matcher.evaluation import (
    Judgements,
    ceiling,
    evaluate,
    ndcg_at_k,
    rank_order,
    recall_at_k,
    reciprocal_rank,
    relevant_ranks,
    report,
    score_queries,
)

INF = math.inf


def test_rank_order_is_by_score_then_index_and_leaves_out_minus_inf_and_nan() -> None:
    scores = np.array([0.5, 0.9, 0.5, -INF, 0.9, np.nan, 0.1])
    assert rank_order(scores).tolist() == [1, 4, 0, 2, 6]
    assert rank_order(scores, 3).tolist() == [1, 4, 0]
    assert rank_order(scores, 100).tolist() == [1, 4, 0, 2, 6]
    assert rank_order(np.array([-INF, np.nan])).tolist() == []


def test_rank_order_partial_sort_keeps_ties_in_index_order() -> None:
    scores = np.zeros(1000)
    scores[[700, 3, 500]] = 2.0
    scores[[999, 10]] = 1.0
    assert rank_order(scores, 4).tolist() == [3, 500, 700, 10]
    assert rank_order(scores, 7).tolist() == [3, 500, 700, 10, 999, 0, 1]
    everything = rank_order(scores)
    assert everything[:7].tolist() == [3, 500, 700, 10, 999, 0, 1]
    assert len(everything) == 1000


def test_relevant_ranks_match_the_full_ranking() -> None:
    scores = np.array([0.5, 0.9, 0.5, -INF, 0.9, np.nan, 0.1])
    # ranking: 1, 4, 0, 2, 6; index 3 (-inf) and 5 (NaN) are not ranked
    assert relevant_ranks(scores, [0, 2, 3, 5]).tolist() == [3, 4]
    assert relevant_ranks(scores, [6, 4]).tolist() == [2, 5]
    assert relevant_ranks(scores, []).tolist() == []
    rng = np.random.default_rng(7)
    for _ in range(20):
        row = rng.integers(0, 5, size=300).astype(float)  # many ties
        row[rng.integers(0, 300, size=20)] = -INF
        wanted = rng.choice(300, size=15, replace=False)
        order = rank_order(row).tolist()
        expected = sorted(order.index(j) + 1 for j in wanted if j in order)
        assert relevant_ranks(row, wanted).tolist() == expected


def test_recall_counts_every_relevant_organisation_in_the_denominator() -> None:
    ranks = np.array([1, 3, 12])
    assert recall_at_k(ranks, 5, 10) == pytest.approx(2 / 5)
    assert recall_at_k(ranks, 5, 12) == pytest.approx(3 / 5)
    assert recall_at_k(ranks, 3, 100) == 1.0
    assert recall_at_k(np.array([], dtype=int), 4, 10) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(ranks, 0, 10)


def test_ndcg_binary_gains() -> None:
    # hits at ranks 1 and 3 of 3 relevant: (1 + 1/2) / (1 + 1/log2(3) + 1/2)
    expected = 1.5 / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(np.array([1, 3]), 3, 20) == pytest.approx(expected)
    assert ndcg_at_k(np.array([1, 2]), 2, 20) == pytest.approx(1.0)
    # a hit past rank 20 does not count; the ideal is over min(|relevant|, 20) = 20 hits
    ideal_20 = sum(1 / math.log2(i + 1) for i in range(1, 21))
    assert ndcg_at_k(np.array([2, 21]), 30, 20) == pytest.approx((1 / math.log2(3)) / ideal_20)
    assert ndcg_at_k(np.array([], dtype=int), 2, 20) == 0.0


def test_reciprocal_rank_of_the_first_relevant() -> None:
    assert reciprocal_rank(np.array([3, 7])) == pytest.approx(1 / 3)
    assert reciprocal_rank(np.array([1])) == 1.0
    assert reciprocal_rank(np.array([], dtype=int)) == 0.0


def test_ceiling_is_the_mean_share_with_evidence() -> None:
    calls = [frozenset({"a", "b"}), frozenset({"c"}), frozenset({"d", "e", "f", "g"})]
    assert ceiling(calls, {"a", "c", "d"}) == pytest.approx((1 / 2 + 1 + 1 / 4) / 3)
    assert ceiling([], {"a"}) == 0.0


def test_judgements_from_triples() -> None:
    judgements = Judgements.from_triples(
        [
            ("c1", "b", "coordinator"),
            ("c1", "a", "participant"),
            ("c1", "z", "coordinator"),
            ("c1", "a", "participant"),
            ("c2", "x", "participant"),
        ]
    )
    assert judgements.relevant == {"c1": {"a", "b", "z"}, "c2": {"x"}}
    assert judgements.coordinators == {"c1": ("b", "z")}
    assert judgements.coordinator("c1") == "b"
    assert judgements.coordinator("c2") is None
    assert "c2" in judgements and "c3" not in judgements and len(judgements) == 2
    with pytest.raises(ValueError, match="unknown role 'lead'"):
        Judgements.from_triples([("c1", "a", "lead")])


class FixedRanker(Ranker):
    """Scores given per query id; records the leads it was given."""

    def __init__(self, org_ids: list[str], rows: dict[str, list[float]]) -> None:
        self.org_ids_ = org_ids
        self.rows = rows
        self.leads_seen: list[str | None] = []

    def fit(
        self, corpus: Corpus, cache: VectorCache | None = None, progress: FitProgress | None = None
    ) -> Self:
        return self

    def score(self, query: Query, lead: str | None = None) -> np.ndarray:
        self.leads_seen.append(lead)
        assert query.id is not None
        return np.array(self.rows[query.id])


ORGS = ["o1", "o2", "o3", "o4", "o5"]
QUERIES = [Query(text="t", id="c1"), Query(text="t", id="c2"), Query(text="t", id="c3")]
ROWS = {
    "c1": [0.9, 0.8, 0.7, 0.6, -INF],  # ranking o1 o2 o3 o4
    "c2": [0.1, 0.5, 0.5, 0.2, 0.3],  # ranking o2 o3 o5 o4 o1
    "c3": [1.0, 1.0, 1.0, 1.0, 1.0],  # no judgements: not evaluated
}
JUDGEMENTS = Judgements.from_triples(
    [
        ("c1", "o2", "coordinator"),
        ("c1", "o4", "participant"),
        ("c1", "o5", "participant"),  # -inf: not ranked
        ("c1", "nobody", "participant"),  # no evidence, not a candidate
        ("c2", "o1", "participant"),
        ("c2", "o3", "participant"),
    ]
)
EVIDENCE = {"o1", "o2", "o3", "o4", "o5"}


def test_evaluate_averages_over_judged_calls() -> None:
    ranker = FixedRanker(ORGS, ROWS)
    result = evaluate(
        ranker, QUERIES, JUDGEMENTS, lead=False, evidence_orgs=EVIDENCE, top=2, method="fixed"
    )
    assert ranker.leads_seen == [None, None, None]
    assert result.calls == 2
    # c1: relevant o2 (rank 2), o4 (rank 4), o5 (unranked), nobody -> 4 relevant
    # c2: relevant o1 (rank 5), o3 (rank 2) -> 2 relevant
    assert result.recall_at_10 == pytest.approx((2 / 4 + 2 / 2) / 2)
    ndcg_c1 = (1 / math.log2(3) + 1 / math.log2(5)) / (
        1 + 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)
    )
    ndcg_c2 = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert result.ndcg_at_20 == pytest.approx((ndcg_c1 + ndcg_c2) / 2)
    assert result.mrr == pytest.approx(0.5)
    assert result.ceiling == pytest.approx((3 / 4 + 1) / 2)
    assert list(result.rows()) == [
        ("c1", "o1", 0.9),
        ("c1", "o2", 0.8),
        ("c2", "o2", 0.5),
        ("c2", "o3", 0.5),
        ("c3", "o1", 1.0),
        ("c3", "o2", 1.0),
    ]
    data = result.to_json()
    assert set(data) >= {
        "method",
        "calls",
        "recall@10",
        "recall@50",
        "recall@100",
        "ndcg@20",
        "mrr",
        "ceiling",
        "seconds",
    }
    assert data["method"] == "fixed"
    assert data["recall@10"] == 0.75
    assert data["ndcg@20"] == round((ndcg_c1 + ndcg_c2) / 2, 4)


def test_lead_conditioned_removes_the_coordinator_and_skips_calls_without_one() -> None:
    ranker = FixedRanker(ORGS, ROWS)
    result = evaluate(
        ranker, QUERIES, JUDGEMENTS, lead=True, evidence_orgs=EVIDENCE, top=None, method="fixed"
    )
    assert ranker.leads_seen == ["o2", None, None]
    assert result.calls == 1 and result.lead
    # c1 without o2: ranking o1 o3 o4; relevant o4 (rank 3), o5 (unranked), nobody
    assert result.recall_at_10 == pytest.approx(1 / 3)
    assert result.mrr == pytest.approx(1 / 3)
    assert result.ndcg_at_20 == pytest.approx(
        (1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    )
    assert result.ceiling == pytest.approx(2 / 3)
    c1_rows = [row for row in result.rows() if row[0] == "c1"]
    assert [org for _, org, _ in c1_rows] == ["o1", "o3", "o4"]  # neither the lead nor -inf


def test_lead_is_the_first_coordinator_that_is_a_candidate() -> None:
    judgements = Judgements.from_triples(
        [
            ("c1", "ghost", "coordinator"),  # no evidence: cannot be given as the lead
            ("c1", "o3", "coordinator"),
            ("c1", "o4", "participant"),
            ("c2", "o1", "coordinator"),  # the only relevant one: nothing left to find
        ]
    )
    ranker = FixedRanker(ORGS, ROWS)
    scored = score_queries(ranker, QUERIES[:2], judgements, lead=True)
    assert scored.leads == ["o3", "o1"]
    assert scored.scores[0, 2] == -INF and scored.scores[1, 0] == -INF
    result = report(scored, judgements, evidence_orgs=EVIDENCE, method="fixed")
    assert result.calls == 1
    # c1 without o3: relevant ghost (unranked), o4 (rank 3 after o1, o2)
    assert result.recall_at_10 == pytest.approx(1 / 2)
    assert result.mrr == pytest.approx(1 / 3)


def test_metrics_on_a_benchmark_sized_run_are_fast() -> None:
    rng = np.random.default_rng(0)
    n_calls, n_orgs = 328, 19_371
    orgs = [f"org{i}" for i in range(n_orgs)]
    scores = rng.random((n_calls, n_orgs))
    queries = [Query(text="t", id=f"call{i}") for i in range(n_calls)]
    triples = [
        (f"call{i}", f"org{j}", "coordinator" if n == 0 else "participant")
        for i in range(n_calls)
        for n, j in enumerate(rng.choice(n_orgs, size=30, replace=False))
    ]
    judgements = Judgements.from_triples(triples)

    class Matrix(FixedRanker):
        def score_many(
            self,
            queries: list[Query],
            leads: list[str | None] | None = None,
            progress: FitProgress | None = None,
        ) -> np.ndarray:
            return scores

    started = time.perf_counter()
    for lead in (False, True):
        result = evaluate(
            Matrix(orgs, {}),
            queries,
            judgements,
            lead=lead,
            evidence_orgs=set(orgs),
            top=100,
        )
        assert result.calls == n_calls
        assert 0.0 < result.recall_at_100 < 0.05  # random scores: about 100 / 19,371
        assert result.ceiling == 1.0
    assert time.perf_counter() - started < 5.0
