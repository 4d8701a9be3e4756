"""The consortium task on a benchmark: with each call's coordinator as the lead, does the builder
recover the real partners better than the plain ranking's top-k?

For every call whose coordinator has evidence and whose consortium has at least two members, the
builder proposes one consortium of the real consortium's size (the only rules: that size and the
lead), and the ranking proposes its top (size - 1) organisations given the same lead. Both are
scored by precision against the real partners, and by how many distinct HQ countries and
organisation types they bring together (the lead included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.consortium.rules import Rules
from matcher.documents import Query
from matcher.evaluation import Judgements
from matcher.filters import top_k
from matcher.search import PartnerSearch
from matcher.teams import propose_consortia


@dataclass(frozen=True)
class TeamScore:
    precision: float
    countries: int
    types: int


@dataclass
class ConsortiumEvalReport:
    method: str
    calls: int = 0
    skipped: int = 0  # calls without a coordinator with evidence, or with a single member
    infeasible: int = 0
    builder: list[TeamScore] = field(default_factory=list)
    ranking: list[TeamScore] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        def mean(scores: list[TeamScore], name: str) -> float:
            return float(np.mean([getattr(s, name) for s in scores])) if scores else 0.0

        data: dict[str, Any] = {
            "task": "consortium",
            "method": self.method,
            "calls": self.calls,
            "skipped": self.skipped,
            "infeasible": self.infeasible,
        }
        for who, scores in (("builder", self.builder), ("ranking", self.ranking)):
            for name in ("precision", "countries", "types"):
                data[f"{who}_{name}"] = mean(scores, name)
        data["seconds"] = self.seconds
        return data


def _team_score(
    search: PartnerSearch, members: Sequence[str], lead: str, truth: AbstractSet[str]
) -> TeamScore:
    orgs = [search.evidence.orgs[search.evidence.org_index[m]] for m in members]
    partners = [m for m in members if m != lead]
    hits = sum(1 for m in partners if m in truth)
    return TeamScore(
        precision=hits / len(partners) if partners else 0.0,
        countries=len({o.hq_country for o in orgs if o.hq_country}),
        types=len({o.org_type for o in orgs if o.org_type}),
    )


def _ranking_team(search: PartnerSearch, query: Query, lead: str, size: int) -> list[str]:
    ranker, evidence = search.ranker, search.evidence
    batch = ranker.prepare([query])
    scores = ranker.fuse(ranker.leg_scores(batch, ranker.doc_similarities(batch)), [lead])[:, 0]
    allowed = evidence.has_evidence().copy()
    allowed[evidence.org_index[lead]] = False
    return [lead, *(evidence.orgs[i].id for i in top_k(scores, allowed, size - 1))]


def evaluate_consortia(
    search: PartnerSearch,
    queries: Sequence[Query],
    judgements: Judgements,
    *,
    method: str,
    progress: Callable[[int], None] | None = None,
) -> ConsortiumEvalReport:
    started = time.perf_counter()
    report = ConsortiumEvalReport(method)
    for query in queries:
        if progress:
            progress(1)
        truth = judgements.relevant.get(query.id or "", frozenset())
        lead = judgements.coordinator(query.id or "")
        known = {o for o in truth if o in search.evidence.org_index}
        if lead is None or lead not in known or len(truth) < 2:
            report.skipped += 1
            continue
        size = len(truth)
        rules = Rules(min_size=size, max_size=size, lead=lead)
        proposal = propose_consortia(search, query, rules, alternatives=1, explain=False)
        report.calls += 1
        report.ranking.append(
            _team_score(search, _ranking_team(search, query, lead, size), lead, truth)
        )
        if not proposal.result.consortia:
            report.infeasible += 1
            report.builder.append(TeamScore(0.0, 0, 0))
            continue
        best = proposal.result.consortia[0]
        members = [proposal.problem.candidates[i].id for i in best.members]
        report.builder.append(_team_score(search, members, lead, truth))
    report.seconds = time.perf_counter() - started
    return report
