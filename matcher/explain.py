"""Why an organisation matched: its best projects, the passage of the query they answer, the key
terms they share with it, and the countries and themes in common."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from matcher.documents import OrgDoc, Query
from matcher.evidence import Evidence

# Words of funding-call and deliverable boilerplate: they match everywhere and explain nothing.
# Left out of the shared terms shown to users only; scoring still reads every word.
BOILERPLATE = frozenset(
    [
        "action",
        "actions",
        "activities",
        "activity",
        "applicant",
        "applicants",
        "application",
        "applications",
        "call",
        "calls",
        "code",
        "communication",
        "consortium",
        "data",
        "deliverable",
        "deliverables",
        "develop",
        "developing",
        "development",
        "dissemination",
        "document",
        "eu",
        "european",
        "expected",
        "exploitation",
        "final",
        "funding",
        "information",
        "logo",
        "management",
        "means",
        "need",
        "new",
        "online",
        "outcome",
        "outcomes",
        "panel",
        "partner",
        "partners",
        "plan",
        "programme",
        "project",
        "projects",
        "proposal",
        "proposals",
        "related",
        "report",
        "reports",
        "research",
        "result",
        "results",
        "scope",
        "set",
        "specific",
        "support",
        "topic",
        "website",
        "work",
    ]
)


@dataclass(frozen=True)
class MatchedProject:
    id: str
    title: str
    score: float  # dense cosine plus lexical cosine to the query
    dense: float
    lexical: float


@dataclass(frozen=True)
class Explanation:
    projects: tuple[MatchedProject, ...]
    passage: str  # the passage of the query that the best project answers
    terms: tuple[str, ...]  # key terms the query and the organisation's evidence share
    countries: tuple[str, ...]
    themes: tuple[str, ...]


@dataclass
class QueryView:
    """One query's side of an explanation."""

    query: Query
    passages: list[str]
    passage_vectors: np.ndarray | None  # (n_passages, dim)
    terms: sp.csr_matrix | None  # (1, vocabulary)
    dense: np.ndarray | None  # (n_docs,) cosine of each document to the query
    lexical: np.ndarray | None  # (n_docs,)


def _doc_scores(view: QueryView, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zeros = np.zeros(len(docs))
    dense = view.dense[docs] if view.dense is not None else zeros
    lexical = view.lexical[docs] if view.lexical is not None else zeros
    return dense, lexical


def best_projects(
    evidence: Evidence, view: QueryView, org: int, limit: int = 3
) -> tuple[MatchedProject, ...]:
    docs = evidence.docs_of(org)
    dense, lexical = _doc_scores(view, docs)
    total = dense + lexical
    order = np.lexsort((docs, -total))[:limit]
    return tuple(
        MatchedProject(
            evidence.docs[docs[i]].id,
            evidence.docs[docs[i]].title,
            round(float(total[i]), 4),
            round(float(dense[i]), 4),
            round(float(lexical[i]), 4),
        )
        for i in order
    )


def best_passage(view: QueryView, doc_vector: np.ndarray | None, terms: tuple[str, ...]) -> str:
    """The passage closest to the best project; by shared terms when there are no vectors."""
    if not view.passages:
        return ""
    if doc_vector is not None and view.passage_vectors is not None and len(view.passage_vectors):
        return view.passages[int(np.argmax(view.passage_vectors @ doc_vector))]
    counts = [sum(p.casefold().count(term) for term in terms) for p in view.passages]
    return view.passages[int(np.argmax(counts))]


def shown(term: str) -> bool:
    """A shared term worth showing: not boilerplate, not a bare number (years, codes)."""
    return term not in BOILERPLATE and not term.isdigit()


def shared_terms(
    view: QueryView,
    doc_terms: sp.csr_matrix | None,
    docs: np.ndarray,
    vocabulary: np.ndarray,
    limit: int = 8,
) -> tuple[str, ...]:
    if view.terms is None or doc_terms is None or len(docs) == 0:
        return ()
    org_weights = np.asarray(doc_terms[docs].max(axis=0).toarray()).ravel()
    product = np.asarray(view.terms.multiply(org_weights).toarray()).ravel()
    terms = (str(vocabulary[i]) for i in np.argsort(-product, kind="stable") if product[i] > 0)
    return tuple(itertools.islice((t for t in terms if shown(t)), limit))


def overlap(
    query: Query, org: OrgDoc, evidence: Evidence, docs: np.ndarray
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    countries = {c.upper() for c in (*org.countries, org.hq_country or "") if c}
    themes = {t.casefold() for t in org.themes}
    for d in docs:
        countries.update(c.upper() for c in evidence.docs[d].countries)
        themes.update(t.casefold() for t in evidence.docs[d].themes)
    return (
        tuple(sorted({c.upper() for c in query.countries} & countries)),
        tuple(sorted(t for t in query.themes if t.casefold() in themes)),
    )
