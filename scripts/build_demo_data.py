"""Build the demo network shipped in `api/demo_data/` from the public data in the shared folder.

Run from the repository root:

    .venv/bin/python scripts/build_demo_data.py [--shared ../shared] [--out api/demo_data]

It writes, deterministically (same input -> byte-identical files):

- `organisations.jsonl.gz`, `projects.jsonl.gz`: a health-focused slice of the CORDIS Horizon
  Europe evidence in `shared/benchmarks/cordis-he/` (benchmark format, see its README);
- `open-calls.jsonl.gz`: the health-related topics of the Funding & Tenders open-calls collection,
  as the original JSON objects, one per line, so that `parse_open_calls` reads them back;
- `README.md`: what the folder holds, how it was selected and rebuilt, and the licence note.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapers.eu_portal import is_health_related, iter_json_objects, parse_open_calls

Row = dict[str, Any]

CORDIS_DIR = Path("benchmarks") / "cordis-he"
OPEN_CALLS = Path("fixtures") / "eu-funding-tenders" / "open-calls-2026-08.jsonl.gz"

TARGET_ORGANISATIONS = 400
COUNTRY_CAP = TARGET_ORGANISATIONS // 10  # no country above 10% of the network
PER_COUNTRY_OUTSIDE_EUROPE = 3
PER_COUNTRY_IN_EUROPE = 2
# Share of the network reserved for each organisation type (CORDIS codes): universities (HES),
# research organisations (REC), companies (PRC), public bodies (PUB), others such as NGOs (OTH).
# The remaining fifth goes to the best-ranked organisations of any type.
TYPE_SHARES = {"HES": 0.25, "REC": 0.20, "PRC": 0.12, "PUB": 0.12, "OTH": 0.11}

# Funding-call identifiers of health programmes: the Horizon Europe health cluster, the
# Innovative Health Initiative, Global Health EDCTP3 and the Mission on Cancer.
HEALTH_CALL = re.compile(r"HLTH|IHI|EDCTP|CANCER")
# EuroSciVoc fields (the projects' `keywords`) about human health, diseases and care; basic
# life-science fields (proteins, DNA, cell biology...) are left out on purpose.
HEALTH_KEYWORDS = frozenset(
    {
        # public and global health
        "public health", "epidemiology", "mortality", "modeling of diseases spread",
        "health care services", "health care sciences", "health economics", "health sciences",
        "medical and health sciences", "eHealth", "nursing", "occupational health",
        # infectious diseases and their prevention
        "infectious diseases", "vaccines", "immunisation", "epidemics prevention", "influenza",
        "HIV", "malaria", "tuberculosis", "ebola", "zoonosis", "tropical medicine",
        "parasitology", "hepatitis B", "hepatitis C", "antivirals", "antibiotic resistance",
        "multidrug resistance", "drug resistance",
        # maternal, sexual and child health, obesity
        "sexual health", "family planning", "obstetrics", "childbirth", "postnatal care",
        "fetal medicine", "paediatrics", "obesity",
        # non-communicable diseases, mental health, clinical medicine
        "diabetes", "cardiovascular diseases", "stroke", "oncology", "dementia", "alzheimer",
        "kidney diseases", "psychiatry", "substance abuse", "posttraumatic stress disorder",
        "clinical medicine", "emergency medicine", "critical care medicine",
        "personalized medicine",
    }
)  # fmt: skip
# Left out although they sound like health: "nutrition", "pandemics" and "coronaviruses", which
# CORDIS also puts on projects about animal feeding or the social effects of COVID-19.


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Regions for the diversity rule and the summary (CORDIS writes Greece EL and the UK as UK).
REGIONS: dict[str, frozenset[str]] = {
    "Africa": _codes(
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG "
        "ML MR MU MW MZ NA NE NG RW SC SD SL SN SO SS ST SZ TD TG TN TZ UG ZA ZM ZW"
    ),
    "Asia": _codes(
        "AE AF AM AZ BD BH BN BT CN GE HK ID IL IN IQ IR JO JP KG KH KR KW KZ LA LB LK MM MN MO "
        "MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TW UZ VN YE"
    ),
    "Latin America and Caribbean": _codes(
        "AR BB BO BR BZ CL CO CR CU DO EC GT GY HN HT JM MX NI PA PE PY SR SV TT UY VE"
    ),
    "North America": frozenset({"US", "CA"}),
    "Oceania": frozenset({"AU", "NZ", "FJ", "PG", "NC", "PF"}),
    "Europe": _codes(
        "AD AL AT BA BE BG BY CH CY CZ DE DK EE EL ES FI FO FR GI HR HU IE IM IS IT LI LT LU LV "
        "MC MD ME MK MT NL NO PL PT RO RS RU SE SI SK SM TR UA UK VA XK"
    ),
}


def region_of(country: str) -> str:
    for region, countries in REGIONS.items():
        if country in countries:
            return region
    return "Unknown"


# --- reading and writing -----------------------------------------------------------------------


def read_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_jsonl_gz(path: Path) -> list[Row]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def gzip_bytes(payload: bytes) -> bytes:
    """Gzip with a fixed header (no file name, mtime 0) so that equal input gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(payload)
    return buffer.getvalue()


def write_jsonl_gz(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_bytes(gzip_bytes("".join(lines).encode("utf-8")))


# --- projects and organisations ----------------------------------------------------------------


def is_health_project(project: Row) -> bool:
    """Funded under a health call, or tagged with a human-health field (see HEALTH_KEYWORDS)."""
    call_id = str((project.get("call") or {}).get("id", ""))
    return bool(HEALTH_CALL.search(call_id)) or not HEALTH_KEYWORDS.isdisjoint(project["keywords"])


@dataclass
class OrgStats:
    projects: Counter[str] = field(default_factory=Counter)
    coordinated: Counter[str] = field(default_factory=Counter)
    clear: Counter[str] = field(default_factory=Counter)  # see is_clearly_health

    def has_solid_evidence(self, org_id: str) -> bool:
        """Two health projects or more, or one that is clearly about health."""
        return self.projects[org_id] >= 2 or self.clear[org_id] >= 1

    def rank_key(self, org_id: str) -> tuple[int, int, str]:
        """Most health projects first, then most coordinated, then id (for a stable order)."""
        return (-self.projects[org_id], -self.coordinated[org_id], org_id)


def is_clearly_health(project: Row) -> bool:
    """Funded under a health call or tagged with two health fields: a single field is sometimes
    a tagging slip (an anti-corruption project tagged "oncology")."""
    call_id = str((project.get("call") or {}).get("id", ""))
    return bool(HEALTH_CALL.search(call_id)) or len(HEALTH_KEYWORDS & set(project["keywords"])) >= 2


def count_participation(projects: Iterable[Row]) -> OrgStats:
    stats = OrgStats()
    for project in projects:
        clear = is_clearly_health(project)
        for participant in project["participants"]:
            stats.clear[participant["org"]] += clear
            stats.projects[participant["org"]] += 1
            if participant["role"] == "coordinator":
                stats.coordinated[participant["org"]] += 1
    return stats


@dataclass
class Selection:
    """Organisations chosen so far, in order, with the caps that keep the network diverse."""

    organisations: Mapping[str, Row]
    chosen: list[str] = field(default_factory=list)
    per_country: Counter[str] = field(default_factory=Counter)

    def add(self, org_id: str) -> bool:
        country = self.organisations[org_id]["country"]
        full = len(self.chosen) >= TARGET_ORGANISATIONS or self.per_country[country] >= COUNTRY_CAP
        if full or org_id in self.chosen:
            return False
        self.chosen.append(org_id)
        self.per_country[country] += 1
        return True

    def count_type(self, org_type: str) -> int:
        return sum(1 for org_id in self.chosen if self.organisations[org_id]["type"] == org_type)


def country_reach(
    ranked: list[str], organisations: Mapping[str, Row], stats: OrgStats
) -> list[str]:
    """The best organisations of every country with solid health evidence: up to 3 per country
    outside Europe and 2 per European country."""
    by_country: dict[str, list[str]] = defaultdict(list)
    for org_id in ranked:
        by_country[organisations[org_id]["country"]].append(org_id)
    picks: list[str] = []
    for country in sorted(by_country):
        if not country:
            continue
        candidates = [org_id for org_id in by_country[country] if stats.has_solid_evidence(org_id)]
        in_europe = region_of(country) == "Europe"
        picks += candidates[: PER_COUNTRY_IN_EUROPE if in_europe else PER_COUNTRY_OUTSIDE_EUROPE]
    return picks


def select_organisations(
    ranked: list[str], organisations: Mapping[str, Row], stats: OrgStats
) -> list[str]:
    """Country reach first, then each type up to its share, then the best of the rest."""
    selection = Selection(organisations)
    for org_id in country_reach(ranked, organisations, stats):
        selection.add(org_id)
    for org_type, share in TYPE_SHARES.items():
        quota = round(share * TARGET_ORGANISATIONS)
        for org_id in ranked:
            if selection.count_type(org_type) >= quota:
                break
            if organisations[org_id]["type"] == org_type:
                selection.add(org_id)
    for org_id in ranked:
        selection.add(org_id)
    return sorted(selection.chosen)


def restrict_projects(projects: Iterable[Row], chosen: set[str]) -> list[Row]:
    """Projects with at least one chosen organisation, keeping only the chosen participants."""
    kept: list[Row] = []
    for project in projects:
        participants = [p for p in project["participants"] if p["org"] in chosen]
        if participants:
            kept.append({**project, "participants": participants})
    return kept


# --- calls -------------------------------------------------------------------------------------


def health_call_objects(raw: bytes) -> list[Row]:
    """The original JSON objects of the health-related topics, in the collection's order."""
    records = parse_open_calls(raw)
    text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    objects = [obj for _, obj in iter_json_objects(text)]
    if len(objects) != len(records):
        raise SystemExit("open-calls: objects and parsed records do not line up")
    return [obj for obj, record in zip(objects, records, strict=True) if is_health_related(record)]


# --- summary and README ------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    calls_total: int
    calls: int
    health_projects: int
    organisations: int
    projects: int
    participations: int
    countries: Counter[str]
    regions: Counter[str]
    types: Counter[str]
    roles: Counter[str]


def summarise(
    orgs: list[Row], projects: list[Row], health_projects: int, calls_total: int, calls: int
) -> Summary:
    roles = Counter(p["role"] for project in projects for p in project["participants"])
    return Summary(
        calls_total=calls_total,
        calls=calls,
        health_projects=health_projects,
        organisations=len(orgs),
        projects=len(projects),
        participations=sum(roles.values()),
        countries=Counter(org["country"] for org in orgs),
        regions=Counter(region_of(org["country"]) for org in orgs),
        types=Counter(org["type"] or "(none)" for org in orgs),
        roles=roles,
    )


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items(), key=_by_count))


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def readme_text(summary: Summary) -> str:
    s = summary
    top_countries = _counts(Counter(dict(s.countries.most_common(10))))
    shares = ", ".join(f"{kind} {share:.0%}" for kind, share in TYPE_SHARES.items())
    return f"""# Demo network data

Data for the healthmatch demo: a small international health-cooperation network built from
public EU data. The files are generated; do not edit them by hand. Rebuild them from
the repository root with

    .venv/bin/python scripts/build_demo_data.py --shared ../shared --out api/demo_data

The same input always gives byte-identical files (gzip with mtime 0, fixed ordering).

## Files

- `organisations.jsonl.gz`: {s.organisations} organisations
  (`id`, `name`, `short_name`, `country`, `type`, `sme`, `city`).
- `projects.jsonl.gz`: {s.projects} projects
  (`id`, `title`, `text`, `keywords`, `year`, `call`, `participants`).
- `open-calls.jsonl.gz`: {s.calls} open or forthcoming EU funding topics, the portal's original JSON
  objects, one a line; read them with `scrapers.eu_portal.parse_open_calls`, which repairs
  their text (the objects are kept as the collection has them, mojibake included).

Organisations and projects follow the benchmark format of `shared/benchmarks/README.md`. Every
participant's `org` is an organisation of this folder and every project keeps at least one
participant. Country codes are CORDIS's (Greece is `EL`, the United Kingdom `UK`).

- Participations: {s.participations}; roles as in CORDIS:
  {_counts(s.roles)}.
- Organisations by region:
  {_counts(s.regions)}.
- Countries: {len(s.countries)}; the ten most frequent:
  {top_countries}.
- Organisation types (CORDIS codes: HES higher education, REC research organisation, PRC
  company, PUB public body, OTH other):
  {_counts(s.types)}.

## How it was selected

1. Health projects ({s.health_projects}): the Horizon Europe projects of
   `shared/benchmarks/cordis-he/` funded under a health call (call id containing `HLTH`, `IHI`,
   `EDCTP` or `CANCER`) or tagged with a EuroSciVoc field about human health: public health,
   epidemiology, infectious diseases, vaccines, maternal and child health, non-communicable
   diseases, mental health, clinical medicine... (`HEALTH_KEYWORDS` in the script). "Nutrition",
   "pandemics" and "coronaviruses" are left out: CORDIS also puts them on projects about animal
   feeding or the social effects of COVID-19.
2. Organisations ({s.organisations} of their participants), ranked by number of health projects,
   then by number coordinated:
   - first the best of every country among those with solid evidence (two health projects, or
     one funded under a health call or tagged with two health fields):
     up to {PER_COUNTRY_OUTSIDE_EUROPE} per country outside Europe,
     {PER_COUNTRY_IN_EUROPE} per European country;
   - then each organisation type up to its share of the network:
     {shares};
   - then the best-ranked of the rest, whatever their type.

   No country holds more than {COUNTRY_CAP} organisations.
3. Projects: the health projects with at least one chosen organisation, keeping only the chosen
   participants.
4. Calls: the topics of the open-calls collection (August 2026, {s.calls_total} topics) that
   `scrapers.eu_portal.is_health_related` accepts.

## Licence and provenance

CORDIS data and Funding & Tenders portal content © European Union, reused under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/); modified: a selected subset, with participants
restricted to the selected organisations. The open calls were collected by the CordisData project
(github.com/OscarSalgado/CordisData).
"""


def check_outputs(out: Path, expected_calls: int) -> None:
    """Read the written files back: the network is closed and the calls parse."""
    org_ids = {row["id"] for row in read_jsonl_gz(out / "organisations.jsonl.gz")}
    for project in read_jsonl_gz(out / "projects.jsonl.gz"):
        participants = {p["org"] for p in project["participants"]}
        if not participants or not participants <= org_ids:
            raise SystemExit(f"project {project['id']}: participants outside the network")
    if len(parse_open_calls((out / "open-calls.jsonl.gz").read_bytes())) != expected_calls:
        raise SystemExit("open-calls.jsonl.gz does not parse back to the selected calls")


# --- main --------------------------------------------------------------------------------------


def build(shared: Path, out: Path) -> Summary:
    organisations = {
        org["id"]: org for org in read_jsonl(shared / CORDIS_DIR / "organisations.jsonl")
    }
    health = [p for p in read_jsonl(shared / CORDIS_DIR / "projects.jsonl") if is_health_project(p)]
    stats = count_participation(health)
    ranked = sorted(
        (org_id for org_id in stats.projects if org_id in organisations), key=stats.rank_key
    )
    chosen = select_organisations(ranked, organisations, stats)
    orgs = [organisations[org_id] for org_id in chosen]
    projects = restrict_projects(health, set(chosen))

    raw_calls = (shared / OPEN_CALLS).read_bytes()
    calls = health_call_objects(raw_calls)
    summary = summarise(orgs, projects, len(health), len(parse_open_calls(raw_calls)), len(calls))

    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_gz(out / "organisations.jsonl.gz", orgs)
    write_jsonl_gz(out / "projects.jsonl.gz", projects)
    write_jsonl_gz(out / "open-calls.jsonl.gz", calls)
    (out / "README.md").write_text(readme_text(summary), encoding="utf-8")
    check_outputs(out, len(calls))
    return summary


def print_summary(summary: Summary, out: Path) -> None:
    size = sum(path.stat().st_size for path in out.iterdir() if path.is_file())
    print(f"health projects in CORDIS evidence: {summary.health_projects}")
    print(f"organisations: {summary.organisations} in {len(summary.countries)} countries")
    print(f"  regions: {_counts(summary.regions)}")
    print(f"  types: {_counts(summary.types)}")
    print(f"projects: {summary.projects} ({summary.participations} participations)")
    print(f"calls: {summary.calls} health-related of {summary.calls_total}")
    print(f"written to {out} ({size / 1_000_000:.2f} MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("..") / "shared")
    parser.add_argument("--out", type=Path, default=Path("api") / "demo_data")
    args = parser.parse_args(argv)
    summary = build(args.shared, args.out)
    print_summary(summary, args.out)


if __name__ == "__main__":
    main()
