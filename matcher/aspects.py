"""Split a call's text into its work areas ("aspects"): expected outcomes and scope items.

A call for proposals asks for several things at once; matching partners aspect by aspect finds
organisations that cover one part of the work well. `split_aspects` reads the text as the
importers leave it (`scrapers.eu_portal.clean_text`): section headings such as ``Scope:`` on a line
of their own, paragraphs separated by blank lines, bullet markers where the source kept them.

Reading order:

1. The preferred sections (Expected outcome(s), Scope, Objective(s), Expected impact(s),
   Activities), in text order. Without any, the whole text.
2. Inside a section, list items are its aspects (its other prose is context):
   bulleted lines ("-", "•", "*", en dash, "1.", "1)", "(a)",
   "a)"), inline bullets, and "unbulleted" lists -- paragraphs after a lead-in that ends with a
   colon, each ending with ";" except the last. Other paragraphs are split into sentences.
3. Lead-ins that only introduce a list ("... contribute to all of the following expected
   outcomes:") and administrative boilerplate (SSH/gender requirements, budget statements,
   references to annexes or other documents, footnotes) are dropped; fragments shorter than
   ``min_words`` words are merged into their neighbour; duplicates are dropped.
4. At most ``max_aspects`` are kept, in their original order, shared out evenly over the
   sections: round robin, each section giving its most informative item (most distinct content
   words) not yet taken. So outcomes and scope are both represented, rather than the places
   being filled from the first long section.

Nothing qualifying: ``[title]`` (or the first 300 characters of the text); empty text: ``[]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PREFERRED_SECTIONS", "split_aspects", "split_sentences"]

PREFERRED_SECTIONS = ("expected outcome", "scope", "objective", "expected impact", "activities")

_PREFERRED = (
    r"expected\s*outcomes?|scope|(?:specific\s+)?objectives?|expected\s*impacts?|activities"
)
_OTHER = (
    r"specific\s+challenge|cross-cutting\s+priorities|background|specific\s+topic\s+conditions"
    r"|eligibility(?:\s+conditions)?|budget|deadlines?|conditions|documents"
)
# A heading on a line of its own, with or without a colon, any case.
_HEADING_LINE = re.compile(rf"^\s*(?P<name>{_PREFERRED}|{_OTHER})\s*:?\s*$", re.I)
# A heading glued into running text, as short benchmark texts have them: capitalised, with colon.
_INLINE_HEADING = re.compile(
    r"(?<![\w-])(?P<name>Expected ?[Oo]utcomes?|Expected ?[Ii]mpacts?|Scope|Objectives?"
    r"|Specific [Oo]bjectives?|Activities|Specific Challenge)\s*:\s*"
)
_BULLET = re.compile(
    r"^\s*(?:[-\u2022*\u2013\u2014\u00b7\u25aa\u25cf\u25e6\u2023]|\d{1,2}[.)]|\(\d{1,2}\)"
    r"|\(?[a-z]\)|\((?:i|ii|iii|iv|v|vi|vii|viii|ix|x)\))\s+"
)
# Bullets that lost their line break: "outcomes: • Protect ..." or, mis-encoded, "? Protect".
_INLINE_BULLET = re.compile(r"(?<=[.:;])\s+[\u2022\u25aa\u25cf?]\s+(?=[A-Z])|\s+\u2022\s+")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "al",
        "art",
        "no",
        "nos",
        "vs",
        "cf",
        "approx",
        "incl",
        "fig",
        "para",
        "resp",
        "ca",
        "dr",
        "mr",
        "ms",
        "prof",
        "st",
    ]
)
_SENTENCE_GAP = re.compile(r"(?<=[.!?])[\"\u201d\u2019)\]]*\s+(?=[\"\u201c(\[]?[A-Z0-9])")
# "... at least two of the below: Scaled-up implementation" -> the lead-in ends at the colon.
_COLON_GAP = re.compile(r"(?<=:)\s+(?=[A-Z])|(?<=;)\s*(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z\u00c0-\u024f0-9]+(?:['\u2019-][A-Za-z\u00c0-\u024f0-9]+)*")
_FOOTNOTE = re.compile(r"\[\[.*?\]\]|\[\d{1,3}\]", re.S)
_BOILERPLATE = tuple(
    re.compile(pattern, re.I)
    for pattern in (
        r"\b(?:SSH|social sciences? and humanities)\b",
        r"\bgender dimension\b|\bsex and gender analysis\b",
        r"\bEUR\s?\d|\bmillion\b.*\bcontribution\b|\bdoes not preclude\b|\blump sum\b",
        r"\b(?:described|set out|see|refer to)\b.{0,60}\b(?:annex|work programme|online manual"
        r"|call document|programme guide)",
        r"https?://|www\.",
        r"\b(?:JRC|Joint Research Centre)\b",
        r"\bprojects? (?:funded|selected) under (?:this|the same|other)\b",
        r"\b(?:expected|encouraged|required) to (?:cooperate|collaborate|cluster)\b",
        r"\bclustering\b",
        r"\bfor (?:more|further) information\b|\bplease (?:consult|see|refer)\b",
        # how to apply rather than what to do: consortium make-up, coordination, submission
        r"\b(?:applicants?|applicant consortia|consortia|beneficiaries|coordinator)\b"
        r".{0,80}\b(?:may|should|must|shall|are (?:eligible|invited|required))\b",
        r"\b(?:contact|submit|submission|eligib\w*|proposal template)\b.{0,60}"
        r"\b(?:association|secretariat|portal|form|deadline|call)\b",
        r"\b(?:potential )?applicants\b|\bwork programme\b|\bdestination\b",
        r"\bhigh-risk suppliers?\b|\bentities they own or control\b",
    )
)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "can",
        "could",
        "do",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "more",
        "most",
        "must",
        "not",
        "of",
        "on",
        "or",
        "other",
        "should",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "these",
        "they",
        "this",
        "those",
        "to",
        "under",
        "was",
        "were",
        "which",
        "will",
        "with",
        "within",
        "would",
        "also",
        "all",
        "any",
        "each",
        "both",
    ]
)


@dataclass
class _Section:
    name: str
    lines: list[str]


def split_aspects(
    text: str, title: str = "", *, max_aspects: int = 10, min_words: int = 4
) -> list[str]:
    """The call's work areas, in text order; see the module docstring for how they are read."""
    if not text.strip():
        return [title.strip()] if title.strip() else []
    sections = _sections(text)
    preferred = [s for s in sections if _is_preferred(s.name)]
    chosen = preferred or [_Section("", [line for s in sections for line in s.lines])]
    groups = [_clean_items(_items(s.lines), min_words) for s in chosen]
    groups = _dedupe_groups(groups)
    if not any(groups) and preferred:
        whole = [line for s in sections for line in s.lines]
        groups = _dedupe_groups([_clean_items(_items(whole), min_words)])
    aspects = _select(groups, max(1, max_aspects))
    if aspects:
        return aspects
    return [title.strip()] if title.strip() else [_normalise(text)[:300]]


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph; common abbreviations ("e.g.", "Art.") do not end one."""
    pieces: list[str] = []
    start = 0
    for gap in _SENTENCE_GAP.finditer(text):
        before = text[start : gap.start()].rstrip('.!?"\u201d\u2019)]')
        last = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if last in _ABBREVIATIONS or re.fullmatch(r"[a-z]|\d{1,3}", last):
            continue
        pieces.append(text[start : gap.start()])
        start = gap.end()
    pieces.append(text[start:])
    return [_normalise(p) for p in pieces if p.strip()]


# --- sections ---------------------------------------------------------------------------------


def _is_preferred(name: str) -> bool:
    key = re.sub(r"\s+", " ", name.lower())
    key = re.sub(r"^expected(?=[a-z])", "expected ", key)
    return any(key.removeprefix("specific ").startswith(p) for p in PREFERRED_SECTIONS)


def _sections(text: str) -> list[_Section]:
    """Lines grouped under the heading above them ("" for the text before any heading)."""
    text = _INLINE_HEADING.sub(lambda m: f"\n\n{m.group('name')}:\n", _FOOTNOTE.sub("", text))
    sections = [_Section("", [])]
    for raw in text.split("\n"):
        line = raw.strip()
        heading = _HEADING_LINE.match(line)
        if heading:
            sections.append(_Section(heading.group("name"), []))
        else:
            sections[-1].lines.append(line)
    for section in sections:
        _strip_repeated_heading(section)
    return [s for s in sections if any(s.lines)]


def _strip_repeated_heading(section: _Section) -> None:
    """``Expected Impact:`` / ``Expected Impact The actions ...``: drop the repeated name."""
    if not section.name:
        return
    for index, line in enumerate(section.lines):
        if line:
            pattern = re.escape(section.name).replace(r"\ ", r"\s*") + r"s?\b\s*"
            section.lines[index] = re.sub(rf"^{pattern}", "", line, flags=re.I)
            return


# --- items ------------------------------------------------------------------------------------


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines -> paragraphs: blank lines separate; bulleted lines always start a new one."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line or _BULLET.match(line):
            if current:
                paragraphs.append(" ".join(current))
            current = [line] if line else []
        else:
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return [p for p in paragraphs if p.strip()]


def _items(lines: list[str]) -> list[str]:
    """A section's list items when it has any (its prose is context), else its sentences."""
    listed: list[str] = []
    prose: list[str] = []
    in_list = False
    for paragraph in _paragraphs(lines):
        if _BULLET.match(paragraph):
            listed.extend(_split_inline_bullets(_BULLET.sub("", paragraph, count=1)))
            in_list = False
            continue
        if in_list and len(paragraph) < 1200:
            listed.append(paragraph)
            in_list = paragraph.rstrip().endswith((";", ",", " and", " or"))
            continue
        pieces = _split_inline_bullets(paragraph)
        if len(pieces) > 1:
            prose.append(pieces[0])
            listed.extend(pieces[1:])
        else:
            prose.extend(_sentences_and_leadins(paragraph))
        in_list = paragraph.rstrip().endswith(":")
    return listed if len(listed) >= 2 else prose + listed


def _split_inline_bullets(paragraph: str) -> list[str]:
    return [p.strip() for p in _INLINE_BULLET.split(paragraph) if p.strip()]


def _sentences_and_leadins(paragraph: str) -> list[str]:
    """Sentences, with a lead-in ending in a colon split from the item glued after it."""
    return [
        piece.strip()
        for sentence in split_sentences(paragraph)
        for piece in _COLON_GAP.split(sentence)
        if piece.strip()
    ]


# --- cleaning ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_boilerplate(item: str) -> bool:
    if item.rstrip().endswith(":"):
        return True  # a lead-in: it only introduces what follows
    return any(pattern.search(item) for pattern in _BOILERPLATE)


def _clean_items(items: list[str], min_words: int) -> list[str]:
    kept = [_normalise(item).strip(" ;,") for item in items]
    kept = [item for item in kept if _words(item) and not _is_boilerplate(item)]
    return _merge_short(kept, min_words)


def _merge_short(items: list[str], min_words: int) -> list[str]:
    """Fragments under ``min_words`` words join the previous item (the first joins the next)."""
    merged: list[str] = []
    pending = ""
    for item in items:
        if pending:
            item = f"{pending} {item}"
            pending = ""
        if len(_words(item)) >= min_words:
            merged.append(item)
        elif merged:
            merged[-1] = f"{merged[-1]} {item}"
        else:
            pending = item
    return merged


def _key(item: str) -> str:
    return " ".join(word.lower() for word in _words(item))


def _dedupe_groups(groups: list[list[str]]) -> list[list[str]]:
    """Drop items whose words repeat (or are contained in) an item already kept."""
    seen: list[str] = []
    result: list[list[str]] = []
    for group in groups:
        kept: list[str] = []
        for item in group:
            key = _key(item)
            if any(key == other or f" {key} " in f" {other} " for other in seen):
                continue
            seen.append(key)
            kept.append(item)
        result.append(kept)
    return result


# --- selection --------------------------------------------------------------------------------


def _informativeness(item: str) -> int:
    return len({w.lower() for w in _words(item) if w.lower() not in _STOPWORDS})


def _rank_key(group: list[str]) -> Callable[[int], tuple[int, int]]:
    return lambda i: (-_informativeness(group[i]), i)


def _select(groups: list[list[str]], max_aspects: int) -> list[str]:
    """At most ``max_aspects`` items in text order, shared out evenly over the sections.

    Round robin over the sections, each giving its most informative item not yet taken, until
    ``max_aspects`` are chosen; a section that runs out leaves its turns to the others.
    """
    flat = [(g, i) for g, group in enumerate(groups) for i in range(len(group))]
    if len(flat) <= max_aspects:
        return [groups[g][i] for g, i in flat]
    queues = [sorted(range(len(group)), key=_rank_key(group)) for group in groups]
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < max_aspects:
        for g, queue in enumerate(queues):
            if queue and len(chosen) < max_aspects:
                chosen.add((g, queue.pop(0)))
    return [groups[g][i] for g, i in flat if (g, i) in chosen]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
