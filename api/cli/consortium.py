"""`healthmatch consortium CALL_ID --lead ORG_ID`: alternative consortia for a call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import app
from api.cli.search import JsonOpt, searching
from models.db import session_scope

if TYPE_CHECKING:
    from api.services.consortium import ConsortiumReport


@contextmanager
def _rule_errors() -> Iterator[None]:
    from api.services.consortium import InvalidRules

    try:
        yield
    except InvalidRules as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _show(report: ConsortiumReport) -> None:
    data = report.to_json()
    typer.echo(f"consortia for call {report.call_id}: {report.call_title}")
    rules = data["rules"]
    typer.echo(
        f"rules: {rules['size'][0]}-{rules['size'][1]} members, "
        f">= {rules['min_countries']} countries, >= {rules['min_lmic']} LMIC members"
        + "".join(f", >= {n} {t}" for t, n in rules["required_types"].items())
    )
    for name, source in rules["sources"].items():
        if source != "default":
            typer.echo(f"  {name}: {_clip(source, 140)}")
    for problem in data["infeasible"]:
        typer.echo(f"no consortium satisfies '{problem['rule']}': {problem['reason']}")
        typer.echo(f"  to relax: {problem['relax']}")
    for rank, consortium in enumerate(data["consortia"], start=1):
        _show_consortium(rank, consortium)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _show_consortium(rank: int, consortium: dict[str, Any]) -> None:
    rows = consortium["coverage"]
    weakest = min(rows, key=lambda row: row["coverage"])
    mean = sum(row["coverage"] for row in rows) / len(rows)
    typer.echo(
        f"\n{rank}. objective {consortium['objective']:.2f}; aspect coverage mean {mean:.2f} "
        f"(1 = the best in the candidate pool), weakest {weakest['coverage']:.2f}: "
        f"{_clip(weakest['aspect'], 60)}"
    )
    for member in consortium["members"]:
        facts = ", ".join(
            str(v) for v in (member["country"], member["type"], member["income_group"]) if v
        )
        typer.echo(f"   - {member['name']} [id {member['id']}] ({member['role']}; {facts})")
        for aspect in member["aspects"][:2]:
            typer.echo(f"       covers: {_clip(aspect, 90)}")
        why = member["why"]
        if why and why["projects"]:
            typer.echo(f"       e.g. project: {_clip(why['projects'][0]['title'], 80)}")


@app.command()
def consortium(
    call_id: Annotated[int, typer.Argument(metavar="CALL_ID", help="Id of a call.")],
    lead: Annotated[int, typer.Option("--lead", metavar="ORG_ID", help="Your organisation.")],
    size: Annotated[
        str | None, typer.Option(metavar="MIN-MAX", help="Members, lead included (e.g. 3-6).")
    ] = None,
    min_countries: Annotated[
        int | None, typer.Option(min=0, help="Distinct HQ countries at least.")
    ] = None,
    lmic: Annotated[
        int | None,
        typer.Option(min=0, help="Members HQ'd in low- or middle-income countries at least."),
    ] = None,
    require_type: Annotated[
        list[str] | None,
        typer.Option(metavar="TYPE[:N]", help="At least N members of this type (repeat)."),
    ] = None,
    include: Annotated[
        list[int] | None, typer.Option(metavar="ORG_ID", help="Must be a member (repeat).")
    ] = None,
    exclude: Annotated[
        list[int] | None, typer.Option(metavar="ORG_ID", help="Never a member (repeat).")
    ] = None,
    alternatives: Annotated[int, typer.Option(min=1, max=10, help="Consortia to propose.")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Alternative consortia for a call with you as lead: eligible under the call's rules (read
    from its conditions, or set here), covering its work areas, with each partner's reasons."""
    from api.services.consortium import RuleOverrides, parse_size, parse_types, propose_for_call

    with _rule_errors():
        low, high = parse_size(size) if size else (None, None)
        overrides = RuleOverrides(
            min_size=low,
            max_size=high,
            min_countries=min_countries,
            min_lmic=lmic,
            required_types=parse_types(require_type or []),
            include=tuple(include or ()),
            exclude=tuple(exclude or ()),
        )
        with searching() as (index, engine), session_scope(engine) as session:
            report = propose_for_call(
                session=session,
                search=index,
                call_id=call_id,
                lead=lead,
                overrides=overrides,
                alternatives=alternatives,
            )
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    _show(report)
    if not report.consortia:
        raise typer.Exit(1)
