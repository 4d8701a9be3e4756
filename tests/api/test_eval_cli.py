"""`healthmatch eval` on bench-mini: metrics as JSON, scores out, one clear error line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.services.evaluation import load_benchmark, write_scores
from tests.conftest import FIXTURES

runner = CliRunner()
MINI = FIXTURES / "bench-mini"
CALL_1 = "HORIZON-CL2-2023-DEMOCRACY-01-01"
CALL_2 = "HORIZON-CL2-2023-DEMOCRACY-01-02"
KEYS = {"method", "calls", "recall@10", "recall@50", "recall@100", "ndcg@20", "mrr", "ceiling"}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default cache lives under ~: point ~ at a temporary folder, never the real one."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    return home


def run_eval(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder


def test_json_metrics_on_bench_mini(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "vectors.sqlite"
    code, stdout, stderr = run_eval(str(MINI), "--method", "tfidf", "--json", "--cache", str(cache))
    assert code == 0, stderr
    data = json.loads(stdout)  # stdout is exactly one JSON object
    assert set(data) >= KEYS | {"seconds"}
    assert data["method"] == "tfidf" and data["calls"] == 2
    assert all(0.0 <= data[key] <= 1.0 for key in KEYS - {"method", "calls"})
    assert data["seconds"] >= 0.0
    # call 1: 3 of its 4 relevant organisations have evidence; call 2: 2 of 3
    assert data["ceiling"] == round((3 / 4 + 2 / 3) / 2, 4)
    # 11 candidates, all ranked: the top 100 holds every relevant one with evidence
    assert data["recall@100"] == data["ceiling"]
    assert cache.is_file()


def test_lead_conditioned_uses_the_first_coordinator_with_evidence() -> None:
    code, stdout, stderr = run_eval(
        str(MINI), "--method", "popularity", "--lead", "coordinator", "--json", "--no-cache"
    )
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["lead"] == "coordinator" and data["calls"] == 2
    # call 1 without its coordinator: 2 of 3 with evidence; call 2 (lead 997718624): 1 of 2
    assert data["ceiling"] == round((2 / 3 + 1 / 2) / 2, 4)


def test_readable_table_without_json_and_the_default_cache(home: Path) -> None:
    code, stdout, stderr = run_eval(str(MINI), "--method", "tfidf")
    assert code == 0, stderr
    assert (home / ".cache" / "healthmatch" / "eval-vectors.sqlite").is_file()
    lines = dict(line.split(maxsplit=1) for line in stdout.splitlines())
    assert lines["method"] == "tfidf" and lines["calls"] == "2"
    assert 0.0 <= float(lines["ndcg@20"]) <= 1.0


def test_scores_out_without_qrels(mini: Path, tmp_path: Path) -> None:
    (mini / "qrels.jsonl").unlink()
    out = tmp_path / "out" / "scores.jsonl"
    code, stdout, stderr = run_eval(
        str(mini), "--method", "tfidf", "--scores-out", str(out), "--top", "3", "--no-cache"
    )
    assert code == 0, stderr
    assert "no metrics" in stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["call"] for row in rows] == [CALL_1] * 3 + [CALL_2] * 3
    orgs = {json.loads(line)["id"] for line in (mini / "organisations.jsonl").open()}
    assert all(set(row) == {"call", "org", "score"} and row["org"] in orgs for row in rows)
    for call in (CALL_1, CALL_2):
        scores = [row["score"] for row in rows if row["call"] == call]
        assert scores == sorted(scores, reverse=True)
    assert sorted(p.name for p in out.parent.iterdir()) == ["scores.jsonl"]  # no temp file left

    code, _, stderr = run_eval(
        str(mini), "--method", "tfidf", "--scores-out", str(out), "--top", "all", "--no-cache"
    )
    assert code == 0, stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2 * 11


def test_separate_queries_folder(tmp_path: Path) -> None:
    evidence, queries = tmp_path / "evidence", tmp_path / "queries"
    evidence.mkdir()
    queries.mkdir()
    for name in ("organisations.jsonl", "projects.jsonl"):
        shutil.copy(MINI / name, evidence / name)
    for name in ("calls.jsonl", "qrels.jsonl"):
        shutil.copy(MINI / name, queries / name)
    code, stdout, stderr = run_eval(
        str(evidence), "--queries", str(queries), "--method", "tfidf", "--json", "--no-cache"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["calls"] == 2
    benchmark = load_benchmark(evidence, queries)
    assert [q.id for q in benchmark.queries] == [CALL_1, CALL_2]
    assert len(benchmark.corpus.organisations) == 11 and len(benchmark.corpus.projects) == 4
    assert benchmark.evidence_orgs == {org.id for org in benchmark.corpus.organisations}
    project = benchmark.corpus.projects[0]
    assert project.call_title == "European value chains for rail supply"
    assert ("884265872", "lead") in project.participants


@pytest.mark.parametrize(
    ("file", "line", "reason"),
    [
        ('{"call": "NOPE", "org": "1", "role": "participant"}', 8, "unknown call 'NOPE'"),
        (f'{{"call": "{CALL_1}", "org": "1", "role": "lead"}}', 8, "unknown role 'lead'"),
        (f'{{"call": "{CALL_1}", "role": "participant"}}', 8, "missing 'org'"),
        ("[1, 2]", 8, "each line must be a JSON object"),
        ("{not json}", 8, "invalid JSON"),
    ],
)
def test_broken_qrels_line_is_one_error_line(mini: Path, file: str, line: int, reason: str) -> None:
    with (mini / "qrels.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(file + "\n")
    code, stdout, stderr = run_eval(str(mini), "--method", "tfidf", "--json", "--no-cache")
    assert code == 1 and stdout == ""
    [message] = error_lines(stderr)
    assert message.startswith(f"error: {mini / 'qrels.jsonl'}:{line}: {reason}")
    assert "Traceback" not in stderr


def test_broken_evidence_and_calls_lines(mini: Path, tmp_path: Path) -> None:
    with (mini / "projects.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"id": "p9", "title": "x", "participants": [{"org": "ghost"}]}\n')
    code, _, stderr = run_eval(str(mini), "--method", "tfidf", "--no-cache")
    assert code == 1
    assert error_lines(stderr) == [
        f"error: {mini / 'projects.jsonl'}:5: project 'p9' names unknown organisation 'ghost'"
    ]
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "calls.jsonl").write_text('{"id": "c1", "title": "t"}\n{"id": "c2"}\n')
    code, _, stderr = run_eval(str(MINI), "--queries", str(queries), "--no-cache")
    assert code == 1
    assert error_lines(stderr) == [f"error: {queries / 'calls.jsonl'}:2: missing 'title'"]


def test_folders_that_cannot_be_evaluated(mini: Path, tmp_path: Path) -> None:
    code, _, stderr = run_eval(str(tmp_path / "nowhere"), "--method", "tfidf", "--no-cache")
    assert code == 1
    assert error_lines(stderr) == [f"error: {tmp_path / 'nowhere'}: no such folder"]
    (mini / "projects.jsonl").unlink()
    code, _, stderr = run_eval(str(mini), "--method", "tfidf", "--no-cache")
    assert code == 1
    assert error_lines(stderr) == [f"error: {mini}: no projects.jsonl (the evidence) found"]


def test_nothing_to_do_without_qrels_or_scores_out(mini: Path, home: Path) -> None:
    (mini / "qrels.jsonl").unlink()
    code, _, stderr = run_eval(str(mini), "--method", "tfidf", "--no-cache")
    assert code == 1
    [message] = error_lines(stderr)
    assert "qrels.jsonl not found" in message and "--scores-out" in message
    code, _, stderr = run_eval(
        str(mini), "--method", "tfidf", "--lead", "coordinator", "--scores-out", "x.jsonl"
    )  # no --no-cache: the default cache is not even opened for a run that cannot be done
    assert code == 1
    assert "--lead coordinator needs the judgements" in error_lines(stderr)[0]
    assert not (home / ".cache").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--method", "nope"], "error: unknown method 'nope' (known: "),
        (["--method", "tfidf", "--top", "0"], "error: --top must be a whole number >= 1 or 'all'"),
        (["--method", "tfidf", "--top", "ten"], "error: --top must be a whole number"),
        (["--method", "tfidf", "--top", "²"], "error: --top must be a whole number"),
        (["--method", "tfidf", "--lead", "partner"], "error: --lead accepts only 'coordinator'"),
    ],
)
def test_bad_options_are_one_error_line(args: list[str], expected: str) -> None:
    code, stdout, stderr = run_eval(str(MINI), *args, "--no-cache")
    assert code == 1 and stdout == ""
    [message] = error_lines(stderr)
    assert message.startswith(expected)
    if "nope" in args:
        assert "tfidf" in message and "popularity" in message


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"

    def rows() -> Iterator[tuple[str, str, float]]:
        yield "c1", "o1", 1.0
        raise RuntimeError("scoring failed half-way")

    with pytest.raises(RuntimeError):
        write_scores(out, rows())
    assert list(tmp_path.iterdir()) == []


def test_consortium_task_compares_the_builder_with_the_ranking(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "vectors.sqlite"
    code, stdout, stderr = run_eval(
        str(MINI), "--task", "consortium", "--json", "--cache", str(cache)
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["task"] == "consortium"
    # call 1: coordinator with evidence, 4 members; call 2: first coordinator has no evidence
    assert (result["calls"], result["skipped"], result["infeasible"]) == (1, 1, 0)
    for who in ("builder", "ranking"):
        assert 0.0 <= result[f"{who}_precision"] <= 1.0
        assert result[f"{who}_countries"] >= 1


def test_consortium_task_needs_a_hybrid_method() -> None:
    code, _, stderr = run_eval(str(MINI), "--task", "consortium", "--method", "tfidf")
    assert code == 1
    assert error_lines(stderr) == [
        "error: --task consortium needs a hybrid method (it builds on the search)"
    ]


def test_unknown_task_is_one_error_line() -> None:
    code, _, stderr = run_eval(str(MINI), "--task", "teams")
    assert code == 1
    assert error_lines(stderr) == ["error: --task must be one of ranking, consortium, got 'teams'"]
