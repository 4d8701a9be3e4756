"""`healthmatch eval`: a ranking method against a benchmark folder, no database involved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import app, cli_errors, progress_bars

if TYPE_CHECKING:
    from matcher.base import FitProgress


@app.command("eval")
def eval_command(
    evidence_dir: Annotated[
        Path, typer.Argument(help="Benchmark folder: organisations.jsonl and projects.jsonl.")
    ],
    queries: Annotated[
        Path | None,
        typer.Option(help="Folder with calls.jsonl, optional qrels.jsonl [default: EVIDENCE_DIR]."),
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="Ranking method (default: matcher.methods.DEFAULT_METHOD).")
    ] = None,
    lead: Annotated[
        str | None,
        typer.Option(help="'coordinator': give each call's coordinator as the lead (consortia)."),
    ] = None,
    top: Annotated[str, typer.Option(help="Rows per call in --scores-out: N or 'all'.")] = "100",
    scores_out: Annotated[
        Path | None, typer.Option(help="Write the top scores as JSON Lines {call, org, score}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Vector cache (SQLite) [default: ~/.cache/healthmatch/eval-vectors.sqlite]"
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Cache no embeddings.")] = False,
    task: Annotated[
        str,
        typer.Option(
            help="'ranking' (recall, nDCG, MRR) or 'consortium' (builder vs ranking top-k, "
            "with each call's coordinator as the lead)."
        ),
    ] = "ranking",
) -> None:
    """Rank every organisation for every call of a benchmark and report recall, nDCG and MRR
    (or, with --task consortium, propose a consortium per call and compare it with the ranking)."""
    # imported here: the matcher pulls in scikit-learn, which the other commands do not need
    from api.services import evaluation
    from matcher.methods import DEFAULT_METHOD

    name = method or DEFAULT_METHOD
    with cli_errors(), _eval_errors():
        rows = _parse_top(top)
        use_lead = _parse_lead(lead)
        evaluation.check_method(name)
        evaluation.check_task(task, name)
        benchmark = evaluation.load_benchmark(evidence_dir, queries)
        evaluation.check_run(benchmark, lead=use_lead, scores_out=scores_out)
        store = None if no_cache else (cache or evaluation.default_cache_path())
        with evaluation.open_cache(store) as vectors, _stage_progress() as progress:
            report = (
                evaluation.run_consortium_eval(benchmark, name, cache=vectors, progress=progress)
                if task == "consortium"
                else evaluation.run_eval(
                    benchmark,
                    name,
                    lead=use_lead,
                    top=rows,
                    scores_out=scores_out,
                    cache=vectors,
                    progress=progress,
                )
            )
    summary: dict[str, Any] = (
        report.to_json() if report else {"method": name, "calls": 0, "scores_out": str(scores_out)}
    )
    if as_json:
        typer.echo(json.dumps(summary))
        return
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        typer.echo(f"{key:<{width}}  {shown}")
    if report is None:
        typer.echo(f"no qrels.jsonl in {benchmark.queries_dir}: scores only, no metrics")


@contextmanager
def _eval_errors() -> Iterator[None]:
    from api.services.evaluation import EvaluationError
    from matcher.methods import UnknownMethod

    try:
        yield
    except (EvaluationError, UnknownMethod) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _parse_top(value: str) -> int | None:
    from api.services.evaluation import EvaluationError

    text = value.strip().lower()
    if text == "all":
        return None
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise EvaluationError(f"--top must be a whole number >= 1 or 'all', got '{value}'")
    return int(text)


def _parse_lead(value: str | None) -> bool:
    from api.services.evaluation import EvaluationError

    if value is None:
        return False
    if value != "coordinator":
        raise EvaluationError(f"--lead accepts only 'coordinator', got '{value}'")
    return True


@contextmanager
def _stage_progress() -> Iterator[FitProgress]:
    """A FitProgress (stage, done, total) drawn as one rich bar per stage, on stderr."""
    from api.services.search_index import stage_progress

    with progress_bars() as bars:
        yield stage_progress(bars)
