"""`healthmatch index`, `search`, `match`, `calls-for` and `similar` on a real database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from models.db import make_engine, session_scope
from models.organisation import Organisation
from models.settings import get_settings
from tests.api.conftest import Indexed

runner = CliRunner()


def run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def fails(*args: str) -> str:
    """The one `error:` line of a command that must fail with status 1, without a traceback."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_index_prints_a_summary_and_reindexing_embeds_nothing(env: Indexed) -> None:
    assert env.first_run.startswith("search index: 7 organisations, 14 documents, 3 calls; ")
    assert env.first_run.rstrip().endswith(f"-> {env.index}")
    again = runner.invoke(app, ["index"])
    assert again.exit_code == 0, again.output
    assert "; 0 passages embedded, " in again.stdout


def test_search_json(env: Indexed) -> None:
    body = run_json("search", "malaria bed nets", "--top", "3")
    assert body["query"] == {"kind": "text", "id": None, "text": "malaria bed nets"}
    results = body["results"]
    assert len(results) == 3
    assert results[0]["id"] == env.ids["malaria_ngo"]
    assert results[0]["name"] == "Malaria Action Kenya"
    assert set(results[0]["explanation"]) == {"projects", "passage", "terms", "countries", "themes"}
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_search_filters(env: Indexed) -> None:
    body = run_json("search", "malaria", "--type", "ngo", "--type", "public", "--country", "UG")
    assert {r["name"] for r in body["results"]} == {
        "Malaria Action Kenya",
        "Ministry of Health Uganda",
    }
    assert body["query"]["filters"] == {"countries": ["ug"], "org_types": ["ngo", "public"]}
    mami = run_json("search", "malaria", "--network", "mami")
    assert [r["name"] for r in mami["results"]] == ["Nutrition First Malawi"]
    low = run_json("search", "malaria", "--income-group", "L", "--region", "Sub-Saharan Africa")
    assert {r["name"] for r in low["results"]} == {
        "Ministry of Health Uganda",
        "Nutrition First Malawi",
    }


def test_search_human_output(env: Indexed) -> None:
    result = runner.invoke(
        app, ["search", "community malaria prevention with bed nets in Uganda", "--top", "2"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == 'partners for "community malaria prevention with bed nets in Uganda"'
    assert lines[1].startswith(f"  1. Malaria Action Kenya  [id {env.ids['malaria_ngo']}]  score ")
    assert "     projects: " in result.stdout and "Bed nets against malaria" in result.stdout
    assert "     terms: " in result.stdout and "malaria" in result.stdout
    assert "     countries: UG" in result.stdout
    assert "  2. " in result.stdout and "  3. " not in result.stdout


def test_match_a_call(env: Indexed) -> None:
    body = run_json("match", str(env.ids["nutrition_call"]), "--top", "2")
    assert body["query"] == {
        "kind": "call",
        "id": env.ids["nutrition_call"],
        "text": "Nutrition of small and at-risk infants",
    }
    assert body["results"][0]["id"] == env.ids["nutrition"]


def test_calls_for_an_organisation(env: Indexed) -> None:
    body = run_json("calls-for", str(env.ids["malaria_ngo"]))
    assert [r["id"] for r in body["results"]] == [
        env.ids["malaria_call"],
        env.ids["nutrition_call"],
    ]
    human = runner.invoke(app, ["calls-for", str(env.ids["malaria_ngo"]), "--top", "1"])
    assert human.stdout.splitlines()[1].startswith("  1. Malaria elimination in East Africa  [id ")


def test_similar_organisations(env: Indexed) -> None:
    body = run_json("similar", str(env.ids["nutrition"]), "--top", "1")
    assert [r["name"] for r in body["results"]] == ["Safe Births Nigeria"]
    private = run_json("similar", str(env.ids["nutrition"]), "--type", "private")
    assert {r["name"] for r in private["results"]} == {"SunGrid Solar GmbH", "mHealth Labs India"}


def test_unknown_ids_and_empty_queries_are_one_error_line(env: Indexed) -> None:
    assert fails("match", "9999") == "error: call 9999 not found"
    assert fails("calls-for", "9999") == "error: organisation 9999 not found"
    assert fails("similar", "9999") == "error: organisation 9999 not found"
    assert fails("search", "  ") == "error: the query is empty: give some text to search for"
    assert fails("search", "malaria", "--income-group", "rich") == (
        "error: unknown income group 'rich' (known: H, L, LM, UM)"
    )


def test_missing_index_says_what_to_do(env: Indexed, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = env.index.parent / "elsewhere.index"
    monkeypatch.setenv("HEALTHMATCH_INDEX_PATH", str(missing))
    get_settings.cache_clear()
    assert fails("search", "malaria") == (
        f"error: no search index at {missing}: run `healthmatch index`"
    )


def test_unknown_model_is_one_error_line(env: Indexed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHMATCH_EMBEDDING_MODEL", "word2vec")
    get_settings.cache_clear()
    assert fails("index") == "error: unknown embedding model 'word2vec' (known: minilm, usem3)"


def test_schema_not_migrated(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", sqlite_url)
    for command in (["index"], ["search", "malaria"], ["match", "1"]):
        assert fails(*command).endswith("run `healthmatch db upgrade` first")


def test_stale_index_warns_and_still_answers(
    env: Indexed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(env.url.removeprefix("sqlite:///")) as source:
        target = sqlite3.connect(copy)
        source.backup(target)
        target.close()
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.add(Organisation(name="Newcomer"))
    engine.dispose()
    monkeypatch.setenv("HEALTHMATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["search", "malaria", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: the search index at {env.index} is out of date")
    assert "Malaria Action Kenya" in result.stdout
