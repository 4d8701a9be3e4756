"""The product's ranker: dense and lexical evidence pooled per organisation, fused with priors.

Legs (each one score per organisation and query, standardised over the organisations with
evidence before fusing):
- `dense`: cosine between the query and each evidence document (sentence encoder), pooled
  per organisation with a soft maximum;
- `call`: cosine between the query and the title of the call each project was funded under
  (past calls resemble new ones more than deliverables do);
- `lexical`: TF-IDF cosine over the same documents, pooled the same way;
- `profile`: TF-IDF cosine to one document per organisation (all its evidence concatenated);
- priors: activity (log number of documents), leadership (log number of projects led), and, when
  a lead is given, collaboration with it (log number of shared projects).
A query's vector is the mean of its passages plus its title (titles name the topic crisply).
The weights and temperatures were chosen by measurement on the dev benchmark (README, "Quality").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.aggregate import soft_max_pool, standardise
from matcher.base import FitProgress, Ranker
from matcher.cache import VectorCache
from matcher.documents import Corpus, Query
from matcher.embedders import Encoder, get_encoder, l2_normalise
from matcher.evidence import Evidence, build_evidence, organisation_texts
from matcher.text import passages as split_passages
from matcher.vectors import Progress, embed

_LARGE_CORPUS = 200  # below this many documents, TF-IDF keeps rare and common terms


@dataclass
class QueryBatch:
    """Queries prepared once: passages with their vectors, query vectors and TF-IDF rows."""

    passages: list[list[str]]
    passage_vectors: list[np.ndarray] | None
    vectors: np.ndarray | None  # (n_queries, dim)
    terms: sp.csr_matrix | None  # (n_queries, vocabulary)
    profile_terms: sp.csr_matrix | None = None  # (n_queries, profile vocabulary)


def _stage(progress: FitProgress | None, stage: str) -> Progress | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


class HybridRanker(Ranker):
    # bumped whenever the learned state changes shape: a saved ranker of another layout is refused
    LAYOUT = 2

    def __init__(
        self,
        encoder: str | None = "minilm",
        lexical: bool = True,
        w_dense: float = 1.0,
        w_call: float = 1.0,
        w_lexical: float = 0.5,
        w_profile: float = 0.5,
        w_activity: float = 0.2,
        w_leads: float = 0.0,
        w_collab: float = 1.0,
        temperature: float = 0.05,
        lexical_temperature: float = 0.02,
    ) -> None:
        self.encoder = encoder
        self.lexical = lexical
        self.w_dense = w_dense
        self.w_call = w_call
        self.w_lexical = w_lexical
        self.w_profile = w_profile
        self.w_activity = w_activity
        self.w_leads = w_leads
        self.w_collab = w_collab
        self.temperature = temperature
        self.lexical_temperature = lexical_temperature

    # ---- fitting -------------------------------------------------------------------------
    def fit(
        self, corpus: Corpus, cache: VectorCache | None = None, progress: FitProgress | None = None
    ) -> Self:
        self.layout_ = self.LAYOUT
        self.evidence_: Evidence = build_evidence(corpus)
        self.org_ids_ = self.evidence_.org_ids
        self.valid_ = self.evidence_.has_evidence()
        self.cache_ = cache
        self.encoder_: Encoder | None = get_encoder(self.encoder) if self.encoder else None
        self.new_passages_ = 0
        self._fit_dense(progress)
        self._fit_lexical()
        self._fit_profiles()
        self.activity_ = np.log1p(self.evidence_.doc_counts())
        self.lead_prior_ = np.log1p(self.evidence_.lead_counts())
        self.collab_ = self.evidence_.collaboration()
        return self

    def _embed(self, texts: list[str], stage: str, progress: FitProgress | None) -> np.ndarray:
        assert self.encoder_ is not None
        done = embed(self.encoder_, texts, self.cache_, _stage(progress, stage))
        self.new_passages_ += done.new
        return done.vectors

    def _fit_dense(self, progress: FitProgress | None) -> None:
        self.doc_vectors_: np.ndarray | None = None
        self.call_vectors_: np.ndarray | None = None
        if self.encoder_ is None:
            return
        docs = self.evidence_.docs
        self.doc_vectors_ = self._embed([doc.body for doc in docs], "documents", progress)
        titles = sorted({doc.call_title for doc in docs if doc.call_title})
        unique = self._embed(titles, "funding calls", progress)
        where = {title: i for i, title in enumerate(titles)}
        calls = np.zeros_like(self.doc_vectors_)
        for i, doc in enumerate(docs):
            if doc.call_title:
                calls[i] = unique[where[doc.call_title]]
        self.call_vectors_ = calls
        self.has_call_ = np.array([bool(doc.call_title) for doc in docs], dtype=bool)

    def _fit_lexical(self) -> None:
        self.vectorizer_: TfidfVectorizer | None = None
        if not self.lexical:
            return
        texts = [f"{doc.body}\n{doc.call_title}" for doc in self.evidence_.docs]
        large = len(texts) >= _LARGE_CORPUS
        self.vectorizer_ = TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            min_df=2 if large else 1,
            max_df=0.5 if large else 1.0,
            dtype=np.float32,
        )
        self.doc_terms_ = self.vectorizer_.fit_transform(texts).tocsr()

    def _fit_profiles(self) -> None:
        self.profile_vectorizer_: TfidfVectorizer | None = None
        if not self.lexical or self.w_profile == 0:
            return
        self.profile_vectorizer_ = TfidfVectorizer(
            sublinear_tf=True, stop_words="english", dtype=np.float32
        )
        texts = organisation_texts(self.evidence_)
        self.profile_terms_ = self.profile_vectorizer_.fit_transform(texts).tocsr()

    # ---- queries -------------------------------------------------------------------------
    def prepare(self, queries: list[Query], progress: FitProgress | None = None) -> QueryBatch:
        bodies = [query.body() for query in queries]
        batch = QueryBatch([split_passages(body) for body in bodies], None, None, None)
        if self.encoder_ is not None:
            done = embed(self.encoder_, bodies, self.cache_, _stage(progress, "queries"))
            titles = embed(self.encoder_, [query.title for query in queries], self.cache_)
            batch.passages, batch.passage_vectors = done.passages, done.passage_vectors
            batch.vectors = l2_normalise(done.vectors + titles.vectors)
        if self.vectorizer_ is not None:
            batch.terms = self.vectorizer_.transform(bodies).tocsr()
        if self.profile_vectorizer_ is not None:
            batch.profile_terms = self.profile_vectorizer_.transform(bodies).tocsr()
        return batch

    def doc_similarities(self, batch: QueryBatch) -> dict[str, np.ndarray]:
        """Per leg, (n_docs, n_queries) similarities of every document to every query."""
        sims: dict[str, np.ndarray] = {}
        if batch.vectors is not None and self.doc_vectors_ is not None:
            assert self.call_vectors_ is not None
            sims["dense"] = self.doc_vectors_ @ batch.vectors.T
            sims["call"] = self.call_vectors_ @ batch.vectors.T
        if batch.terms is not None:
            sims["lexical"] = np.asarray((self.doc_terms_ @ batch.terms.T).toarray())
        return sims

    def leg_scores(
        self, batch: QueryBatch, sims_by_leg: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Per leg, (n_orgs, n_queries) standardised organisation scores."""
        legs = {}
        if batch.profile_terms is not None:
            profile = np.asarray((self.profile_terms_ @ batch.profile_terms.T).toarray())
            legs["profile"] = standardise(profile, self.valid_)
        for name, sims in sims_by_leg.items():
            temperature = self.lexical_temperature if name == "lexical" else self.temperature
            incidence = self.evidence_.incidence
            if name == "call":  # only documents won under a known call say anything here
                if not self.has_call_.any():
                    continue
                incidence, sims = incidence[:, self.has_call_], sims[self.has_call_]
            pooled = soft_max_pool(incidence, sims, temperature)
            legs[name] = standardise(pooled, self.valid_ & np.isfinite(pooled).all(axis=1))
        return legs

    def fuse(self, legs: dict[str, np.ndarray], leads: list[str | None]) -> np.ndarray:
        """(n_orgs, n_queries) final scores: weighted legs plus priors."""
        weights = {
            "dense": self.w_dense,
            "call": self.w_call,
            "lexical": self.w_lexical,
            "profile": self.w_profile,
        }
        total = np.zeros((len(self.org_ids_), len(leads)))
        for name, scores in legs.items():
            total += weights[name] * scores
        total += (self.w_activity * self.activity_ + self.w_leads * self.lead_prior_)[:, None]
        for j, lead in enumerate(leads):
            if lead is not None and lead in self.evidence_.org_index:
                shared = self.collab_[self.evidence_.org_index[lead]].toarray().ravel()
                total[:, j] += self.w_collab * np.log1p(shared)
        return total

    def batch_for_orgs(self, orgs: list[int]) -> QueryBatch:
        """Queries standing for organisations themselves: their evidence, averaged."""
        rows = [self.evidence_.docs_of(org) for org in orgs]
        batch = QueryBatch([[] for _ in orgs], None, None, None)
        if self.doc_vectors_ is not None:
            dim = self.doc_vectors_.shape[1]
            means = [self.doc_vectors_[d].mean(axis=0) if len(d) else np.zeros(dim) for d in rows]
            batch.vectors = l2_normalise(np.vstack(means))
        if self.vectorizer_ is not None:
            width = self.doc_terms_.shape[1]
            parts = [
                sp.csr_matrix(self.doc_terms_[d].mean(axis=0))
                if len(d)
                else sp.csr_matrix((1, width), dtype=np.float32)
                for d in rows
            ]
            batch.terms = sp.vstack(parts).tocsr()
        if self.profile_vectorizer_ is not None:
            batch.profile_terms = self.profile_terms_[orgs]
        return batch

    # ---- the Ranker interface ---------------------------------------------------------------
    def score_many(
        self,
        queries: list[Query],
        leads: list[str | None] | None = None,
        progress: FitProgress | None = None,
    ) -> np.ndarray:
        leads = leads or [None] * len(queries)
        batch = self.prepare(queries, progress)
        legs = self.leg_scores(batch, self.doc_similarities(batch))
        scores: np.ndarray = self.fuse(legs, leads).T
        return scores

    def score(self, query: Query, lead: str | None = None) -> np.ndarray:
        scores: np.ndarray = self.score_many([query], [lead])[0]
        return scores
