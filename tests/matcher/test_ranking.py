"""Pooling and standardising, the hybrid ranker (lexical-only and with MiniLM), the baselines,
the method registry, filters and top-k, on the tiny corpus of conftest.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from matcher.aggregate import soft_max_pool, standardise
from matcher.baselines import OrgTfidf, Popularity
from matcher.documents import Corpus, OrgDoc, ProjectDoc, Query
from matcher.evidence import build_evidence
from matcher.filters import Filters, top_k
from matcher.hybrid import HybridRanker
from matcher.methods import DEFAULT_METHOD, METHODS, UnknownMethod, get_method
from tests.matcher.conftest import ORG_IDS, ORGS, make_corpus

MALARIA = Query("malaria prevention with bed nets and vaccines")
MATERNAL = Query("maternal and newborn health in West Africa")
SOLAR = Query("solar panels and battery storage")
DRUG_RESISTANCE = Query("malaria drug resistance surveillance")

HEALTH_ORGS_WITH_EVIDENCE = {"kemri", "tropmed", "mamasante", "santemere", "tbnet"}


def ranking(scores: np.ndarray) -> list[str]:
    return [ORG_IDS[i] for i in np.argsort(-scores, kind="stable")]


def by_id(scores: np.ndarray) -> dict[str, float]:
    return {org: float(s) for org, s in zip(ORG_IDS, scores, strict=True)}


# ---- evidence ----------------------------------------------------------------------------------


def test_evidence_has_one_document_per_project_and_per_description() -> None:
    evidence = build_evidence(make_corpus())
    # P12 names only an unknown organisation: left out; ghost has no description
    assert [doc.id for doc in evidence.docs] == [
        *(f"P{i}" for i in range(1, 12)),
        *(f"org:{org}" for org in ORG_IDS if org != "ghost"),
    ]
    assert by_id(evidence.doc_counts()) == {
        "kemri": 4,
        "mamasante": 3,
        "sunwerk": 3,
        "santemere": 3,
        "tropmed": 3,
        "tbnet": 2,
        "agrico": 2,
        "waterwise": 1,
        "ghost": 0,
    }
    assert by_id(evidence.lead_counts())["kemri"] == 2
    assert by_id(evidence.lead_counts())["tropmed"] == 1
    assert evidence.has_evidence().tolist() == [org != "ghost" for org in ORG_IDS]
    collab = evidence.collaboration().toarray()
    kemri, tropmed, mama = (evidence.org_index[o] for o in ("kemri", "tropmed", "mamasante"))
    assert collab[kemri, tropmed] == collab[tropmed, kemri] == 1  # P3
    assert collab[mama, tropmed] == collab[tropmed, mama] == 1  # P5
    assert collab.diagonal().tolist() == [0] * len(ORG_IDS)
    assert collab.sum() == 4


# ---- soft_max_pool and standardise ------------------------------------------------------------

# org 0: one document scoring 0.6; org 1: three documents scoring 0.5; org 2: no documents
INCIDENCE = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0]], dtype=float))
DOC_SCORES = np.array([0.6, 0.5, 0.5, 0.5])


@pytest.mark.parametrize("temperature", [0.1, 0.01, 0.002])
def test_soft_max_pool_approaches_the_best_document_at_low_temperature(temperature: float) -> None:
    pooled = soft_max_pool(INCIDENCE, DOC_SCORES, temperature)
    assert pooled[0] == pytest.approx(0.6)
    assert pooled[1] == pytest.approx(0.5 + temperature * math.log(3))
    # never below the best document, never above it by more than T·log(number of documents)
    assert 0.5 <= pooled[1] <= 0.5 + temperature * math.log(3) + 1e-12


def test_soft_max_pool_rewards_many_good_documents_at_high_temperature() -> None:
    low = soft_max_pool(INCIDENCE, DOC_SCORES, 0.01)
    high = soft_max_pool(INCIDENCE, DOC_SCORES, 1.0)
    assert low[0] > low[1]  # the single best document wins
    assert high[1] > high[0]  # three good documents beat one slightly better one
    assert high[1] == pytest.approx(0.5 + math.log(3))
    assert high[0] == pytest.approx(0.6)


def test_soft_max_pool_gives_minus_infinity_to_organisations_without_documents() -> None:
    pooled = soft_max_pool(INCIDENCE, DOC_SCORES, 0.05)
    assert pooled[2] == -math.inf
    assert np.isfinite(pooled[:2]).all()
    nothing = soft_max_pool(sp.csr_matrix((2, 0)), np.zeros(0), 0.05)
    assert nothing.tolist() == [-math.inf, -math.inf]


def test_soft_max_pool_pools_each_query_column_separately() -> None:
    scores = np.array([[0.6, -0.2], [0.5, 0.9], [0.5, 0.1], [0.5, 0.0]])
    pooled = soft_max_pool(INCIDENCE, scores, 0.05)
    assert pooled.shape == (3, 2)
    for j in range(2):
        assert np.allclose(pooled[:, j], soft_max_pool(INCIDENCE, scores[:, j], 0.05))
    assert pooled[1, 1] == pytest.approx(
        0.05 * math.log(math.exp(0.9 / 0.05) + math.exp(0.1 / 0.05) + 1.0)
    )


def test_soft_max_pool_at_a_very_low_temperature_does_not_underflow() -> None:
    incidence = sp.csr_matrix(np.array([[1, 0], [0, 1]], dtype=float))
    pooled = soft_max_pool(incidence, np.array([0.9, 0.1]), 0.001)
    assert pooled.tolist() == pytest.approx([0.9, 0.1])


def test_standardise_gives_z_scores_over_valid_organisations_and_the_floor_to_the_rest() -> None:
    out = standardise(np.array([1.0, 2.0, 3.0, -math.inf]), np.array([True, True, True, False]))
    z = math.sqrt(1.5)
    assert out.tolist() == pytest.approx([-z, 0.0, z, -z])
    # an invalid organisation's own value does not matter, nor count in the statistics
    again = standardise(np.array([1.0, 2.0, 3.0, 100.0]), np.array([True, True, True, False]))
    assert again.tolist() == pytest.approx([-z, 0.0, z, -z])


def test_standardise_works_per_query_column_and_survives_constant_scores() -> None:
    scores = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [-math.inf, -math.inf]])
    out = standardise(scores, np.array([True, True, True, False]))
    z = math.sqrt(1.5)
    assert out[:, 0].tolist() == pytest.approx([-z, 0.0, z, -z])
    assert out[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]  # constant: no division by zero
    assert standardise(np.array([1.0, 2.0]), np.array([False, False])).tolist() == [0.0, 0.0]


# ---- the hybrid ranker -------------------------------------------------------------------------


def test_lexical_hybrid_ranks_the_malaria_institute_first(lexical_ranker: HybridRanker) -> None:
    assert lexical_ranker.encoder_ is None and lexical_ranker.doc_vectors_ is None
    assert lexical_ranker.org_ids_ == ORG_IDS
    scores = lexical_ranker.score(MALARIA)
    order = ranking(scores)
    assert order[:2] == ["kemri", "tropmed"]  # three malaria projects; one (P3)
    assert order[-1] == "ghost"  # no evidence at all
    s = by_id(scores)
    # organisations sharing no term with the query differ only by their number of documents
    assert s["sunwerk"] == s["mamasante"] == s["santemere"]  # 3 documents each
    assert s["tbnet"] == s["agrico"]  # 2 documents each
    assert s["sunwerk"] < s["tropmed"] < s["kemri"] - 0.5
    assert ranking(lexical_ranker.score(SOLAR))[0] == "sunwerk"


def test_minilm_hybrid_ranks_malaria_first_and_the_solar_company_low(
    minilm_ranker: HybridRanker,
) -> None:
    assert minilm_ranker.doc_vectors_ is not None
    assert minilm_ranker.doc_vectors_.shape == (len(build_evidence(make_corpus()).docs), 384)
    order = ranking(minilm_ranker.score(MALARIA))
    assert order[0] == "kemri"
    assert order[1] == "tropmed"
    # the solar company comes after every health organisation with evidence
    assert order.index("sunwerk") >= len(HEALTH_ORGS_WITH_EVIDENCE)
    assert set(order[: len(HEALTH_ORGS_WITH_EVIDENCE)]) == HEALTH_ORGS_WITH_EVIDENCE
    assert order[-1] == "ghost"
    assert ranking(minilm_ranker.score(SOLAR))[0] == "sunwerk"
    assert ranking(minilm_ranker.score(MATERNAL))[0] == "mamasante"


@pytest.mark.parametrize("which", ["lexical_ranker", "minilm_ranker"])
def test_a_lead_boosts_its_past_collaborators_only(
    which: str, request: pytest.FixtureRequest
) -> None:
    ranker: HybridRanker = request.getfixturevalue(which)
    plain = ranker.score(MATERNAL)
    # kemri (P3) and mamasante (P5) each shared one project with tropmed, none with anyone else
    for lead in ("kemri", "mamasante"):
        boost = by_id(ranker.score(MATERNAL, lead=lead) - plain)
        assert boost["tropmed"] == pytest.approx(ranker.w_collab * math.log(2)), lead
        assert all(boost[o] == 0.0 for o in ORG_IDS if o != "tropmed"), lead
    # mamasante and tropmed both hold the newborn-care project P5: a near tie
    assert ranking(plain)[:2] in (["mamasante", "tropmed"], ["tropmed", "mamasante"])
    assert abs(by_id(plain)["mamasante"] - by_id(plain)["tropmed"]) < 0.5
    # ... that a lead who worked with tropmed decides
    led = by_id(ranker.score(MATERNAL, lead="kemri"))
    assert ranking(ranker.score(MATERNAL, lead="kemri"))[0] == "tropmed"
    assert led["tropmed"] > led["mamasante"] + 0.15
    # an unknown lead changes nothing
    assert np.array_equal(ranker.score(MATERNAL, lead="nobody"), plain)


def test_the_collaboration_boost_grows_with_the_number_of_shared_projects() -> None:
    orgs = [OrgDoc(id=x, name=x.upper()) for x in ("a", "b", "c", "d")]
    projects = [
        ProjectDoc(id="X1", title="malaria nets", participants=(("a", "lead"), ("b", "partner"))),
        ProjectDoc(id="X2", title="malaria drugs", participants=(("a", "lead"), ("b", "funder"))),
        ProjectDoc(id="X3", title="solar pumps", participants=(("a", "partner"), ("c", "lead"))),
        ProjectDoc(id="X4", title="solar parks", participants=(("c", "lead"), ("d", "lead"))),
    ]
    ranker = HybridRanker(encoder=None).fit(Corpus(orgs, projects))
    query = Query("malaria")
    boost = ranker.score(query, lead="a") - ranker.score(query)
    assert boost.tolist() == pytest.approx(
        [0.0, ranker.w_collab * math.log(3), ranker.w_collab * math.log(2), 0.0]
    )


def test_score_many_is_score_for_each_query(lexical_ranker: HybridRanker) -> None:
    queries = [MALARIA, SOLAR, MATERNAL]
    many = lexical_ranker.score_many(queries, leads=[None, None, "mamasante"])
    assert many.shape == (3, len(ORG_IDS))
    assert np.allclose(many[0], lexical_ranker.score(MALARIA))
    assert np.allclose(many[1], lexical_ranker.score(SOLAR))
    assert np.allclose(many[2], lexical_ranker.score(MATERNAL, lead="mamasante"))


def test_hybrid_init_only_stores_parameters_and_fit_returns_the_ranker() -> None:
    ranker = HybridRanker(encoder=None, w_activity=0.0)
    assert not hasattr(ranker, "org_ids_")
    assert ranker.fit(make_corpus()) is ranker
    assert ranker.org_ids_ == ORG_IDS


def test_hybrid_priors_without_text_evidence() -> None:
    """With every text leg switched off only the priors are left: log(1 + documents)."""
    ranker = HybridRanker(encoder=None, lexical=False).fit(make_corpus())
    evidence = build_evidence(make_corpus())
    expected = ranker.w_activity * np.log1p(evidence.doc_counts())
    expected += ranker.w_leads * np.log1p(evidence.lead_counts())
    assert np.allclose(ranker.score(MALARIA), expected)
    assert np.allclose(ranker.score(SOLAR), expected)


# ---- baselines ----------------------------------------------------------------------------------


def test_org_tfidf_is_the_cosine_to_one_document_per_organisation() -> None:
    ranker = OrgTfidf().fit(make_corpus())
    scores = by_id(ranker.score(Query("malaria bed nets")))
    assert ranking(ranker.score(Query("malaria bed nets")))[:2] == ["kemri", "tropmed"]
    assert all(scores[o] == 0.0 for o in ORG_IDS if o not in ("kemri", "tropmed"))
    assert 0.0 < scores["tropmed"] < scores["kemri"] <= 1.0
    # a query made of an organisation's whole evidence is at cosine 1 to it
    corpus = make_corpus()
    agrico_text = "\n".join(
        [
            next(p for p in corpus.projects if p.id == "P11").body(),
            "Cerrado Farmers Cooperative\nagriculture\n"
            "Cooperative of smallholder farmers growing maize and soybeans.",
        ]
    )
    assert by_id(ranker.score(Query(agrico_text)))["agrico"] == pytest.approx(1.0, abs=1e-5)
    # English stop words carry no weight
    assert not ranker.score(Query("the and of with")).any()


def test_org_tfidf_with_a_popularity_prior_adds_log_document_counts() -> None:
    plain = OrgTfidf().fit(make_corpus())
    prior = OrgTfidf(w_popularity=0.02).fit(make_corpus())
    counts = build_evidence(make_corpus()).doc_counts()
    for query in (MALARIA, SOLAR, Query("the")):
        assert np.allclose(prior.score(query), plain.score(query) + 0.02 * np.log1p(counts))
    many = prior.score_many([MALARIA, SOLAR])
    assert many.shape == (2, len(ORG_IDS))
    assert np.allclose(many[1], prior.score(SOLAR))


def test_popularity_is_log_project_count_whatever_the_query() -> None:
    ranker = Popularity().fit(make_corpus())
    expected = np.log1p([4, 3, 3, 3, 3, 2, 2, 1, 0])
    assert np.allclose(ranker.score(MALARIA), expected)
    assert np.array_equal(ranker.score(SOLAR), ranker.score(MALARIA))
    assert ranker.score_many([MALARIA, SOLAR]).shape == (2, len(ORG_IDS))
    assert ranking(ranker.score(MALARIA))[:3] == [
        "kemri",
        "mamasante",
        "sunwerk",
    ]  # ties: corpus order


# ---- the method registry ------------------------------------------------------------------------


def test_methods_are_fresh_unfitted_rankers() -> None:
    assert set(METHODS) == {
        "tfidf",
        "tfidf-prior",
        "popularity",
        "dense",
        "hybrid",
        "hybrid-no-profile",
        "hybrid-usem3",
    }
    assert DEFAULT_METHOD == "hybrid"
    for name in METHODS:
        first, second = get_method(name), get_method(name)
        assert first is not second
        assert not hasattr(first, "org_ids_"), name
    assert isinstance(get_method("tfidf"), OrgTfidf)
    assert get_method("tfidf").w_popularity == 0.0
    assert get_method("tfidf-prior").w_popularity == 0.02
    assert isinstance(get_method("popularity"), Popularity)
    hybrid = get_method("hybrid")
    assert isinstance(hybrid, HybridRanker)
    assert (hybrid.encoder, hybrid.lexical) == ("minilm", True)
    dense = get_method("dense")
    assert isinstance(dense, HybridRanker)
    assert (dense.encoder, dense.lexical, dense.w_call, dense.w_activity, dense.w_collab) == (
        "minilm",
        False,
        0.0,
        0.0,
        0.0,
    )
    usem3 = get_method("hybrid-usem3")
    assert isinstance(usem3, HybridRanker)
    assert usem3.encoder == "usem3"


def test_fitting_one_method_does_not_fit_the_next() -> None:
    fitted = get_method("tfidf").fit(make_corpus())
    assert ranking(fitted.score(MALARIA))[0] == "kemri"
    assert not hasattr(get_method("tfidf"), "org_ids_")


def test_an_unknown_method_lists_the_known_ones() -> None:
    with pytest.raises(UnknownMethod) as raised:
        get_method("bm25")
    assert str(raised.value) == (
        "unknown method 'bm25' (known: dense, hybrid, hybrid-no-profile, hybrid-usem3, "
        "popularity, tfidf, tfidf-prior)"
    )
    assert raised.value.name == "bm25"
    assert isinstance(raised.value, KeyError)


# ---- filters ------------------------------------------------------------------------------------


def accepted(filters: Filters) -> list[str]:
    return [org.id for org, ok in zip(ORGS, filters.mask(ORGS), strict=True) if ok]


def test_empty_filters_accept_everyone() -> None:
    assert Filters().is_empty()
    assert Filters.of(countries=None, regions=[]).is_empty()
    assert accepted(Filters()) == ORG_IDS


def test_countries_are_countries_of_work_or_the_hq() -> None:
    assert accepted(Filters.of(countries=["ke"])) == ["kemri", "tropmed"]
    # santemere works in CI, ML, BF; its HQ (FR) counts as a country too
    assert accepted(Filters.of(countries=["FR"])) == ["santemere"]
    assert accepted(Filters.of(countries=["ci", "IN"])) == ["santemere", "tbnet", "waterwise"]


def test_hq_countries_look_at_the_hq_only() -> None:
    assert accepted(Filters.of(hq_countries=["fr"])) == ["santemere"]
    assert accepted(Filters.of(hq_countries=["CI"])) == []  # only a country of work
    assert accepted(Filters.of(hq_countries=["ke", "gb"])) == ["kemri", "tropmed"]


def test_regions_match_the_hq_region_or_any_region_of_work() -> None:
    assert accepted(Filters.of(regions=["sub-saharan africa"])) == [
        "kemri",
        "mamasante",
        "santemere",
        "tropmed",
        "tbnet",
    ]
    # waterwise has no regions of work: matched through its HQ region
    assert accepted(Filters.of(regions=["SOUTH ASIA"])) == ["tbnet", "waterwise"]


def test_income_groups_org_types_languages_and_networks() -> None:
    assert accepted(Filters.of(income_groups=["high INCOME"])) == [
        "sunwerk",
        "santemere",
        "tropmed",
        "ghost",
    ]
    # santemere's type is spelled "NGO", mamasante's "ngo"
    assert accepted(Filters.of(org_types=["Ngo"])) == ["mamasante", "santemere"]
    assert accepted(Filters.of(org_types=["cooperative", "foundation"])) == ["agrico", "ghost"]
    assert accepted(Filters.of(languages=["FR"])) == ["mamasante", "santemere"]
    assert accepted(Filters.of(languages=[" pt ", "de"])) == ["sunwerk", "agrico"]
    # ghost spells its network "ghn"
    assert accepted(Filters.of(networks=["Ghn"])) == ["kemri", "santemere", "tropmed", "ghost"]
    assert accepted(Filters.of(networks=["stop tb"])) == ["tbnet"]


def test_fields_combine_with_and_values_with_or() -> None:
    filters = Filters.of(regions=["Sub-Saharan Africa"], org_types=["ngo", "research"])
    assert accepted(filters) == ["kemri", "mamasante", "santemere", "tbnet"]
    filters = Filters.of(regions=["Sub-Saharan Africa"], org_types=["ngo"], languages=["en"])
    assert accepted(filters) == ["mamasante"]
    assert accepted(Filters.of(countries=["KE"], networks=["stop tb"])) == []


def test_organisations_missing_a_fact_fail_a_filter_on_it() -> None:
    bare = OrgDoc(id="bare", name="Bare")
    assert Filters().accepts(bare)
    for field in ("countries", "hq_countries", "regions", "income_groups", "org_types"):
        assert not Filters.of(**{field: ["x"]}).accepts(bare), field
    assert not Filters.of(languages=["en"]).accepts(bare)
    assert not Filters.of(networks=["ghn"]).accepts(bare)


def test_filters_built_directly_are_case_insensitive_too() -> None:
    kemri = ORGS[0]
    assert Filters(countries=frozenset({"KE"})).accepts(kemri)


# ---- top-k --------------------------------------------------------------------------------------


def test_top_k_is_best_first_among_allowed_and_skips_nan() -> None:
    scores = np.array([0.1, 0.9, np.nan, 0.5, 0.7, -math.inf])
    everyone = np.ones(6, dtype=bool)
    assert top_k(scores, everyone, 3).tolist() == [1, 4, 3]
    assert top_k(scores, everyone, 10).tolist() == [1, 4, 3, 0, 5]
    allowed = np.array([True, False, True, True, False, True])
    assert top_k(scores, allowed, 2).tolist() == [3, 0]
    assert top_k(scores, everyone, 0).tolist() == []
    assert top_k(scores, np.zeros(6, dtype=bool), 3).tolist() == []


def test_top_k_breaks_ties_by_lower_index() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.5])
    assert top_k(scores, np.ones(5, dtype=bool), 5).tolist() == [1, 3, 0, 2, 4]
    assert top_k(scores, np.ones(5, dtype=bool), 2).tolist() == [1, 3]


def test_top_k_breaks_ties_at_the_cut_off_by_lower_index() -> None:
    assert top_k(np.array([0.0, 0.0, 1.0, 1.0]), np.ones(4, dtype=bool), 1).tolist() == [2]
    scores = np.zeros(1000)
    scores[[700, 3, 500]] = 2.0
    scores[[999, 10]] = 1.0
    assert top_k(scores, np.ones(1000, dtype=bool), 7).tolist() == [3, 500, 700, 10, 999, 0, 1]


def test_fitting_an_empty_corpus_does_not_break_popularity() -> None:
    ranker = Popularity().fit(Corpus())
    assert ranker.org_ids_ == []
    assert ranker.score(MALARIA).shape == (0,)
