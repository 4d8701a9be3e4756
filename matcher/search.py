"""The rankings users ask for, with filters and an explanation for every hit.

- partners for a query (free text or a call), optionally given a consortium lead;
- organisations similar to one organisation;
- calls that fit one organisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from matcher.documents import Query
from matcher.explain import (
    Explanation,
    QueryView,
    best_passage,
    best_projects,
    overlap,
    shared_terms,
)
from matcher.filters import Filters, top_k
from matcher.hybrid import HybridRanker, QueryBatch


class MatchError(ValueError):
    """A request the matcher cannot answer; the message is meant for the user."""


class UnknownOrganisation(MatchError):
    def __init__(self, org_id: str) -> None:
        super().__init__(f"unknown organisation '{org_id}'")
        self.org_id = org_id


class EmptyQuery(MatchError):
    def __init__(self) -> None:
        super().__init__("the query is empty: give some text to search for")


@dataclass(frozen=True)
class Hit:
    """One ranked result: an organisation (or a call) with its score and the reasons."""

    id: str
    name: str
    score: float
    explanation: Explanation


class PartnerSearch:
    """Rankings over a fitted `HybridRanker` (the learned index); holds no other state."""

    def __init__(self, ranker: HybridRanker) -> None:
        self.ranker = ranker
        self.evidence = ranker.evidence_

    def _org(self, org_id: str) -> int:
        try:
            return self.evidence.org_index[org_id]
        except KeyError:
            raise UnknownOrganisation(org_id) from None

    def _view(
        self, query: Query, batch: QueryBatch, sims: dict[str, np.ndarray], j: int
    ) -> QueryView:
        dense = sims["dense"][:, j] if "dense" in sims else None
        lexical = sims["lexical"][:, j] if "lexical" in sims else None
        vectors = batch.passage_vectors[j] if batch.passage_vectors is not None else None
        terms = batch.terms[j] if batch.terms is not None else None
        return QueryView(query, batch.passages[j], vectors, terms, dense, lexical)

    def explain(self, view: QueryView, org: int) -> Explanation:
        ranker, evidence = self.ranker, self.evidence
        projects = best_projects(evidence, view, org)
        docs = evidence.docs_of(org)
        top_vector = None
        if projects and ranker.doc_vectors_ is not None:
            top_doc = next(d for d in docs if evidence.docs[d].id == projects[0].id)
            top_vector = ranker.doc_vectors_[top_doc]
        vocabulary = ranker.vectorizer_.get_feature_names_out() if ranker.vectorizer_ else None
        terms = (
            shared_terms(view, ranker.doc_terms_, docs, vocabulary)
            if vocabulary is not None
            else ()
        )
        countries, themes = overlap(view.query, evidence.orgs[org], evidence, docs)
        passage = best_passage(view, top_vector, terms)
        return Explanation(projects, passage, terms, countries, themes)

    def _hits(
        self, scores: np.ndarray, allowed: np.ndarray, top: int, view: QueryView
    ) -> list[Hit]:
        hits = []
        for org in top_k(scores, allowed, top):
            doc = self.evidence.orgs[org]
            hits.append(
                Hit(doc.id, doc.name, round(float(scores[org]), 4), self.explain(view, org))
            )
        return hits

    def search(
        self,
        query: Query,
        filters: Filters | None = None,
        top: int = 10,
        exclude: Iterable[str] = (),
        lead: str | None = None,
    ) -> list[Hit]:
        """Partners for a call or free text; a `lead` is excluded and boosts its partners."""
        if not query.body().strip():
            raise EmptyQuery
        if lead is not None:
            self._org(lead)
        batch = self.ranker.prepare([query])
        sims = self.ranker.doc_similarities(batch)
        scores = self.ranker.fuse(self.ranker.leg_scores(batch, sims), [lead])[:, 0]
        allowed = (filters or Filters()).mask(self.evidence.orgs)
        for org_id in (*exclude, *([lead] if lead else [])):
            if org_id in self.evidence.org_index:
                allowed[self.evidence.org_index[org_id]] = False
        return self._hits(scores, allowed, top, self._view(query, batch, sims, 0))

    def explain_many(
        self, query: Query, org_ids: Iterable[str], batch: QueryBatch | None = None
    ) -> dict[str, Explanation]:
        """Why each of these organisations fits the query (unknown ids are left out); `batch`
        may hold the query already prepared, as its first entry."""
        orgs = [
            self.evidence.org_index[o]
            for o in dict.fromkeys(org_ids)
            if o in self.evidence.org_index
        ]
        if not orgs:
            return {}
        if batch is None:
            batch = self.ranker.prepare([query])
        view = self._view(query, batch, self.ranker.doc_similarities(batch), 0)
        return {self.evidence.orgs[org].id: self.explain(view, org) for org in orgs}

    def similar(self, org_id: str, filters: Filters | None = None, top: int = 10) -> list[Hit]:
        """Organisations whose evidence resembles this organisation's (itself excluded)."""
        org = self._org(org_id)
        batch = self.ranker.batch_for_orgs([org])
        sims = self.ranker.doc_similarities(batch)
        scores = self.ranker.fuse(self.ranker.leg_scores(batch, sims), [None])[:, 0]
        allowed = (filters or Filters()).mask(self.evidence.orgs)
        allowed[org] = False
        query = Query(
            text=self.evidence.orgs[org].name,
            countries=self.evidence.orgs[org].countries,
            themes=self.evidence.orgs[org].themes,
        )
        return self._hits(scores, allowed, top, self._view(query, batch, sims, 0))

    def calls_for(self, org_id: str, calls: list[Query], top: int = 10) -> list[Hit]:
        """The calls this organisation fits best, each scored as in `search` (relative to all
        organisations), with the projects of the organisation that answer it."""
        org = self._org(org_id)
        if not calls:
            return []
        batch = self.ranker.prepare(calls)
        sims = self.ranker.doc_similarities(batch)
        scores = self.ranker.fuse(self.ranker.leg_scores(batch, sims), [None] * len(calls))[org]
        hits = []
        for j in top_k(scores, np.ones(len(calls), dtype=bool), top):
            call = calls[j]
            explanation = self.explain(self._view(call, batch, sims, j), org)
            hits.append(Hit(call.id or str(j), call.title, round(float(scores[j]), 4), explanation))
        return hits
