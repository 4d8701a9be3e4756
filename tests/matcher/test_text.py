"""Sentence splitting, packing sentences into passages, and the content hash used as a cache key."""

from __future__ import annotations

import hashlib
import random

import pytest

from matcher.text import normalise, passages, sentences, text_hash


def test_normalise_collapses_all_whitespace() -> None:
    assert normalise("  bed\tnets \r\n against\u00a0malaria  ") == "bed nets against malaria"
    assert normalise(" \n\t ") == ""


def test_sentences_split_on_sentence_ends_newlines_and_bullets() -> None:
    text = (
        "Malaria control. Bed nets!\n"
        "\u2022 vector control\n"
        "\u25cf surveillance \u25aa diagnostics \u2013 treatment; vaccines? Yes"
    )
    assert sentences(text) == [
        "Malaria control.",
        "Bed nets!",
        "vector control",
        "surveillance",
        "diagnostics",
        "treatment;",
        "vaccines?",
        "Yes",
    ]


def test_sentences_keep_lines_apart_and_drop_empty_pieces() -> None:
    text = "  Line one\r\nLine   two\t\tcontinues\n\n\n\u2022 bullet\n\u2022\n"
    assert sentences(text) == ["Line one", "Line two continues", "bullet"]
    assert sentences("") == []
    assert sentences(" \n \u2022 \n") == []


def test_a_full_stop_only_ends_a_sentence_when_followed_by_space() -> None:
    assert sentences("Costs rose 3.5 percent in 2020. Done") == [
        "Costs rose 3.5 percent in 2020.",
        "Done",
    ]
    assert sentences("See www.example.org for details.") == ["See www.example.org for details."]


def test_an_en_dash_inside_a_number_range_does_not_split_the_sentence() -> None:
    text = "The 2010\u20132015 programme ran in Kenya. It ended."
    assert sentences(text) == ["The 2010\u20132015 programme ran in Kenya.", "It ended."]


def test_passages_pack_whole_sentences_up_to_max_words() -> None:
    text = "a b c. d e f. g h."
    assert passages(text, max_words=6) == ["a b c. d e f.", "g h."]
    assert passages(text, max_words=5) == ["a b c.", "d e f. g h."]
    assert passages(text, max_words=4) == ["a b c.", "d e f.", "g h."]
    assert passages(text, max_words=8) == ["a b c. d e f. g h."]


def test_a_sentence_longer_than_max_words_is_cut_into_pieces() -> None:
    long_sentence = " ".join(f"w{i}" for i in range(25)) + "."
    assert passages(long_sentence, max_words=10) == [
        " ".join(f"w{i}" for i in range(10)),
        " ".join(f"w{i}" for i in range(10, 20)),
        " ".join(f"w{i}" for i in range(20, 25)) + ".",
    ]
    # a short sentence after the long one joins the last piece when it fits
    assert passages(long_sentence + " x y.", max_words=10)[-1] == "w20 w21 w22 w23 w24. x y."


@pytest.mark.parametrize("max_words", [1, 2, 3, 7, 20, 160])
def test_passages_never_exceed_max_words_and_keep_every_word_in_order(max_words: int) -> None:
    rng = random.Random(max_words)
    pieces = []
    for i in range(60):
        words = " ".join(f"w{i}_{j}" for j in range(rng.randint(1, 40)))
        pieces.append(words + rng.choice([". ", "! ", "? ", "; ", "\n", "\n\u2022 "]))
    text = "".join(pieces)
    out = passages(text, max_words=max_words, max_passages=10_000)
    assert out
    assert all(1 <= len(p.split(" ")) <= max_words for p in out)
    # nothing is lost or reordered (bullet glyphs and line breaks are separators, not words)
    expected = " ".join(sentences(text)).split(" ")
    assert " ".join(out).split(" ") == expected


def test_max_passages_keeps_the_opening_of_the_text() -> None:
    text = "one two three. four five six. seven eight nine. ten eleven twelve."
    assert passages(text, max_words=3) == [
        "one two three.",
        "four five six.",
        "seven eight nine.",
        "ten eleven twelve.",
    ]
    assert passages(text, max_words=3, max_passages=2) == ["one two three.", "four five six."]
    assert passages("one two three four five six seven", max_words=3, max_passages=2) == [
        "one two three",
        "four five six",
    ]


def test_passages_of_empty_text_are_empty() -> None:
    assert passages("") == []
    assert passages("  \n\n \u2022 ") == []


def test_text_hash_is_the_sha256_of_the_utf8_text_and_stable() -> None:
    text = "Santé maternelle et néonatale"
    assert text_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert text_hash(text) == text_hash("Santé maternelle et néonatale")
    assert len(text_hash(text)) == 64
    # a stored key must never change between releases: pin the value
    assert text_hash("malaria") == (
        "a0f0934bfa07f9fbf52c10577f47b87ee7b70f0a519a68f97eadfc88983a15d8"
    )
    assert text_hash("malaria") != text_hash("Malaria")
    assert text_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
