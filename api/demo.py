"""The demo network: a fresh database holding health-related public data, shipped in the package.

See `api/demo_data/README.md` for what is in it and its licence (CC BY 4.0, © European Union).

Every demo organisation without a contact e-mail gets a fake one on a reserved domain
(`org-{id}@members.healthmatch-demo.example`, RFC 2606: it can never reach anyone), so that
digests and forwarded calls over the demo have recipients (send them to a local SMTP server).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from models.db import session_scope
from models.network import Membership, Network
from models.organisation import Organisation
from models.project import ProjectParticipant
from models.settings import Settings
from models.user import Role
from scrapers.call_imports import import_open_calls, read_open_calls
from scrapers.pipeline import ImportReport, ProgressFactory, import_bench

if TYPE_CHECKING:
    from api.services.search_index import IndexReport
    from api.services.users import IssuedKey

DEMO_SOURCE = "cordis-he"  # the demo is a subset of the cordis-he evidence: same identities
DEMO_SLUG = "healthmatch-demo"
DEMO_USER = "secretariat@demo.healthmatch.example"
DEMO_MEMBER = "member@demo.healthmatch.example"
DEMO_MAIL_DOMAIN = "members.healthmatch-demo.example"


class NotADemoDatabase(Exception):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} exists and is not a healthmatch demo database; "
            "choose another file with --db (it would be replaced)"
        )


def demo_data_dir() -> Path:
    return Path(str(resources.files("api") / "demo_data"))


def demo_settings(url: str) -> Settings:
    """The settings of a demo database: its search index always lies beside it (never at a
    HEALTHMATCH_INDEX_PATH meant for another database)."""
    return Settings(database_url=url, index_path=None)


def load_demo(
    engine: Engine, progress: ProgressFactory, settings: Settings
) -> list[ImportReport | IndexReport]:
    """Load the demo network (one transaction), then build its search index."""
    # imported here: the matcher pulls in scikit-learn, which the other commands do not need
    from api.services.search_index import build_index, check_model, stage_progress

    check_model(settings)
    folder = demo_data_dir()
    with session_scope(engine) as session:
        reports: list[ImportReport | IndexReport] = [
            import_bench(session, folder, source=DEMO_SOURCE, progress=progress)
        ]
        calls = read_open_calls(folder / "open-calls.jsonl.gz")
        reports.append(import_open_calls(session, calls, progress=progress))
        add_demo_network(session)
        add_demo_addresses(session)
    load_demo_vectors(engine, settings.embedding_model)
    reports.append(build_index(engine, settings, stage_progress(progress)))
    return reports


def demo_vectors_path(model: str) -> Path:
    return demo_data_dir() / f"vectors-{model}.npz"


def load_demo_vectors(engine: Engine, model: str) -> int:
    """Seed the embedding cache with the demo's shipped vectors (if any for this model), so that
    indexing the demo embeds nothing. Vectors of text that changed since are simply not used."""
    from api.services.vector_cache import SqlVectorCache
    from matcher.embedders import get_encoder

    path = demo_vectors_path(model)
    if not path.is_file():
        return 0
    with np.load(path) as shipped:
        keys = [key.decode("ascii") for key in shipped["keys"]]
        vectors = shipped["vectors"].astype(np.float32)
    cache = SqlVectorCache(engine)
    model_id = get_encoder(model).model_id
    known = cache.get_many(model_id, keys)
    cache.put_many(model_id, {k: v for k, v in zip(keys, vectors, strict=True) if k not in known})
    return len(keys)


def export_demo_vectors(engine: Engine, model: str, path: Path) -> int:
    """Write every cached vector of `model` to `path` (float16, compressed): see the script
    `scripts/build_demo_data.py --vectors`."""
    from api.services.vector_cache import embedding_rows
    from matcher.embedders import get_encoder

    keys, vectors = embedding_rows(engine, get_encoder(model).model_id)
    order = np.argsort(keys)
    np.savez_compressed(
        path,
        keys=np.array(keys, dtype="S64")[order],
        vectors=np.asarray(vectors, dtype=np.float16)[order],
    )
    return len(keys)


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


def add_demo_addresses(session: Session) -> int:
    """A fake contact e-mail on a reserved domain for each organisation without one."""
    organisations = session.exec(
        select(Organisation).where(col(Organisation.contact_email) == "")
    ).all()
    for organisation in organisations:
        organisation.contact_email = f"org-{organisation.id}@{DEMO_MAIL_DOMAIN}"
        session.add(organisation)
    session.flush()
    return len(organisations)


@dataclass(frozen=True)
class DemoAccess:
    """How to use the demo: the secretariat's API key, and web sign-ins (e-mail, password)."""

    key: IssuedKey
    signins: list[tuple[str, str, str]]  # (who, e-mail, password)

    def signin_text(self) -> str:
        lines = [f"{who}: {email}  password: {password}" for who, email, password in self.signins]
        return "\n".join(lines) + "\n"


def add_demo_users(session: Session) -> DemoAccess:
    """A demo secretariat (API key and password) and a demo member of the organisation with the
    most projects (password), so that both the API and the pages can be tried at once."""
    from api.services.passwords import hash_password
    from api.services.users import add_user, create_key

    secretariat = add_user(session, email=DEMO_USER, role=Role.SECRETARIAT, name="Demo secretariat")
    org = _busiest_organisation(session)
    member = add_user(
        session, email=DEMO_MEMBER, role=Role.MEMBER, organisation_id=org.id, name="Demo member"
    )
    signins = []
    for who, user in (("secretariat", secretariat), (f"member of {org.name}", member)):
        password = secrets.token_urlsafe(12)
        user.password_hash = hash_password(password)
        session.add(user)
        signins.append((who, user.email, password))
    return DemoAccess(create_key(session, email=DEMO_USER, name="demo"), signins)


def _busiest_organisation(session: Session) -> Organisation:
    count = func.count(col(ProjectParticipant.project_id))
    row = session.exec(
        select(Organisation)
        .join(ProjectParticipant, col(ProjectParticipant.organisation_id) == col(Organisation.id))
        .group_by(col(Organisation.id))
        .order_by(count.desc(), col(Organisation.id))
    ).first()
    if row is None:
        raise LookupError("the demo network has no organisation with projects")
    return row


def write_secret_file(path: Path, text: str) -> None:
    """A demo secret beside the demo database, readable by its owner only."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def is_demo_database(session: Session) -> bool:
    return session.exec(select(Network).where(Network.slug == DEMO_SLUG)).first() is not None
