"""`db upgrade` gives one schema on SQLite and PostgreSQL, and that schema matches the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables)
from models.db import make_engine
from models.migrate import current_revision, head_revision, upgrade


def _type_name(column: dict[str, Any]) -> str:
    generic = type(column["type"].as_generic()).__name__
    length = getattr(column["type"], "length", None)
    return {"Double": "Float"}.get(generic, generic) + (f"({length})" if length else "")


def schema_signature(engine: Engine) -> dict[str, Any]:
    """Tables, columns (generic types), keys, unique constraints, indexes and checks."""
    insp = inspect(engine)
    signature: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        indexes = [i for i in insp.get_indexes(table) if not i.get("duplicates_constraint")]
        signature[table] = {
            "columns": {c["name"]: (_type_name(c), c["nullable"]) for c in insp.get_columns(table)},
            "pk": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in indexes
            ),
            "checks": sorted(c["name"] for c in insp.get_check_constraints(table) if c["name"]),
        }
    return signature


def _diff_against_models(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_upgrade_on_empty_sqlite_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert _diff_against_models(engine) == []


def test_upgrade_twice_is_a_no_op(sqlite_url: str, engine: Engine) -> None:
    before = schema_signature(engine)
    upgrade(sqlite_url)
    assert schema_signature(engine) == before


def test_sqlite_and_postgresql_get_the_same_schema(engine: Engine, postgres_url: str) -> None:
    upgrade(postgres_url)
    pg = make_engine(postgres_url)
    try:
        assert _diff_against_models(pg) == []
        assert schema_signature(pg) == schema_signature(engine)
        with pg.connect() as conn:
            assert conn.execute(text("select count(*) from country")).scalar_one() == 250
    finally:
        pg.dispose()


def test_reference_countries_are_loaded(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = dict(conn.execute(text("select iso2, income_group from country")).all())
    assert len(rows) == 250
    assert (rows["KE"], rows["MW"], rows["DE"], rows["BR"]) == ("LM", "L", "H", "UM")
