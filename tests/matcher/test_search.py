"""PartnerSearch: rankings with filters, and an explanation for every hit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from matcher.documents import Query
from matcher.explain import QueryView, shared_terms
from matcher.filters import Filters
from matcher.hybrid import HybridRanker
from matcher.search import EmptyQuery, Hit, MatchError, PartnerSearch, UnknownOrganisation
from matcher.text import passages
from tests.matcher.conftest import ORG_IDS

MALARIA_PART = (
    "Malaria remains a leading cause of death among young children in East Africa. "
    "We seek partners with field experience in malaria vector control, including the "
    "distribution of insecticide-treated bed nets and indoor residual spraying. "
    "The consortium will run a cluster-randomised trial in western Kenya to measure malaria "
    "incidence in children under five. "
) * 3
SOLAR_PART = (
    "Health facilities in rural areas often lack reliable electricity. "
    "A second work package will install rooftop solar panels with battery storage at clinics. "
    "An engineering company will size the photovoltaic systems, train technicians and "
    "maintain the inverters. "
) * 3
# long enough to be read as two passages: the malaria one, then the solar one
TWO_TOPICS = Query(
    text=MALARIA_PART + SOLAR_PART,
    countries=("KE", "de", "BR", "fr", "IN"),
    themes=("Malaria", "Renewable Energy", "Tuberculosis"),
)
MALARIA_PASSAGE, SOLAR_PASSAGE = passages(TWO_TOPICS.body())

CALLS = [
    Query("Malaria vaccines and insecticide-treated bed nets", title="Malaria call", id="C1"),
    Query("Maternal and newborn health, midwives and childbirth", title="Mothers call", id="C2"),
    Query("Solar energy and battery storage for buildings", title="Solar call", id="C3"),
]

RANKERS = ["lexical_ranker", "minilm_ranker"]


@pytest.fixture(params=RANKERS)
def search(request: pytest.FixtureRequest) -> PartnerSearch:
    ranker: HybridRanker = request.getfixturevalue(request.param)
    return PartnerSearch(ranker)


@pytest.fixture
def lexical_search(lexical_ranker: HybridRanker) -> PartnerSearch:
    return PartnerSearch(lexical_ranker)


def hit(hits: list[Hit], org_id: str) -> Hit:
    return next(h for h in hits if h.id == org_id)


def test_the_two_topic_query_is_read_as_two_passages() -> None:
    assert len(passages(TWO_TOPICS.body())) == 2
    assert "malaria" in MALARIA_PASSAGE.lower() and "solar" not in MALARIA_PASSAGE.lower()
    assert "solar" in SOLAR_PASSAGE.lower() and "malaria" not in SOLAR_PASSAGE.lower()


def test_hits_are_ranked_by_the_ranker_score(search: PartnerSearch) -> None:
    hits = search.search(TWO_TOPICS, top=len(ORG_IDS))
    assert sorted(h.id for h in hits) == sorted(ORG_IDS)
    assert hits[0].id == "kemri"
    assert hits[-1].id == "ghost"
    assert hit(hits, "sunwerk").name == "Sonnenwerk Solar GmbH"
    scores = dict(zip(ORG_IDS, search.ranker.score(TWO_TOPICS), strict=True))
    for h in hits:
        assert h.score == round(float(scores[h.id]), 4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.id for h in search.search(TWO_TOPICS, top=3)] == [h.id for h in hits[:3]]


def test_a_shorter_list_is_the_head_of_a_longer_one_even_with_ties(
    lexical_search: PartnerSearch,
) -> None:
    malaria = Query("malaria prevention with bed nets and vaccines")
    everyone = [h.id for h in lexical_search.search(malaria, top=len(ORG_IDS))]
    assert everyone[:5] == ["kemri", "tropmed", "mamasante", "sunwerk", "santemere"]
    assert [h.id for h in lexical_search.search(malaria, top=3)] == everyone[:3]


def test_the_explanation_quotes_the_passage_each_organisation_answers(
    search: PartnerSearch,
) -> None:
    hits = search.search(TWO_TOPICS, top=len(ORG_IDS))
    assert hit(hits, "sunwerk").explanation.passage == SOLAR_PASSAGE
    assert hit(hits, "kemri").explanation.passage == MALARIA_PASSAGE


def test_the_explanation_lists_the_best_projects_best_first(search: PartnerSearch) -> None:
    hits = search.search(TWO_TOPICS, top=len(ORG_IDS))
    kemri = hit(hits, "kemri").explanation.projects
    assert len(kemri) == 3  # at most three, out of P1, P2, P3 and the description
    assert kemri[0].id == "P1"
    assert kemri[0].title.startswith("Long-lasting insecticidal bed nets")
    assert {p.id for p in kemri} <= {"P1", "P2", "P3", "org:kemri"}
    sunwerk = hit(hits, "sunwerk").explanation.projects
    assert {p.id for p in sunwerk} == {"P6", "P7", "org:sunwerk"}
    for h in hits:
        projects = h.explanation.projects
        assert [p.score for p in projects] == sorted((p.score for p in projects), reverse=True)
        for p in projects:
            assert p.score == pytest.approx(p.dense + p.lexical, abs=2e-4)
    assert hit(hits, "ghost").explanation.projects == ()
    assert [p.id for p in hit(hits, "waterwise").explanation.projects] == ["org:waterwise"]


def test_project_scores_are_lexical_only_without_an_encoder(lexical_search: PartnerSearch) -> None:
    hits = lexical_search.search(TWO_TOPICS, top=len(ORG_IDS))
    projects = [p for h in hits for p in h.explanation.projects]
    assert projects
    assert all(p.dense == 0.0 and p.score == p.lexical for p in projects)
    # no term in common with the query: all zero, in corpus order
    assert [(p.id, p.score) for p in hit(hits, "santemere").explanation.projects] == [
        ("P8", 0.0),
        ("P9", 0.0),
        ("org:santemere", 0.0),
    ]


def test_the_explanation_gives_shared_terms_and_overlapping_countries_and_themes(
    search: PartnerSearch,
) -> None:
    hits = search.search(TWO_TOPICS, top=len(ORG_IDS))
    kemri = hit(hits, "kemri").explanation
    assert {"malaria", "bed", "nets", "kenya"} <= set(kemri.terms)
    assert kemri.terms[0] == "malaria"
    assert "solar" not in kemri.terms
    assert len(kemri.terms) <= 8
    sunwerk = hit(hits, "sunwerk").explanation
    assert {"solar", "battery", "storage", "rooftop", "photovoltaic"} <= set(sunwerk.terms)
    assert "malaria" not in sunwerk.terms
    # countries: the organisation's own and those of its projects; themes kept as the query wrote
    assert (kemri.countries, kemri.themes) == (("KE",), ("Malaria",))
    assert (sunwerk.countries, sunwerk.themes) == (("DE",), ("Renewable Energy",))
    tbnet = hit(hits, "tbnet").explanation
    assert (tbnet.countries, tbnet.themes) == (("IN",), ("Tuberculosis",))
    assert hit(hits, "agrico").explanation.countries == ("BR",)
    # countries of the organisation itself count, its HQ included
    assert hit(hits, "santemere").explanation.countries == ("FR",)  # HQ; works in CI, ML, BF
    assert hit(hits, "waterwise").explanation.countries == ("IN",)  # HQ; no projects
    ghost = hit(hits, "ghost").explanation
    assert (ghost.terms, ghost.countries, ghost.themes) == ((), (), ())
    santemere = hit(hits, "santemere").explanation
    assert santemere.terms == ()  # French words only


def test_filters_apply_before_top_k(search: PartnerSearch) -> None:
    malaria = Query("malaria prevention with bed nets and vaccines")
    everyone = [h.id for h in search.search(malaria, top=len(ORG_IDS))]
    assert everyone.index("sunwerk") >= 3 and everyone.index("agrico") >= 5
    # exactly two organisations speak Portuguese or German; both come back although they rank low
    hits = search.search(malaria, filters=Filters.of(languages=["PT", "de"]), top=3)
    assert [h.id for h in hits] == ["sunwerk", "agrico"]
    hits = search.search(malaria, filters=Filters.of(org_types=["company"]), top=1)
    assert [h.id for h in hits] == ["sunwerk"]
    assert search.search(malaria, filters=Filters.of(countries=["JP"]), top=3) == []


def test_excluded_organisations_and_the_lead_do_not_come_back(search: PartnerSearch) -> None:
    malaria = Query("malaria drug resistance surveillance")
    assert search.search(malaria, top=1)[0].id == "kemri"
    hits = search.search(malaria, top=2, exclude=["kemri", "nobody"])
    assert [h.id for h in hits][:1] == ["tropmed"]
    maternal = Query("maternal and newborn health in West Africa")
    led = search.search(maternal, top=len(ORG_IDS), lead="kemri")
    assert "kemri" not in [h.id for h in led]
    assert len(led) == len(ORG_IDS) - 1
    assert led[0].id == "tropmed"  # kemri's past partner (P3) overtakes mamasante
    led = search.search(maternal, top=len(ORG_IDS), lead="mamasante")
    assert "mamasante" not in [h.id for h in led]
    assert led[0].id == "tropmed"


def test_similar_organisations_exclude_the_organisation_itself(search: PartnerSearch) -> None:
    hits = search.similar("kemri", top=len(ORG_IDS))
    ids = [h.id for h in hits]
    assert "kemri" not in ids
    assert sorted(ids) == sorted(o for o in ORG_IDS if o != "kemri")
    assert ids[0] == "tropmed"  # shares two malaria projects
    assert ids[-1] == "ghost"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0].explanation
    assert top.projects[0].id in {"P1", "P3"}
    assert top.passage == ""  # no query text to quote
    assert "malaria" in top.terms
    assert "KE" in top.countries  # kemri's own countries are the query's
    assert [h.id for h in search.similar("sunwerk", top=1)] != ["sunwerk"]
    filtered = search.similar("kemri", filters=Filters.of(org_types=["research"]))
    assert [h.id for h in filtered] == ["tbnet"]  # kemri, also "research", is left out


def test_calls_for_an_organisation_rank_the_fitting_call_first(search: PartnerSearch) -> None:
    for org, best in [("kemri", "C1"), ("mamasante", "C2"), ("sunwerk", "C3")]:
        hits = search.calls_for(org, CALLS)
        assert hits[0].id == best, org
        assert sorted(h.id for h in hits) == ["C1", "C2", "C3"]
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    hits = search.calls_for("sunwerk", CALLS, top=1)
    assert [(h.id, h.name) for h in hits] == [("C3", "Solar call")]
    assert {p.id for p in hits[0].explanation.projects} <= {"P6", "P7", "org:sunwerk"}
    assert "solar" in hits[0].explanation.terms


def test_calls_without_an_id_are_named_by_position(lexical_search: PartnerSearch) -> None:
    calls = [Query("Solar energy"), Query("Malaria bed nets", title="Bed nets")]
    hits = lexical_search.calls_for("kemri", calls)
    assert [(h.id, h.name) for h in hits] == [("1", "Bed nets"), ("0", "")]
    assert lexical_search.calls_for("kemri", []) == []


def test_unknown_organisations_are_refused_with_their_name(lexical_search: PartnerSearch) -> None:
    with pytest.raises(UnknownOrganisation, match=r"^unknown organisation 'acme'$") as raised:
        lexical_search.similar("acme")
    assert raised.value.org_id == "acme"
    assert isinstance(raised.value, MatchError)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(UnknownOrganisation, match="'acme'"):
        lexical_search.calls_for("acme", CALLS)
    with pytest.raises(UnknownOrganisation, match="'acme'"):
        lexical_search.calls_for("acme", [])
    with pytest.raises(UnknownOrganisation, match="'acme'"):
        lexical_search.search(Query("malaria"), lead="acme")


@pytest.mark.parametrize("query", [Query(""), Query("  \n\t "), Query(" ", title=" ")])
def test_an_empty_query_is_refused(lexical_search: PartnerSearch, query: Query) -> None:
    with pytest.raises(EmptyQuery) as raised:
        lexical_search.search(query)
    assert str(raised.value) == "the query is empty: give some text to search for"
    assert isinstance(raised.value, MatchError)


def test_a_query_with_only_a_title_or_keywords_is_not_empty(lexical_search: PartnerSearch) -> None:
    assert lexical_search.search(Query("", title="Malaria"), top=1)[0].id == "kemri"
    assert lexical_search.search(Query("", keywords=("solar",)), top=1)[0].id == "sunwerk"


def test_shared_terms_leave_out_call_and_deliverable_boilerplate() -> None:
    vocabulary = np.array(["project", "malaria", "results", "nets", "website"])
    doc_terms = sp.csr_matrix(np.array([[0.9, 0.5, 0.8, 0.4, 0.7]], dtype=np.float32))
    query_terms = sp.csr_matrix(np.array([[0.9, 0.6, 0.9, 0.3, 0.9]], dtype=np.float32))
    view = QueryView(Query(text="x"), [], None, query_terms, None, None)
    assert shared_terms(view, doc_terms, np.array([0]), vocabulary) == ("malaria", "nets")
