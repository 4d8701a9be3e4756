"""The embedding cache kept in a database table (`embedding_cache`), for the matcher's protocol.

Works on the application database and on a standalone cache file (the evaluation harness keeps
its vectors there, so that evaluating never touches the application's data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from models.embedding import EmbeddingCache

_TABLE = EmbeddingCache.__table__  # type: ignore[attr-defined]
_BATCH = 500


def embedding_rows(engine: Engine, model_id: str) -> tuple[list[str], np.ndarray]:
    """Every (content hash, vector) stored for one model, hashes sorted."""
    query = (
        select(_TABLE.c.content_hash, _TABLE.c.vector)
        .where(_TABLE.c.model_id == model_id)
        .order_by(_TABLE.c.content_hash)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    vectors = [np.frombuffer(blob, dtype="<f4") for _, blob in rows]
    return [key for key, _ in rows], np.vstack(vectors) if vectors else np.zeros((0, 0))


class SqlVectorCache:
    """Reads and writes vectors through short transactions of their own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def standalone(cls, engine: Engine) -> SqlVectorCache:
        """A cache in a database of its own (creates the one table if needed)."""
        _TABLE.create(engine, checkfirst=True)
        return cls(engine)

    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _BATCH):
                batch = list(keys[start : start + _BATCH])
                rows = conn.execute(
                    select(_TABLE.c.content_hash, _TABLE.c.vector).where(
                        _TABLE.c.model_id == model_id, _TABLE.c.content_hash.in_(batch)
                    )
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype="<f4").copy()
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        now = datetime.now(UTC)
        rows: list[dict[str, object]] = [
            {
                "model_id": model_id,
                "content_hash": key,
                "dim": int(vector.shape[0]),
                "vector": np.asarray(vector, dtype="<f4").tobytes(),
                "created_at": now,
            }
            for key, vector in vectors.items()
        ]
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_TABLE), rows)
        except IntegrityError:  # another process stored some of them first: keep theirs
            known = self.get_many(model_id, [str(row["content_hash"]) for row in rows])
            fresh = [row for row in rows if row["content_hash"] not in known]
            if fresh:
                with self.engine.begin() as conn:
                    conn.execute(insert(_TABLE), fresh)
