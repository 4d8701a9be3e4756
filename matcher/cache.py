"""Where embeddings are kept between runs: any store keyed by (model id, content hash).

The matcher only needs this small protocol; the service layer provides a database-backed store,
tests and one-off runs use `MemoryCache`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np


class VectorCache(Protocol):
    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors stored for those content hashes (missing keys are simply absent)."""
        ...

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None: ...


class MemoryCache:
    """A dict-backed cache; counts what it served so tests can check re-embedding."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, str], np.ndarray] = {}
        self.hits = 0
        self.writes = 0

    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found = {
            key: self._store[(model_id, key)] for key in keys if (model_id, key) in self._store
        }
        self.hits += len(found)
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        for key, vector in vectors.items():
            self._store[(model_id, key)] = np.asarray(vector, dtype=np.float32)
        self.writes += len(vectors)

    def __len__(self) -> int:
        return len(self._store)
