"""Matching services on a tiny, deterministic network in a real SQLite database, real matcher.

The network is built and indexed once per module (loading the sentence encoder costs seconds);
tests that change data work on a copy of that database, whose embedding cache is already warm.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.demo import demo_settings
from api.services.corpus import calls_from_db, corpus_from_db, countries_named_in
from api.services.errors import NotFound
from api.services.matching import (
    InvalidFilter,
    calls_for_organisation,
    make_filters,
    members_for_call,
    search_partners,
    similar_organisations,
)
from api.services.search_index import (
    IndexMissing,
    IndexReport,
    IndexUnreadable,
    build_index,
    check_index,
    index_header,
    load_index,
    write_index,
)
from matcher.embedders import UnknownModel
from matcher.search import EmptyQuery, Hit, PartnerSearch
from models.call import Call, CallStatus
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.network import Membership, Network
from models.organisation import Organisation, OrgType
from models.project import ParticipantRole, Project, ProjectParticipant
from models.settings import Settings

ORGANISATIONS = {
    "malaria_ngo": dict(
        name="Malaria Action Kenya",
        org_type=OrgType.NGO,
        hq_country="KE",
        countries=["UG", "TZ"],
        languages=["en", "sw"],
        description="Community malaria prevention: insecticide-treated bed nets, indoor "
        "residual spraying and malaria case management by community health workers.",
    ),
    "solar": dict(
        name="SunGrid Solar GmbH",
        org_type=OrgType.PRIVATE,
        hq_country="DE",
        languages=["de", "en"],
        description="Solar panels, batteries and off-grid electricity installations.",
    ),
    "tropical": dict(
        name="Institute of Tropical Medicine",
        org_type=OrgType.RESEARCH,
        hq_country="BE",
        countries=["CD"],
        languages=["fr", "en"],
        description="Research on malaria drug resistance, parasites and tropical diseases.",
    ),
    "maternal": dict(
        name="Safe Births Nigeria",
        org_type=OrgType.NGO,
        hq_country="NG",
        countries=["GH"],
        languages=["en"],
        description="Maternal and newborn health: midwife training and emergency obstetric care.",
    ),
    "ministry": dict(
        name="Ministry of Health Uganda",
        org_type=OrgType.PUBLIC,
        hq_country="UG",
        languages=["en"],
        description="National immunisation programme and primary health care services.",
    ),
    "digital": dict(
        name="mHealth Labs India",
        org_type=OrgType.PRIVATE,
        hq_country="IN",
        languages=["en", "hi"],
        description="Mobile phone apps, SMS reminders and telemedicine for health workers.",
    ),
    "nutrition": dict(
        name="Nutrition First Malawi",
        org_type=OrgType.NGO,
        hq_country="MW",
        languages=["ny", "en"],
        description="Management of acute malnutrition in infants under six months and "
        "breastfeeding support for mothers.",
    ),
}

LEAD, PARTNER = ParticipantRole.LEAD, ParticipantRole.PARTNER
PROJECTS = {
    "bed_nets": dict(
        title="Bed nets against malaria in northern Uganda",
        description="Distribution of long-lasting insecticidal bed nets and malaria testing "
        "by village health teams to cut malaria deaths among children.",
        keywords=["malaria", "bed nets"],
        countries=["UG"],
        year=2022,
        funding_call_title="Malaria prevention in endemic countries",
        participants=[("malaria_ngo", LEAD), ("ministry", PARTNER)],
    ),
    "resistance": dict(
        title="Surveillance of antimalarial drug resistance",
        description="Genomic surveillance of malaria parasites resistant to artemisinin.",
        keywords=["malaria", "drug resistance"],
        countries=["CD", "TZ"],
        year=2021,
        funding_call_title="Antimalarial drug resistance research",
        participants=[("tropical", LEAD), ("malaria_ngo", PARTNER)],
    ),
    "solar_clinics": dict(
        title="Solar power for rural clinics",
        description="Solar panels and batteries keep vaccine fridges and lights running.",
        keywords=["solar energy"],
        countries=["KE"],
        year=2023,
        funding_call_title="Clean energy for rural development",
        participants=[("solar", LEAD), ("digital", PARTNER)],
    ),
    "midwives": dict(
        title="Midwife training for safe births",
        description="Training midwives in emergency obstetric and newborn care in Nigeria.",
        keywords=["maternal health", "midwives"],
        countries=["NG", "GH"],
        year=2020,
        funding_call_title="Maternal and newborn health workforce",
        participants=[("maternal", LEAD), ("ministry", PARTNER)],
    ),
    "antenatal_app": dict(
        title="SMS reminders for antenatal care",
        description="A mobile app sends pregnant women reminders of antenatal visits.",
        keywords=["mhealth", "antenatal care"],
        countries=["IN"],
        year=2022,
        funding_call_title="Digital health innovation",
        participants=[("digital", LEAD), ("maternal", PARTNER)],
    ),
    "infant_malnutrition": dict(
        title="Community management of acute malnutrition in infants",
        description="Screening and treating malnourished infants under six months and "
        "supporting their mothers with breastfeeding counselling.",
        keywords=["malnutrition", "infants"],
        countries=["MW"],
        year=2023,
        funding_call_title="Nutrition in the first 1000 days",
        participants=[("nutrition", LEAD), ("maternal", PARTNER)],
    ),
    "infant_pathway": dict(
        title="A care pathway for small and nutritionally at-risk infants",
        description="Nurses assess infants under six months at risk of malnutrition and follow "
        "them up in the community with their mothers.",
        keywords=["infant nutrition", "malnutrition"],
        countries=["MW"],
        year=2024,
        funding_call_title="Nutrition in the first 1000 days",
        participants=[("nutrition", LEAD)],
    ),
    "orphan": dict(title="A project nobody took part in", description="Malaria.", year=2020),
}

CALLS = {
    "malaria_call": dict(
        title="Malaria elimination in East Africa",
        text="Proposals should scale up malaria prevention with bed nets and community case "
        "management of malaria.",
        status=CallStatus.OPEN,
    ),
    "nutrition_call": dict(
        title="Nutrition of small and at-risk infants",
        text="Improve the management of acute malnutrition in infants under six months.",
        status=CallStatus.OPEN,
    ),
    "solar_call": dict(
        title="Solar energy for health facilities",
        text="Solar power and batteries for rural health clinics.",
        status=CallStatus.CLOSED,
    ),
}

NETWORKS = {"afro-health": ["malaria_ngo", "ministry", "tropical"], "mami": ["nutrition"]}


@dataclass
class World:
    url: str
    engine: Engine
    settings: Settings
    ids: dict[str, int]  # organisation, project and call keys -> database ids
    report: IndexReport

    def search(self) -> PartnerSearch:
        return load_index(self.settings, engine=self.engine)


def build_network(engine: Engine) -> dict[str, int]:
    """The network above, through the models; returns every key's database id."""
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        for key, fields in ORGANISATIONS.items():
            ids[key] = _add(session, Organisation(**fields))
        for key, fields in PROJECTS.items():
            fields = dict(fields)
            members = fields.pop("participants", [])
            ids[key] = _add(session, Project(**fields))
            for org, role in members:
                session.add(
                    ProjectParticipant(project_id=ids[key], organisation_id=ids[org], role=role)
                )
        for key, fields in CALLS.items():
            ids[key] = _add(session, Call(source="test", source_id=key, **fields))
        for slug, members in NETWORKS.items():
            network_id = _add(session, Network(name=slug.upper(), slug=slug))
            for org in members:
                session.add(Membership(network_id=network_id, organisation_id=ids[org]))
    return ids


def _add(session: Session, row: Organisation | Project | Call | Network) -> int:
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def index_settings(url: str, index: Path) -> Settings:
    return Settings(database_url=url, index_path=index, embedding_model="minilm")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("matching")
    url = f"sqlite:///{folder / 'network.db'}"
    upgrade(url)
    engine = make_engine(url)
    ids = build_network(engine)
    settings = index_settings(url, folder / "network.index")
    report = build_index(engine, settings)
    yield World(url, engine, settings, ids, report)
    engine.dispose()


@pytest.fixture
def copy(world: World, tmp_path: Path) -> Iterator[World]:
    """A copy of the indexed network (database and index) that a test may change."""
    path = tmp_path / "copy.db"
    with sqlite3.connect(world.url.removeprefix("sqlite:///")) as source:
        target = sqlite3.connect(path)
        source.backup(target)
        target.close()
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    index = tmp_path / "copy.index"
    index.write_bytes(Path(world.settings.search_index_path()).read_bytes())
    yield World(url, engine, index_settings(url, index), world.ids, world.report)
    engine.dispose()


def names(hits: list[Hit]) -> list[str]:
    return [hit.name for hit in hits]


# --- the corpus --------------------------------------------------------------------------------


def test_corpus_has_every_organisation_with_its_reference_facts(world: World) -> None:
    with Session(world.engine) as session:
        corpus = corpus_from_db(session)
    orgs = {org.id: org for org in corpus.organisations}
    assert len(orgs) == len(ORGANISATIONS)
    ngo = orgs[str(world.ids["malaria_ngo"])]
    assert (ngo.name, ngo.org_type, ngo.hq_country) == ("Malaria Action Kenya", "ngo", "KE")
    assert ngo.countries == ("UG", "TZ")
    assert ngo.networks == ("afro-health",)
    assert (ngo.hq_region, ngo.income_group) == ("Sub-Saharan Africa", "LM")
    assert ngo.regions == ("Sub-Saharan Africa",)
    solar = orgs[str(world.ids["solar"])]
    assert (solar.hq_region, solar.income_group, solar.networks) == (
        "Europe & Central Asia",
        "H",
        (),
    )


def test_corpus_has_projects_with_participants_only(world: World) -> None:
    with Session(world.engine) as session:
        corpus = corpus_from_db(session)
    projects = {project.id: project for project in corpus.projects}
    assert str(world.ids["orphan"]) not in projects
    assert len(projects) == len(PROJECTS) - 1
    bed_nets = projects[str(world.ids["bed_nets"])]
    assert bed_nets.participants == (
        (str(world.ids["malaria_ngo"]), "lead"),
        (str(world.ids["ministry"]), "partner"),
    )
    assert (bed_nets.keywords, bed_nets.countries, bed_nets.year) == (
        ("malaria", "bed nets"),
        ("UG",),
        2022,
    )


def test_corpus_takes_a_fixed_number_of_queries(world: World) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(world.engine, "before_cursor_execute", count)
    try:
        with Session(world.engine) as session:
            corpus_from_db(session)
    finally:
        event.remove(world.engine, "before_cursor_execute", count)
    assert len(statements) == 5  # countries, memberships, organisations, participants, projects


def test_calls_from_db_open_only(world: World) -> None:
    with Session(world.engine) as session:
        every = calls_from_db(session, open_only=False)
        open_calls = calls_from_db(session, open_only=True)
    assert [call.title for call in every] == [fields["title"] for fields in CALLS.values()]
    assert {call.id for call in open_calls} == {
        str(world.ids["malaria_call"]),
        str(world.ids["nutrition_call"]),
    }


def test_calls_past_their_deadline_are_not_open_calls(copy: World) -> None:
    with Session(copy.engine) as session:
        call = session.get(Call, copy.ids["nutrition_call"])
        assert call is not None
        call.next_deadline = date(2026, 9, 2)
        session.add(call)
        session.commit()
        before = calls_from_db(session, open_only=True, today=date(2026, 9, 2))
        after = calls_from_db(session, open_only=True, today=date(2026, 9, 3))
    assert str(copy.ids["nutrition_call"]) in {c.id for c in before}
    assert {c.id for c in after} == {str(copy.ids["malaria_call"])}


# --- searching ---------------------------------------------------------------------------------


def test_malaria_ngo_ranks_above_the_solar_company(world: World) -> None:
    ranking = search_partners(search=world.search(), text="malaria bed nets", top=10)
    order = names(ranking.hits)
    assert order[0] == "Malaria Action Kenya"
    assert order.index("Malaria Action Kenya") < order.index("SunGrid Solar GmbH")


def test_explanation_names_the_best_project_and_shared_terms(world: World) -> None:
    ranking = search_partners(search=world.search(), text="malaria bed nets", top=1)
    why = ranking.hits[0].explanation
    assert why.projects[0].title == "Bed nets against malaria in northern Uganda"
    assert {"malaria", "nets"} <= set(why.terms)


def test_explanation_shows_the_countries_both_name(world: World) -> None:
    ranking = search_partners(search=world.search(), text="malaria in Uganda or Ghana", top=3)
    countries = {hit.name: hit.explanation.countries for hit in ranking.hits}
    assert countries["Malaria Action Kenya"] == ("UG",)


def test_countries_named_in_a_text() -> None:
    text = "Guinea-Bissau, Papua New Guinea, Niger and Nigeria, the DRC; not a chad or turkey"
    assert countries_named_in(text) == ("GW", "PG", "NE", "NG", "CD")


NGOS = {"Malaria Action Kenya", "Safe Births Nigeria", "Nutrition First Malawi"}
AFRO = {"Malaria Action Kenya", "Ministry of Health Uganda", "Institute of Tropical Medicine"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (dict(org_types=["ngo"]), NGOS),
        (dict(countries=["UG"]), {"Malaria Action Kenya", "Ministry of Health Uganda"}),
        (dict(hq_countries=["de", "in"]), {"SunGrid Solar GmbH", "mHealth Labs India"}),
        (dict(networks=["afro-health"]), AFRO),
        (dict(income_groups=["L"]), {"Ministry of Health Uganda", "Nutrition First Malawi"}),
        (dict(regions=["south asia"]), {"mHealth Labs India"}),
        (dict(languages=["fr"]), {"Institute of Tropical Medicine"}),
    ],
)
def test_filters_return_every_match_even_the_weak_ones(
    world: World, filters: dict[str, list[str]], expected: set[str]
) -> None:
    ranking = search_partners(
        search=world.search(), text="malaria bed nets", filters=make_filters(**filters), top=3
    )
    assert set(names(ranking.hits)) == expected


def test_filters_refuse_values_that_match_nothing() -> None:
    with pytest.raises(InvalidFilter, match="unknown organisation type 'charity'"):
        make_filters(org_types=["charity"])
    with pytest.raises(InvalidFilter, match="unknown income group 'poor'"):
        make_filters(income_groups=["poor"])
    with pytest.raises(InvalidFilter, match="unknown country 'XX'"):
        make_filters(countries=["XX"])
    with pytest.raises(InvalidFilter, match="unknown region 'Mars'"):
        make_filters(regions=["Mars"])


def test_empty_query_is_refused(world: World) -> None:
    with pytest.raises(EmptyQuery):
        search_partners(search=world.search(), text="   ", top=5)


def test_members_for_call(world: World) -> None:
    with Session(world.engine) as session:
        ranking = members_for_call(
            session=session, search=world.search(), call_id=world.ids["nutrition_call"], top=3
        )
    assert ranking.query.text == "Nutrition of small and at-risk infants"
    assert ranking.hits[0].name == "Nutrition First Malawi"
    assert ranking.to_json()["results"][0]["id"] == world.ids["nutrition"]


def test_calls_for_an_organisation_are_the_open_ones_that_fit(world: World) -> None:
    with Session(world.engine) as session:
        ranking = calls_for_organisation(
            session=session, search=world.search(), org_id=world.ids["malaria_ngo"], top=5
        )
    assert names(ranking.hits) == [
        "Malaria elimination in East Africa",
        "Nutrition of small and at-risk infants",
    ]
    best = ranking.hits[0]
    assert best.id == str(world.ids["malaria_call"])
    titles = [project.title for project in best.explanation.projects]
    assert "Bed nets against malaria in northern Uganda" in titles


def test_similar_organisations(world: World) -> None:
    ranking = similar_organisations(search=world.search(), org_id=world.ids["nutrition"], top=6)
    order = names(ranking.hits)
    assert "Nutrition First Malawi" not in order
    assert order[0] == "Safe Births Nigeria"  # they ran the infant malnutrition project together
    assert order.index("Safe Births Nigeria") < order.index("SunGrid Solar GmbH")
    private = similar_organisations(
        search=world.search(),
        org_id=world.ids["nutrition"],
        filters=make_filters(org_types=["private"]),
    )
    assert set(names(private.hits)) == {"SunGrid Solar GmbH", "mHealth Labs India"}


def test_unknown_ids_are_not_found(world: World) -> None:
    search = world.search()
    with Session(world.engine) as session:
        with pytest.raises(NotFound, match=r"^call 9999 not found$"):
            members_for_call(session=session, search=search, call_id=9999, top=3)
        with pytest.raises(NotFound, match=r"^organisation 9999 not found$"):
            calls_for_organisation(session=session, search=search, org_id=9999, top=3)
    with pytest.raises(NotFound, match=r"^organisation 9999 not found$"):
        similar_organisations(search=search, org_id=9999, top=3)


def test_ranking_json_uses_database_ids(world: World) -> None:
    ranking = search_partners(
        search=world.search(), text="malaria", filters=make_filters(org_types=["ngo"]), top=2
    )
    body = ranking.to_json()
    assert body["query"] == {
        "kind": "text",
        "id": None,
        "text": "malaria",
        "filters": {"org_types": ["ngo"]},
    }
    first = body["results"][0]
    assert first["id"] == world.ids["malaria_ngo"]
    assert set(first) == {"id", "name", "score", "explanation"}
    projects = {(p["kind"], p["id"]) for p in first["explanation"]["projects"]}
    assert ("project", world.ids["bed_nets"]) in projects
    assert ("description", None) in projects


# --- the index ---------------------------------------------------------------------------------


def test_index_report_and_header(world: World) -> None:
    report = world.report
    assert (report.organisations, report.calls) == (len(ORGANISATIONS), len(CALLS))
    assert report.documents == (len(PROJECTS) - 1) + len(ORGANISATIONS)  # + own descriptions
    assert report.embedded > 0
    header = index_header(world.settings)
    assert (header.model, header.organisations, header.format) == ("minilm", 7, 1)


def test_reindexing_unchanged_data_embeds_nothing(copy: World) -> None:
    again = build_index(copy.engine, copy.settings)
    assert again.embedded == 0
    assert again.from_cache >= copy.report.embedded


def test_index_is_read_once_per_process(world: World) -> None:
    first, second = world.search(), world.search()
    assert first.ranker is not second.ranker  # each has its own cache handle ...
    assert first.evidence is second.evidence  # ... over the same arrays, read once
    assert first.ranker.encoder_ is second.ranker.encoder_


def test_changed_database_makes_the_index_stale(copy: World) -> None:
    assert check_index(copy.engine, copy.settings) is None
    with session_scope(copy.engine) as session:
        session.add(Organisation(name="Newcomer", description="Malaria."))
    stale = check_index(copy.engine, copy.settings)
    assert stale is not None
    assert str(stale).startswith(f"the search index at {copy.settings.search_index_path()} is out")
    assert str(stale).endswith("run `healthmatch index`")
    build_index(copy.engine, copy.settings)
    assert check_index(copy.engine, copy.settings) is None
    assert load_index(copy.settings).evidence.orgs[-1].name == "Newcomer"


def test_missing_index(tmp_path: Path) -> None:
    settings = index_settings("sqlite://", tmp_path / "none.index")
    with pytest.raises(IndexMissing) as raised:
        load_index(settings)
    assert (
        str(raised.value)
        == f"no search index at {tmp_path / 'none.index'}: run `healthmatch index`"
    )


def test_damaged_index(tmp_path: Path) -> None:
    path = tmp_path / "bad.index"
    path.write_bytes(b"not an index")
    with pytest.raises(IndexUnreadable, match="not a healthmatch search index"):
        load_index(index_settings("sqlite://", path))


def test_an_index_of_another_ranker_layout_is_refused(copy: World) -> None:
    path = copy.settings.search_index_path()
    ranker = copy.search().ranker
    cache, ranker.cache_ = ranker.cache_, None  # as the service saves it: no database handle
    ranker.layout_ = ranker.LAYOUT - 1  # as saved by an older healthmatch
    try:
        write_index(path, index_header(copy.settings), ranker)
    finally:
        ranker.layout_, ranker.cache_ = ranker.LAYOUT, cache
    with pytest.raises(IndexUnreadable, match="built by another version of the ranker"):
        load_index(copy.settings)


def test_unknown_model_fails_before_any_work(copy: World) -> None:
    settings = copy.settings.model_copy(update={"embedding_model": "nope"})
    before = copy.settings.search_index_path().stat().st_mtime_ns
    with pytest.raises(UnknownModel):
        build_index(copy.engine, settings)
    assert copy.settings.search_index_path().stat().st_mtime_ns == before


def test_no_temporary_files_are_left_behind(copy: World) -> None:
    build_index(copy.engine, copy.settings)
    folder = copy.settings.search_index_path().parent
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///network.db", "network.db.index"),
        ("sqlite:////data/x/network.db", "/data/x/network.db.index"),
        ("sqlite://", "healthmatch.index"),
        ("sqlite:///:memory:", "healthmatch.index"),
        ("postgresql+psycopg://user:pw@host/db", "healthmatch.index"),
    ],
)
def test_index_path_defaults(url: str, expected: str) -> None:
    assert Settings(database_url=url, index_path=None).search_index_path() == Path(expected)


def test_index_path_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHMATCH_INDEX_PATH", "/srv/index.bin")
    monkeypatch.setenv("HEALTHMATCH_EMBEDDING_MODEL", "usem3")
    settings = Settings()
    assert (settings.search_index_path(), settings.embedding_model) == (
        Path("/srv/index.bin"),
        "usem3",
    )


def test_the_demo_index_lies_beside_the_demo_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHMATCH_INDEX_PATH", "/srv/network.index")  # meant for another db
    settings = demo_settings("sqlite:////tmp/healthmatch-demo.db")
    assert settings.search_index_path() == Path("/tmp/healthmatch-demo.db.index")
