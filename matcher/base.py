"""The one interface every ranking method implements (scikit-learn style), and its results."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Self

import numpy as np

from matcher.cache import VectorCache
from matcher.documents import Corpus, Query

# progress(stage, done, total): long fits report what they are doing
FitProgress = Callable[[str, int, int], None]


class Ranker(ABC):
    """Ranks the organisations of a corpus for a query.

    `__init__` only stores parameters; `fit` learns from a corpus and sets `org_ids_` (learned
    state ends with `_`); `score` returns one score per organisation of `org_ids_`, higher is
    better.
    """

    org_ids_: list[str]

    @abstractmethod
    def fit(
        self, corpus: Corpus, cache: VectorCache | None = None, progress: FitProgress | None = None
    ) -> Self: ...

    @abstractmethod
    def score(self, query: Query, lead: str | None = None) -> np.ndarray:
        """Scores aligned with `org_ids_`; `lead` names a consortium lead already chosen."""

    def score_many(
        self,
        queries: list[Query],
        leads: list[str | None] | None = None,
        progress: FitProgress | None = None,
    ) -> np.ndarray:
        """(n_queries, n_orgs) scores; methods that embed queries override it to batch them."""
        leads = leads or [None] * len(queries)
        rows = []
        for i, (query, lead) in enumerate(zip(queries, leads, strict=True)):
            rows.append(self.score(query, lead))
            if progress is not None:
                progress("scoring", i + 1, len(queries))
        return np.vstack(rows) if rows else np.zeros((0, len(self.org_ids_)))
