"""Text helpers: normalising, splitting into sentences and packing sentences into passages."""

from __future__ import annotations

import hashlib
import re

_SPACE = re.compile(r"\s+")
# A sentence ends at . ! ? ; or a bullet glyph, followed by space; lines are kept apart too.
_SENTENCE_END = re.compile(
    r"(?<=[.!?;])\s+|\s*[\n\u2022\u25cf\u25aa]\s*|\s+\u2013\s+|\s+\?\s+(?=[A-Z])"
)


def normalise(text: str) -> str:
    """Collapse whitespace; the form that is hashed and embedded."""
    return _SPACE.sub(" ", text).strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sentences(text: str) -> list[str]:
    """Split on sentence ends, line breaks and bullets; drop empty pieces."""
    pieces = (normalise(piece) for piece in _SENTENCE_END.split(text))
    return [piece for piece in pieces if piece]


def _split_long(sentence: str, max_words: int) -> list[str]:
    words = sentence.split(" ")
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def passages(text: str, max_words: int = 160, max_passages: int = 16) -> list[str]:
    """Pack whole sentences into passages of at most `max_words` words.

    Sentence encoders read a bounded number of tokens (256 for MiniLM, about 190 English words),
    so long texts are read passage by passage. At most `max_passages` are kept: the opening of a
    very long text says most of what it is about, and the cap bounds the cost of one document.
    """
    out: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in sentences(text):
        for piece in _split_long(sentence, max_words):
            count = piece.count(" ") + 1
            if current and size + count > max_words:
                out.append(" ".join(current))
                current, size = [], 0
            current.append(piece)
            size += count
    if current:
        out.append(" ".join(current))
    return out[:max_passages]
