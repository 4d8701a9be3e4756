"""Consortium proposals for a call of the database: the rules (read from the call's conditions,
overridden by the user), the builder's alternatives and the reasons, as plain JSON-able data.

Organisation and call ids are the database's integers here and strings inside the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from api.services.corpus import call_query
from api.services.errors import NotFound
from api.services.matching import db_id, explanation_json
from matcher.call_rules import ParsedRules, parse_call_rules
from matcher.consortium.builder import Consortium
from matcher.consortium.problem import Problem
from matcher.consortium.rules import Rules
from matcher.search import PartnerSearch
from matcher.teams import Proposal, propose_consortia
from models.call import Call
from models.organisation import OrgType

DEFAULT_SIZE = (3, 6)
READ_FROM_CALL = ("min_size", "max_size", "min_countries", "min_lmic")


class InvalidRules(ValueError):
    """Rules that contradict themselves or name unknown things; the message says which."""


@dataclass(frozen=True)
class RuleOverrides:
    """What the user sets; None (or empty) leaves the call's reading or the default."""

    min_size: int | None = None
    max_size: int | None = None
    min_countries: int | None = None
    min_lmic: int | None = None
    required_types: dict[str, int] = field(default_factory=dict)
    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()


def parse_size(text: str) -> tuple[int, int]:
    """``"3-6"`` -> (3, 6); ``"5"`` -> (5, 5)."""
    low, _, high = text.strip().partition("-")
    try:
        sizes = (int(low), int(high or low))
    except ValueError:
        raise InvalidRules(f"size must be N or MIN-MAX, got '{text}'") from None
    if sizes[0] < 1 or sizes[0] > sizes[1]:
        raise InvalidRules(f"size must be N or MIN-MAX with 1 <= MIN <= MAX, got '{text}'")
    return sizes


def parse_types(values: list[str]) -> dict[str, int]:
    """``["ngo", "research:2"]`` -> {"ngo": 1, "research": 2}; unknown types are refused."""
    known = {t.value for t in OrgType}
    needed: dict[str, int] = {}
    for value in values:
        name, _, count = value.strip().lower().partition(":")
        if name not in known:
            raise InvalidRules(f"unknown organisation type '{name}' (one of {', '.join(known)})")
        if count and not count.isdigit():
            raise InvalidRules(f"type count must be a whole number: '{value}'")
        needed[name] = needed.get(name, 0) + (int(count) if count else 1)
    return needed


def _chosen(
    name: str, overrides: RuleOverrides, parsed: ParsedRules, default: int
) -> tuple[int, str]:
    mine, read = getattr(overrides, name), getattr(parsed, name)
    if mine is not None:
        return mine, "set by you"
    if read is not None:
        return read, f"read from the call: {parsed.evidence.get(name, '')}".strip()
    return default, "default"


def call_rules(call: Call, lead: int, overrides: RuleOverrides) -> tuple[Rules, dict[str, str]]:
    """The rules for this call and lead, and where each came from."""
    parsed = parse_call_rules(call.conditions or "", call.text or "")
    defaults = {"min_size": DEFAULT_SIZE[0], "max_size": DEFAULT_SIZE[1]}
    values: dict[str, int] = {}
    sources: dict[str, str] = {}
    for name in READ_FROM_CALL:
        values[name], sources[name] = _chosen(name, overrides, parsed, defaults.get(name, 0))
    if values["min_size"] > values["max_size"]:  # the user's setting wins over the other bound
        if overrides.max_size is None:
            values["max_size"] = values["min_size"]
        elif overrides.min_size is None:
            values["min_size"] = values["max_size"]
    types = overrides.required_types or parsed.required_types
    if types:
        sources["required_types"] = (
            "set by you" if overrides.required_types else "read from the call"
        )
    try:
        rules = Rules(
            min_size=values["min_size"],
            max_size=values["max_size"],
            min_countries=values["min_countries"],
            min_lmic=values["min_lmic"],
            required_types=dict(types),
            include=frozenset(str(i) for i in overrides.include),
            exclude=frozenset(str(i) for i in overrides.exclude),
            lead=str(lead),
        )
    except ValueError as exc:
        raise InvalidRules(str(exc)) from exc
    return rules, sources


def propose_for_call(
    *,
    session: Session,
    search: PartnerSearch,
    call_id: int,
    lead: int,
    overrides: RuleOverrides | None = None,
    alternatives: int = 3,
) -> ConsortiumReport:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("call", call_id)
    overrides = overrides or RuleOverrides()
    for org_id in (lead, *overrides.include, *overrides.exclude):
        if str(org_id) not in search.evidence.org_index:
            raise NotFound("organisation", org_id)
    rules, sources = call_rules(call, lead, overrides)
    proposal = propose_consortia(search, call_query(call), rules, alternatives=alternatives)
    return ConsortiumReport(call_id, call.title, proposal, sources)


# --- JSON ------------------------------------------------------------------------------------


def rules_json(rules: Rules, sources: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "size": [rules.min_size, rules.max_size],
        "min_countries": rules.min_countries,
        "min_lmic": rules.min_lmic,
        "required_types": dict(rules.required_types),
        "include": sorted((db_id(i) for i in rules.include), key=str),
        "exclude": sorted((db_id(i) for i in rules.exclude), key=str),
        "lead": db_id(rules.lead) if rules.lead else None,
    }
    data["sources"] = sources
    return data


def _member_json(
    problem: Problem, consortium: Consortium, index: int, proposal: Proposal
) -> dict[str, Any]:
    member = consortium.members[index]
    candidate = problem.candidates[member]
    contribution = next(c for c in consortium.contributions if c.member == member)
    why = proposal.explanations.get(candidate.id)
    role = (
        "lead"
        if candidate.id == proposal.rules.lead
        else ("included" if candidate.id in proposal.rules.include else "partner")
    )
    return {
        "id": db_id(candidate.id),
        "name": candidate.name,
        "role": role,
        "country": candidate.country,
        "type": candidate.org_type,
        "income_group": candidate.income_group,
        "relevance": round(float(contribution.relevance), 4),
        "marginal_value": round(float(contribution.marginal), 4),
        "aspects": [problem.aspects[a] for a in contribution.aspects],
        "why": explanation_json(why) if why is not None else None,
    }


def consortium_json(proposal: Proposal, consortium: Consortium) -> dict[str, Any]:
    problem = proposal.problem
    members = [
        _member_json(problem, consortium, i, proposal) for i in range(len(consortium.members))
    ]
    table = [
        {
            "aspect": aspect,
            "coverage": round(float(consortium.coverage[a]), 3),
            "best": db_id(problem.candidates[m].id) if m is not None else None,
            "by_member": {
                str(db_id(problem.candidates[i].id)): round(float(problem.coverage[a, i]), 3)
                for i in consortium.members
            },
        }
        for a, (aspect, m) in enumerate(zip(problem.aspects, consortium.covered_by, strict=True))
    ]
    return {
        "objective": round(float(consortium.objective), 4),
        "members": members,
        "coverage": table,
        "rules": [{"rule": c.rule, "ok": c.ok, "detail": c.detail} for c in consortium.checks],
    }


@dataclass(frozen=True)
class ConsortiumReport:
    call_id: int
    call_title: str
    proposal: Proposal
    sources: dict[str, str]

    @property
    def consortia(self) -> list[Consortium]:
        return self.proposal.result.consortia

    def to_json(self) -> dict[str, Any]:
        result = self.proposal.result
        return {
            "call": {"id": self.call_id, "title": self.call_title},
            "rules": rules_json(self.proposal.rules, self.sources),
            "aspects": self.proposal.problem.aspects,
            "consortia": [consortium_json(self.proposal, c) for c in result.consortia],
            "infeasible": [
                {"rule": i.rule, "reason": i.reason, "relax": i.relax} for i in result.infeasible
            ],
        }
