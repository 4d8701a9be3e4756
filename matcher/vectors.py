"""Embed documents passage by passage through a cache: unchanged text is never embedded twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.cache import VectorCache
from matcher.embedders import Encoder, l2_normalise
from matcher.text import passages, text_hash

# progress(done, total): called as batches of new passages are embedded
Progress = Callable[[int, int], None]


@dataclass
class Embedded:
    """Document vectors (mean of their passages, normalised) and each document's passages."""

    vectors: np.ndarray  # (n_docs, dim)
    passages: list[list[str]]
    passage_vectors: list[np.ndarray]  # per document, (n_passages, dim)
    new: int  # passages that had to be embedded (cache misses)


def _split(texts: Sequence[str], max_words: int) -> list[list[str]]:
    return [passages(text, max_words=max_words) or [""] for text in texts]


def _fetch(
    encoder: Encoder,
    unique: list[str],
    cache: VectorCache | None,
    progress: Progress | None,
    batch: int = 256,
) -> tuple[dict[str, np.ndarray], int]:
    keys = {text: text_hash(text) for text in unique}
    found = cache.get_many(encoder.model_id, list(keys.values())) if cache is not None else {}
    todo = [text for text in unique if keys[text] not in found]
    todo.sort(key=len)  # similar lengths batch together: less padding
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        fresh = dict(zip([keys[t] for t in chunk], encoder.encode(chunk), strict=True))
        if cache is not None:
            cache.put_many(encoder.model_id, fresh)
        found.update(fresh)
        if progress is not None:
            progress(min(start + batch, len(todo)), len(todo))
    return {text: found[key] for text, key in keys.items()}, len(todo)


def embed(
    encoder: Encoder,
    texts: Sequence[str],
    cache: VectorCache | None = None,
    progress: Progress | None = None,
) -> Embedded:
    split = _split(texts, encoder.max_words)
    unique = sorted({p for doc in split for p in doc if p})
    by_text, new = _fetch(encoder, unique, cache, progress)
    zero = np.zeros(encoder.dim, dtype=np.float32)
    per_doc = [np.vstack([by_text.get(p, zero) for p in doc]) for doc in split]
    vectors = (
        np.vstack([m.mean(axis=0) for m in per_doc]) if per_doc else np.zeros((0, encoder.dim))
    )
    return Embedded(l2_normalise(vectors), split, per_doc, new)
