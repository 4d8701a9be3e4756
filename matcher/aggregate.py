"""From document scores to organisation scores, and per-query normalisation of a leg."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def soft_max_pool(
    incidence: sp.csr_matrix, doc_scores: np.ndarray, temperature: float
) -> np.ndarray:
    """temperature · log Σ exp(score / temperature) over each organisation's documents.

    A small temperature approaches the best document's score; a large one rewards having many
    good documents. Organisations without documents get -inf. Works on (n_docs,) or
    (n_docs, n_queries) scores.
    """
    scores = np.asarray(doc_scores, dtype=np.float64)
    counts = np.diff(incidence.indptr)
    out = np.full((incidence.shape[0], *scores.shape[1:]), -np.inf)
    has = counts > 0
    if not has.any():
        return out
    values = scores[incidence.indices]  # one row per (organisation, document), by organisation
    starts = incidence.indptr[:-1][has]
    best = np.maximum.reduceat(values, starts, axis=0)  # each organisation's own maximum
    owner_best = np.repeat(best, counts[has], axis=0)
    summed = np.add.reduceat(np.exp((values - owner_best) / temperature), starts, axis=0)
    out[has] = best + temperature * np.log(summed)
    return out


def standardise(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """z-scores over the organisations that have evidence; the others get the lowest value.

    Columns are queries when `scores` is 2-D.
    """
    out = np.array(scores, dtype=np.float64)
    picked = out[valid]
    if picked.size == 0:
        return np.zeros_like(out)
    mean = picked.mean(axis=0)
    std = picked.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    out = (out - mean) / std
    floor = ((picked - mean) / std).min(axis=0)
    out[~valid] = floor if np.ndim(floor) == 0 else np.broadcast_to(floor, out[~valid].shape)
    result: np.ndarray = out
    return result
