"""Embedding passage by passage through a cache: unchanged text is never embedded twice.

The cache-counting tests use a tiny hashing-trick encoder in place of the neural model (a test
double for the model only: `embed`, `MemoryCache` and `Encoder.encode` are the real code); one
test runs the real MiniLM model.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np
import pytest

from matcher.cache import MemoryCache
from matcher.documents import Query
from matcher.embedders import (
    ENCODERS,
    Encoder,
    MiniLM,
    MultilingualUSE,
    UnknownModel,
    get_encoder,
    l2_normalise,
)
from matcher.hybrid import HybridRanker
from matcher.text import text_hash
from matcher.vectors import embed
from tests.matcher.conftest import make_corpus


class HashingEncoder(Encoder):
    """Deterministic bag-of-words vectors (hashing trick); records every batch it embeds."""

    name = "hashing"
    model_id = "test-hashing-v1"
    dim = 32
    max_words = 6

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.loads = 0

    def _load(self) -> Any:
        self.loads += 1
        return "model"

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                bucket = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16) % self.dim
                rows[i, bucket] += 1.0
        return rows

    @property
    def embedded(self) -> list[str]:
        return [text for batch in self.batches for text in batch]


class OtherHashingEncoder(HashingEncoder):
    model_id = "test-hashing-v2"


# max_words=6 on the encoder: each of these sentences is a passage of its own
DOCS = [
    "Malaria bed nets in Kenya. Vaccines for young children. Drug resistance surveillance.",
    "Solar panels on clinic roofs. Battery storage for the night.",
    "Malaria bed nets in Kenya. Training of community health workers.",  # shares a passage
]
PASSAGES = [
    ["Malaria bed nets in Kenya.", "Vaccines for young children.", "Drug resistance surveillance."],
    ["Solar panels on clinic roofs.", "Battery storage for the night."],
    ["Malaria bed nets in Kenya.", "Training of community health workers."],
]
UNIQUE = {p for doc in PASSAGES for p in doc}  # 6 distinct passages


def test_documents_are_split_into_passages_of_at_most_max_words() -> None:
    done = embed(HashingEncoder(), DOCS)
    assert done.passages == PASSAGES
    assert [m.shape for m in done.passage_vectors] == [(3, 32), (2, 32), (2, 32)]
    assert done.vectors.shape == (3, 32)


def test_a_passage_shared_by_two_documents_is_embedded_once() -> None:
    encoder = HashingEncoder()
    done = embed(encoder, DOCS)
    assert done.new == 6
    assert sorted(encoder.embedded) == sorted(UNIQUE)
    assert np.array_equal(done.passage_vectors[0][0], done.passage_vectors[2][0])


def test_document_vectors_are_the_normalised_mean_of_their_passages() -> None:
    done = embed(HashingEncoder(), DOCS)
    for vector, passage_vectors in zip(done.vectors, done.passage_vectors, strict=True):
        expected = l2_normalise(passage_vectors.mean(axis=0))
        assert np.allclose(vector, expected, atol=1e-6)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        # each passage vector is itself normalised by Encoder.encode
        assert np.allclose(np.linalg.norm(passage_vectors, axis=1), 1.0, atol=1e-5)


def test_embedding_twice_through_a_cache_embeds_nothing_the_second_time() -> None:
    encoder, cache = HashingEncoder(), MemoryCache()
    first = embed(encoder, DOCS, cache)
    assert first.new == 6
    assert cache.writes == 6
    assert len(cache) == 6
    assert cache.hits == 0

    second = embed(encoder, DOCS, cache)
    assert second.new == 0
    assert cache.writes == 6  # nothing written again
    assert cache.hits == 6  # every passage served from the cache
    assert len(encoder.embedded) == 6  # the encoder was not called again
    assert np.array_equal(second.vectors, first.vectors)
    assert second.passages == first.passages


def test_cached_vectors_are_keyed_by_model_and_passage_hash() -> None:
    encoder, cache = HashingEncoder(), MemoryCache()
    embed(encoder, DOCS, cache)
    key = text_hash("Solar panels on clinic roofs.")
    stored = cache.get_many("test-hashing-v1", [key, "no-such-key"])
    assert list(stored) == [key]
    assert np.array_equal(stored[key], encoder.encode(["Solar panels on clinic roofs."])[0])
    assert cache.get_many("test-hashing-v2", [key]) == {}


def test_changing_one_sentence_embeds_only_the_changed_passage() -> None:
    encoder, cache = HashingEncoder(), MemoryCache()
    first = embed(encoder, DOCS, cache)
    changed = [DOCS[0], DOCS[1].replace("for the night", "for cloudy days"), DOCS[2]]

    second = embed(encoder, changed, cache)
    assert second.new == 1
    assert cache.writes == 7
    assert encoder.batches[-1] == ["Battery storage for cloudy days."]
    # the unchanged documents keep their vectors; the changed one moves
    assert np.array_equal(second.vectors[0], first.vectors[0])
    assert np.array_equal(second.vectors[2], first.vectors[2])
    assert not np.allclose(second.vectors[1], first.vectors[1])


def test_another_model_does_not_reuse_the_vectors_of_the_first() -> None:
    cache = MemoryCache()
    embed(HashingEncoder(), DOCS, cache)
    other = OtherHashingEncoder()
    done = embed(other, DOCS, cache)
    assert done.new == 6
    assert len(other.embedded) == 6
    assert len(cache) == 12
    assert cache.writes == 12


def test_without_a_cache_every_distinct_passage_counts_as_new() -> None:
    encoder = HashingEncoder()
    assert embed(encoder, DOCS).new == 6
    assert embed(encoder, DOCS).new == 6
    assert len(encoder.embedded) == 12


def test_empty_documents_get_a_zero_vector_and_are_not_embedded() -> None:
    encoder, cache = HashingEncoder(), MemoryCache()
    done = embed(encoder, ["", "Solar panels on clinic roofs.", "  \n "], cache)
    assert done.passages == [[""], ["Solar panels on clinic roofs."], [""]]
    assert done.new == 1
    assert encoder.embedded == ["Solar panels on clinic roofs."]
    assert not done.vectors[0].any()
    assert not done.vectors[2].any()
    assert np.linalg.norm(done.vectors[1]) == pytest.approx(1.0, abs=1e-5)
    nothing = embed(encoder, [], cache)
    assert nothing.vectors.shape[0] == 0
    assert nothing.new == 0


def test_progress_reports_the_new_passages_only() -> None:
    encoder, cache = HashingEncoder(), MemoryCache()
    calls: list[tuple[int, int]] = []
    embed(encoder, DOCS, cache, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(6, 6)]
    calls.clear()
    embed(encoder, DOCS, cache, progress=lambda done, total: calls.append((done, total)))
    assert calls == []


def test_refitting_a_ranker_through_the_same_cache_embeds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(ENCODERS, "hashing", HashingEncoder)
    cache = MemoryCache()
    first = HybridRanker(encoder="hashing").fit(make_corpus(), cache)
    assert first.new_passages_ == cache.writes > 0
    writes = cache.writes
    second = HybridRanker(encoder="hashing").fit(make_corpus(), cache)
    assert second.new_passages_ == 0
    assert cache.writes == writes
    assert second.doc_vectors_ is not None and first.doc_vectors_ is not None
    assert np.array_equal(second.doc_vectors_, first.doc_vectors_)
    # queries go through the cache too: the same query twice is embedded once
    query = Query("Bed nets against malaria in Kenya.", title="Malaria call")
    second.score(query)
    after_query = cache.writes
    assert after_query > writes
    second.score(query)
    assert cache.writes == after_query


class LazyEncoder(HashingEncoder):
    model_id = "test-hashing-lazy"  # a model id no other test loads


def test_the_model_loads_lazily_once_per_process_and_is_not_pickled() -> None:
    encoder = LazyEncoder()
    assert encoder.encode([]).shape == (0, 32)
    assert encoder.loads == 0  # nothing to embed: no model needed
    encoder.encode(["a"])
    encoder.encode(["b"])
    assert encoder.loads == 1
    other = LazyEncoder()
    other.encode(["c"])
    assert other.loads == 0  # the weights are shared by every encoder of that model
    copy = pickle.loads(pickle.dumps(encoder))
    assert copy._model is None
    assert encoder._model == "model"


def test_the_encoder_registry() -> None:
    assert set(ENCODERS) == {"minilm", "usem3"}
    assert isinstance(get_encoder("minilm"), MiniLM)
    assert isinstance(get_encoder("usem3"), MultilingualUSE)
    assert get_encoder("minilm") is not get_encoder("minilm")
    assert MultilingualUSE.multilingual
    assert not MiniLM.multilingual
    with pytest.raises(UnknownModel) as raised:
        get_encoder("word2vec")
    assert str(raised.value) == "unknown embedding model 'word2vec' (known: minilm, usem3)"
    assert raised.value.name == "word2vec"
    assert isinstance(raised.value, KeyError)


def test_minilm_puts_malaria_texts_closer_to_each_other_than_to_solar(
    minilm_encoder: Encoder,
) -> None:
    texts = [
        "Insecticide-treated bed nets reduce malaria transmission in western Kenya.",
        "A trial of a malaria vaccine for children under five in Uganda.",
        "Rooftop solar panels and battery storage for small businesses in Bavaria.",
    ]
    done = embed(minilm_encoder, texts)
    assert done.vectors.shape == (3, 384)
    assert done.vectors.dtype == np.float32
    sims = done.vectors @ done.vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert sims[0, 1] > sims[1, 2] + 0.2
