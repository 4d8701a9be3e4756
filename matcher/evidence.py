"""Evidence documents and who took part in them: the sparse structure every ranker aggregates over.

Each project is one document; an organisation's own description is one more document that only
it takes part in. `incidence[o, d]` is 1 when organisation `o` took part in document `d`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from matcher.documents import Corpus, OrgDoc

LEAD = "lead"
SELF = "self"  # the organisation's own description


@dataclass(frozen=True)
class EvidenceDoc:
    id: str  # project id, or "org:<id>" for a description
    title: str
    body: str
    call_title: str
    year: int | None
    countries: tuple[str, ...]
    themes: tuple[str, ...]


@dataclass
class Evidence:
    orgs: list[OrgDoc]
    docs: list[EvidenceDoc]
    incidence: sp.csr_matrix  # (n_orgs, n_docs), 1 where the organisation took part
    leads: sp.csr_matrix  # (n_orgs, n_docs), 1 where it led
    org_index: dict[str, int]

    @property
    def org_ids(self) -> list[str]:
        return [org.id for org in self.orgs]

    def doc_counts(self) -> np.ndarray:
        return np.asarray(self.incidence.sum(axis=1)).ravel()

    def lead_counts(self) -> np.ndarray:
        return np.asarray(self.leads.sum(axis=1)).ravel()

    def has_evidence(self) -> np.ndarray:
        return self.doc_counts() > 0

    def docs_of(self, org: int) -> np.ndarray:
        start, end = self.incidence.indptr[org], self.incidence.indptr[org + 1]
        return np.asarray(self.incidence.indices[start:end], dtype=np.int64)

    def collaboration(self) -> sp.csr_matrix:
        """(n_orgs, n_orgs) number of projects two organisations shared (diagonal zero)."""
        shared = (self.incidence @ self.incidence.T).tocsr()
        shared.setdiag(0)
        shared.eliminate_zeros()
        return shared


def organisation_texts(evidence: Evidence) -> list[str]:
    """One text per organisation: all its evidence documents, concatenated."""
    bodies = [doc.body for doc in evidence.docs]
    return [
        "\n".join(bodies[d] for d in evidence.docs_of(org)) for org in range(len(evidence.orgs))
    ]


def _description_doc(org: OrgDoc) -> EvidenceDoc:
    body = "\n".join(p for p in (org.name, ", ".join(org.themes), org.description) if p.strip())
    return EvidenceDoc(f"org:{org.id}", org.name, body, "", None, org.countries, org.themes)


def build_evidence(corpus: Corpus) -> Evidence:
    """Index the corpus; participants naming unknown organisations are ignored."""
    org_index = {org.id: i for i, org in enumerate(corpus.organisations)}
    docs: list[EvidenceDoc] = []
    rows: list[int] = []
    lead_rows: list[int] = []
    cols: list[int] = []
    lead_cols: list[int] = []
    for project in corpus.projects:
        members = {(org_index[o], role) for o, role in project.participants if o in org_index}
        if not members:
            continue
        col = len(docs)
        docs.append(
            EvidenceDoc(
                project.id,
                project.title,
                project.body(),
                project.call_title,
                project.year,
                project.countries,
                project.themes,
            )
        )
        for row in sorted({m for m, _ in members}):
            rows.append(row)
            cols.append(col)
        for row in sorted({m for m, role in members if role == LEAD}):
            lead_rows.append(row)
            lead_cols.append(col)
    for org in corpus.organisations:
        if org.description.strip():
            rows.append(org_index[org.id])
            cols.append(len(docs))
            docs.append(_description_doc(org))
    shape = (len(corpus.organisations), len(docs))
    incidence = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    leads = sp.csr_matrix((np.ones(len(lead_rows)), (lead_rows, lead_cols)), shape=shape)
    return Evidence(list(corpus.organisations), docs, incidence, leads, org_index)
