"""Read a call's consortium eligibility rules from its conditions text, conservatively.

Only explicit statements count: "at least three legal entities, each established in a different
Member State or Associated Country", "a consortium of between 3 and 6 partners", "a maximum of
8 beneficiaries", "Framework Partnerships are always mono-beneficiary", "at least one partner from
a low- or middle-income country", "must include at least one NGO". References to annexes ("described
in Annex B of the General Annexes") give nothing. Numbers may be digits or words (one..twelve),
optionally followed by the digits in brackets ("three (3)").

Sentences that state a rule only for one case ("In the case of single beneficiary projects",
"Consortia of three or more entities must ...", "You can apply either as ... or a consortium")
and indicative sizes ("indicatively, not more than ten participants") are skipped, and so
are required organisation types offered as alternatives of different kinds ("an SME or a
university"). So are sentences without an obligation ("must", "shall", "requires", "eligible"):
"should" is advice. Where several sentences give a bound, the strictest is kept (largest
minimum, smallest maximum); a maximum below the minimum is dropped as contradictory.
``evidence`` maps each field read (``required_types`` as ``required_types.<type>``) to the
sentence it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from matcher.aspects import split_sentences

__all__ = ["ORG_TYPES", "ParsedRules", "parse_call_rules"]

ORG_TYPES = ("ngo", "research", "public", "private", "network", "multilateral", "funder")

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        [
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ],
        start=1,
    )
}
_N = r"(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")(?:\s*\(\d{1,2}\))?"
_N2 = _N.replace("?P<n>", "?P<m>")
_ADJ = r"(?:[\w-]+,?\s+){0,3}?"  # up to three adjectives: "independent eligible", "legal"
_ENTITY = (
    r"(?:legal\s+entities|entities|partners|beneficiaries|organi[sz]ations|applicants"
    r"|participants|partner\s+organi[sz]ations|co-applicants)"
)
_COUNTRY = r"(?:(?:EU\s+)?Member\s+States?|countr(?:y|ies)|Associated\s+Countr(?:y|ies))"

_MIN_SIZE = re.compile(
    rf"\b(?:at\s+least|a\s+minimum\s+of|minimum\s+of|no\s+fewer\s+than|not\s+less\s+than)"
    rf"\s+{_N}\s+{_ADJ}{_ENTITY}\b",
    re.I,
)
_EACH_DIFFERENT = re.compile(
    rf"\beach\s+(?:established\s+in|from|based\s+in|located\s+in)\s+(?:a\s+)?different\s+"
    rf"(?:eligible\s+)?{_COUNTRY}",
    re.I,
)
_FROM_COUNTRIES = re.compile(
    rf"\b(?:from|established\s+in|based\s+in)\s+(?:at\s+least|a\s+minimum\s+of)\s+{_N}\s+"
    rf"(?:different\s+)?(?:eligible\s+)?{_COUNTRY}",
    re.I,
)
_ENTITIES_FROM = re.compile(
    rf"\b{_ENTITY}\s+(?:\([^)]*\)\s+)?(?:from|established\s+in)\s+{_N}\s+different\s+"
    rf"(?:eligible\s+)?{_COUNTRY}",
    re.I,
)
_OF_THEM_DIFFERENT = re.compile(
    rf"\bat\s+least\s+{_N}\s+of\s+(?:them|which|these)\s+(?:must\s+be\s+|shall\s+be\s+)?"
    rf"(?:established|based|located)\s+in\s+(?:a\s+)?different\s+{_COUNTRY}",
    re.I,
)
_RANGE = re.compile(
    rf"\b(?:consorti(?:um|a)\s+(?:composed\s+|made\s+up\s+)?of\s+(?:between\s+)?|between\s+"
    rf"|(?:a\s+)?minimum\s+(?:of\s+)?)"
    rf"{_N}\s+(?:and|to|-|\u2013)\s+(?:(?:a\s+)?maximum\s+(?:of\s+)?)?{_N2}\s+{_ADJ}{_ENTITY}\b",
    re.I,
)
_MAX_SIZE = re.compile(
    rf"\b(?:a\s+maximum\s+of|maximum\s+of|no\s+more\s+than|not\s+more\s+than|up\s+to|at\s+most)"
    rf"\s+{_N}\s+{_ADJ}{_ENTITY}\b",
    re.I,
)
_MONO = re.compile(
    r"\b(?:(?:is|are)\s+(?:always\s+|only\s+)?(?:mono|single)[- ]beneficiary"
    r"|(?:must|shall|will|can\s+only)\s+be\s+(?:submitted|implemented)\s+by\s+(?:a\s+|one\s+)?"
    r"single\s+(?:applicant|beneficiary|legal\s+entity)"
    r"|only\s+(?:mono|single)[- ]beneficiary)",
    re.I,
)
_LMIC = re.compile(
    rf"\bat\s+least\s+{_N}\s+{_ADJ}(?:{_ENTITY}|partner|organi[sz]ation|legal\s+entity|entity)"
    r"\s+(?:\w+\s+){0,2}?(?:established\s+|based\s+|located\s+)?(?:in|from)\s+(?:an?\s+)?"
    r"(?:LMICs?\b|low-?\s*(?:or|and)[- ]middle[- ]income|low[- ]income|middle[- ]income)",
    re.I,
)
_CONDITIONAL = re.compile(
    r"^\s*(?:in\s+(?:the\s+)?case\s+of|if\b|where\b|when\b|for\s+consortia\s+of)"
    r"|\bconsortia\s+of\s+\w+\s+(?:or\s+more\s+)?(?:entities|partners|beneficiaries)\b"
    r"|\bor-?\s*an?\s+(?:small\s+)?consortium\b|\b(?:apply|submitted)\b[^.]{0,40}\beither\b",
    re.I,
)
_MEMBER_WORDS = re.compile(
    r"\b(?:beneficiar\w+|consorti\w+|legal\s+entit\w+|applicants|partners|participants"
    r"|authorities|organi[sz]ations|practitioners|procurers|institutions)\b",
    re.I,
)
# Indicative or preferred sizes are advice, not rules.
_SOFT = re.compile(r"\bindicativ\w*|\bpreferabl\w*|\bideally\b|\brecommended\b", re.I)
_CONSORTIUM_WORDS = re.compile(
    r"\b(?:beneficiar\w+|consorti\w+|legal\s+entit\w+|applicants|partners|participants)\b", re.I
)
_OBLIGATION = re.compile(
    r"\b(?:must|shall|requires?|required|mandatory|obligatory|eligib\w+|always|only)\b", re.I
)
_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    (
        "ngo",
        r"NGOs?|non-governmental\s+organi[sz]ations?|civil\s+society\s+organi[sz]ations?"
        r"|CSOs?",
    ),
    (
        "research",
        r"universit(?:y|ies)|research\s+organi[sz]ations?|research\s+institut(?:e|es"
        r"|ion|ions)|research\s+cent(?:re|res|er|ers)|academic\s+(?:institutions?|partners?)"
        r"|higher\s+education\s+institutions?",
    ),
    (
        "public",
        r"public\s+authorit(?:y|ies)|(?:national|regional|local)\s+authorit(?:y|ies)"
        r"|ministr(?:y|ies)|public\s+bod(?:y|ies)|police\s+authorit(?:y|ies)|public\s+procurers?"
        r"|municipalit(?:y|ies)",
    ),
    (
        "private",
        r"SMEs?|compan(?:y|ies)|industr(?:y|ial)\s+partners?|private\s+(?:companies"
        r"|company|entit(?:y|ies)|partners?)|for-profit\s+(?:organi[sz]ations?|entit(?:y|ies))",
    ),
    ("multilateral", r"international\s+organi[sz]ations?"),
    (
        "funder",
        r"(?:research\s+)?funding\s+(?:agenc(?:y|ies)|organi[sz]ations?)|research\s+funders?",
    ),
)
_TYPE = "|".join(f"(?P<{name}>{words})" for name, words in _TYPE_WORDS)
_TYPE_COUNT = re.compile(
    rf"\b(?:at\s+least|a\s+minimum\s+of|minimum\s+of)\s+{_N}\s+(?:[\w-]+\s+){{0,3}}?(?:{_TYPE})\b",
    re.I,
)
_TYPE_INCLUDE = re.compile(
    rf"\b(?:include|involve|involvement\s+of|participation\s+of)\s+(?:,?\s*as\s+beneficiaries,?\s+)?"
    rf"(?:an?|one)\s+(?:[\w-]+\s+){{0,2}}?(?:{_TYPE})\b",
    re.I,
)
_TYPE_ANY = re.compile(rf"\b(?:{_TYPE})\b", re.I)
_PARTICIPATION = re.compile(
    r"\b(?:include|involve|involvement|participat\w*|consorti\w+|beneficiar\w+|comprise|composed)",
    re.I,
)
_FOOTNOTE = re.compile(r"\[\[.*?\]\]|\[\d{1,3}\]", re.S)


@dataclass(frozen=True)
class ParsedRules:
    """Consortium rules read from a call; ``None`` or empty where the call states nothing."""

    min_size: int | None = None
    max_size: int | None = None
    min_countries: int | None = None
    min_lmic: int | None = None
    required_types: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """True when no rule was read."""
        return (
            self.min_size is None
            and self.max_size is None
            and self.min_countries is None
            and self.min_lmic is None
            and not self.required_types
        )


def parse_call_rules(conditions: str, text: str = "") -> ParsedRules:
    """The consortium rules stated in ``conditions`` (and ``text``); see the module docstring."""
    found = _Found()
    for sentence in _rule_sentences(f"{conditions}\n\n{text}"):
        if _CONDITIONAL.search(sentence) or _SOFT.search(sentence):
            continue
        if not _OBLIGATION.search(sentence):
            continue  # "should", "are invited to": advice, not eligibility
        _read_size(sentence, found)
        _read_countries(sentence, found)
        _read_lmic(sentence, found)
        _read_types(sentence, found)
    return found.rules()


# --- reading ----------------------------------------------------------------------------------


@dataclass
class _Found:
    minimum: dict[str, int] = field(default_factory=dict)  # field -> strictest minimum
    max_size: int | None = None
    types: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)

    def at_least(self, name: str, value: int, sentence: str) -> None:
        if value > self.minimum.get(name, 0):
            self.minimum[name] = value
            self.evidence[name] = sentence

    def at_most(self, value: int, sentence: str) -> None:
        if self.max_size is None or value < self.max_size:
            self.max_size = value
            self.evidence["max_size"] = sentence

    def needs_type(self, kind: str, value: int, sentence: str) -> None:
        if value > self.types.get(kind, 0):
            self.types[kind] = value
            self.evidence[f"required_types.{kind}"] = sentence

    def rules(self) -> ParsedRules:
        min_size = self.minimum.get("min_size")
        max_size = self.max_size
        evidence = dict(self.evidence)
        if max_size is not None and min_size is not None and max_size < min_size:
            max_size = None
            evidence.pop("max_size", None)
        return ParsedRules(
            min_size=min_size,
            max_size=max_size,
            min_countries=self.minimum.get("min_countries"),
            min_lmic=self.minimum.get("min_lmic"),
            required_types=dict(self.types),
            evidence=evidence,
        )


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token.lower()]


def _rule_sentences(text: str) -> list[str]:
    text = _FOOTNOTE.sub("", text)
    return [
        s
        for line in re.split(r"\n\s*\n|\n(?=\s*\d{1,2}[a-z]?\.\s)", text)
        for s in split_sentences(" ".join(line.split()))
    ]


def _read_size(sentence: str, found: _Found) -> None:
    for match in _MIN_SIZE.finditer(sentence):
        value = _number(match.group("n"))
        if value >= 2:
            found.at_least("min_size", value, sentence)
    for match in _RANGE.finditer(sentence):
        low, high = _number(match.group("n")), _number(match.group("m"))
        if 1 <= low <= high:
            found.at_least("min_size", low, sentence)
            found.at_most(high, sentence)
    for match in _MAX_SIZE.finditer(sentence):
        if _CONSORTIUM_WORDS.search(sentence):
            found.at_most(_number(match.group("n")), sentence)
    if _MONO.search(sentence):
        found.at_least("min_size", 1, sentence)
        found.at_most(1, sentence)


def _read_countries(sentence: str, found: _Found) -> None:
    if _EACH_DIFFERENT.search(sentence):
        for match in _MIN_SIZE.finditer(sentence):
            value = _number(match.group("n"))
            if value >= 2:
                found.at_least("min_countries", value, sentence)
    for pattern in (_FROM_COUNTRIES, _OF_THEM_DIFFERENT, _ENTITIES_FROM):
        for match in pattern.finditer(sentence):
            value = _number(match.group("n"))
            if pattern is _OF_THEM_DIFFERENT:
                value += 1  # "at least two of them in a different country": two others + one
            before = sentence[max(0, match.start() - 160) : match.end()]
            if value >= 2 and _MEMBER_WORDS.search(before):
                found.at_least("min_countries", value, sentence)


def _read_lmic(sentence: str, found: _Found) -> None:
    for match in _LMIC.finditer(sentence):
        found.at_least("min_lmic", _number(match.group("n")), sentence)


def _read_types(sentence: str, found: _Found) -> None:
    if not _PARTICIPATION.search(sentence):
        return
    matches = [*_TYPE_COUNT.finditer(sentence), *_TYPE_INCLUDE.finditer(sentence)]
    for match in matches:
        kind = next(name for name, _ in _TYPE_WORDS if match.group(name))
        if _mixed_alternative(sentence, match.end(), kind):
            continue
        count = _number(match.group("n")) if "n" in match.re.groupindex else 1
        found.needs_type(kind, count, sentence)


def _mixed_alternative(sentence: str, end: int, kind: str) -> bool:
    """``an SME or a university``: alternatives of different types require neither."""
    rest = re.match(r"\s*(?:\([^)]*\)\s*)?,?\s*(?:and/)?or\s+(?:an?\s+|other\s+)?", sentence[end:])
    if not rest:
        return False
    other = _TYPE_ANY.match(sentence, end + rest.end())
    if other is None:
        return True  # "or any other body": not a firm requirement of this type
    return next(name for name, _ in _TYPE_WORDS if other.group(name)) != kind
