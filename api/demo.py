"""The demo network: a fresh database holding health-related public data, shipped in the package.

See `api/demo_data/README.md` for what is in it and its licence (CC BY 4.0, © European Union).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlmodel import Session, col, select

from models.network import Membership, Network
from models.organisation import Organisation
from scrapers.pipeline import (
    ImportReport,
    ProgressFactory,
    import_bench,
    import_open_calls,
    read_open_calls,
)

DEMO_SOURCE = "cordis-he"  # the demo is a subset of the cordis-he evidence: same identities
DEMO_SLUG = "healthmatch-demo"


class NotADemoDatabase(Exception):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} exists and is not a healthmatch demo database; "
            "choose another file with --db (it would be replaced)"
        )


def demo_data_dir() -> Path:
    return Path(str(resources.files("api") / "demo_data"))


def load_demo(session: Session, progress: ProgressFactory) -> list[ImportReport]:
    folder = demo_data_dir()
    reports = [import_bench(session, folder, source=DEMO_SOURCE, progress=progress)]
    calls = read_open_calls(folder / "open-calls.jsonl.gz")
    reports.append(import_open_calls(session, calls, progress=progress))
    add_demo_network(session)
    return reports


def add_demo_network(session: Session) -> Network:
    """The demo network, with every organisation of the database as a member."""
    network = Network(
        name="healthmatch demo network",
        slug=DEMO_SLUG,
        description=(
            "Health research and cooperation organisations from EU-funded health projects "
            "(CORDIS, Horizon Europe 2021-2022), with open EU health calls of 2026."
        ),
    )
    session.add(network)
    session.flush()
    assert network.id is not None
    org_ids = session.exec(select(Organisation.id).order_by(col(Organisation.id))).all()
    session.add_all(
        Membership(network_id=network.id, organisation_id=org_id)
        for org_id in org_ids
        if org_id is not None
    )
    session.flush()
    return network


def is_demo_database(session: Session) -> bool:
    return session.exec(select(Network).where(Network.slug == DEMO_SLUG)).first() is not None
