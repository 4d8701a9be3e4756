"""Reference rankers the product is measured against (see the benchmark's README).

- `OrgTfidf`: one concatenated document per organisation, scikit-learn TF-IDF with sublinear tf and
  English stop words, cosine to the query; optionally plus a small popularity prior.
- `Popularity`: log of the number of projects, the same for every query.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.base import FitProgress, Ranker
from matcher.cache import VectorCache
from matcher.documents import Corpus, Query
from matcher.evidence import build_evidence, organisation_texts


class OrgTfidf(Ranker):
    def __init__(self, w_popularity: float = 0.0) -> None:
        self.w_popularity = w_popularity

    def fit(
        self, corpus: Corpus, cache: VectorCache | None = None, progress: FitProgress | None = None
    ) -> Self:
        evidence = build_evidence(corpus)
        self.org_ids_ = evidence.org_ids
        self.vectorizer_ = TfidfVectorizer(
            sublinear_tf=True, stop_words="english", dtype=np.float32
        )
        self.org_terms_ = self.vectorizer_.fit_transform(organisation_texts(evidence)).tocsr()
        self.popularity_ = np.log1p(evidence.doc_counts())
        return self

    def score_many(
        self,
        queries: list[Query],
        leads: list[str | None] | None = None,
        progress: FitProgress | None = None,
    ) -> np.ndarray:
        terms = self.vectorizer_.transform([query.body() for query in queries])
        scores = np.asarray((terms @ self.org_terms_.T).toarray(), dtype=np.float64)
        result: np.ndarray = scores + self.w_popularity * self.popularity_[None, :]
        return result

    def score(self, query: Query, lead: str | None = None) -> np.ndarray:
        result: np.ndarray = self.score_many([query])[0]
        return result


class Popularity(Ranker):
    def fit(
        self, corpus: Corpus, cache: VectorCache | None = None, progress: FitProgress | None = None
    ) -> Self:
        evidence = build_evidence(corpus)
        self.org_ids_ = evidence.org_ids
        self.popularity_ = np.log1p(evidence.doc_counts())
        return self

    def score(self, query: Query, lead: str | None = None) -> np.ndarray:
        result: np.ndarray = self.popularity_.astype(np.float64)
        return result
