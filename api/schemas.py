"""Response models of the matching endpoints.

They mirror, key for key, what `api.services.matching.Ranking.to_json` and
`api.services.consortium.ConsortiumReport.to_json` produce; routes build them with
`Model.model_validate(x.to_json())`, so the JSON has one definition (the services') and the models
only type and document it. Unknown keys are refused (`extra="forbid"`): a key added to `to_json`
without a field here fails loudly instead of vanishing from the API.

Nothing here carries private fields: organisations appear by id, name and public facts only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.services.consortium import RuleOverrides
from models.organisation import OrgType

# the database's integer id; a string only for ids the matcher holds that are not the database's
Id = int | str


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemOut(BaseModel):
    """An RFC 9457 problem (`application/problem+json`), as `api.errors` writes them."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, object]] | None = Field(
        default=None, description="Request validation errors (422 only): loc, msg, type."
    )


# --- rankings ----------------------------------------------------------------------------------


class MatchedProjectOut(_Out):
    """A project (or the organisation's own description) that explains a match."""

    id: Id | None = Field(description="The project's id; null for the own description.")
    kind: Literal["project", "description"]
    title: str
    score: float = Field(description="Dense cosine plus lexical cosine to the query.")
    dense: float
    lexical: float


class ExplanationOut(_Out):
    """Why a result matched."""

    projects: list[MatchedProjectOut] = Field(description="The best matching evidence first.")
    passage: str = Field(description="The passage of the query the best project answers.")
    terms: list[str] = Field(description="Key terms the query and the evidence share.")
    countries: list[str] = Field(description="Countries (ISO alpha-2) both name.")
    themes: list[str]


class RankingHitOut(_Out):
    """One ranked result: an organisation, or a call for `/organisations/{id}/calls`."""

    id: Id
    name: str
    score: float
    explanation: ExplanationOut


class RankingQueryOut(_Out):
    """What the ranking answers."""

    kind: Literal["text", "call", "organisation"]
    id: int | None = Field(description="The call's or organisation's id; null for free text.")
    text: str = Field(description="The query text, the call's title or the organisation's name.")
    filters: dict[str, list[str]] | None = Field(
        default=None, description="The filters applied, by name; absent or null when none."
    )


class RankingOut(_Out):
    """A ranking with the reasons for each result, best first."""

    query: RankingQueryOut
    results: list[RankingHitOut]


# --- consortia ---------------------------------------------------------------------------------


class CallRefOut(_Out):
    id: int
    title: str


class ConsortiumRulesOut(_Out):
    """The rules every proposed consortium satisfies, and where each came from."""

    size: tuple[int, int] = Field(description="[min, max] members, lead included.")
    min_countries: int
    min_lmic: int
    required_types: dict[str, int]
    include: list[Id]
    exclude: list[Id]
    lead: Id | None
    sources: dict[str, str] = Field(
        description="Rule name -> 'set by you', 'read from the call: ...' or 'default'."
    )


class ConsortiumMemberOut(_Out):
    id: Id
    name: str
    role: Literal["lead", "included", "partner"]
    country: str | None
    type: str | None
    income_group: str | None
    relevance: float
    marginal_value: float = Field(description="What this member adds to the consortium.")
    aspects: list[str] = Field(description="The call's aspects this member covers best.")
    why: ExplanationOut | None


class AspectCoverageOut(_Out):
    """One row of the aspect x member coverage table."""

    aspect: str
    coverage: float = Field(description="1 = as well as the best candidate of the pool.")
    best: Id | None = Field(description="The member that covers this aspect best.")
    by_member: dict[str, float] = Field(description="Member id -> coverage of this aspect.")


class RuleCheckOut(_Out):
    rule: str
    ok: bool
    detail: str


class ConsortiumOut(_Out):
    objective: float
    members: list[ConsortiumMemberOut]
    coverage: list[AspectCoverageOut]
    rules: list[RuleCheckOut]


class InfeasibleOut(_Out):
    rule: str
    reason: str = Field(description="Why no consortium can satisfy the rule.")
    relax: str = Field(description="What would make it possible.")


class ConsortiumProposalOut(_Out):
    """Alternative consortia for a call, best first; empty, with `infeasible`, when none fits."""

    call: CallRefOut
    rules: ConsortiumRulesOut
    aspects: list[str] = Field(description="The call's work areas.")
    consortia: list[ConsortiumOut]
    infeasible: list[InfeasibleOut]


# --- requests ----------------------------------------------------------------------------------

MAX_CONSORTIUM = 12


class ConsortiumRequest(BaseModel):
    """The lead and the rules that override what the call's conditions say (or the defaults)."""

    model_config = ConfigDict(extra="forbid")

    lead: int = Field(description="Your organisation's id: the consortium's lead.")
    min_size: int | None = Field(
        default=None, ge=1, le=MAX_CONSORTIUM, description="Members at least, lead included."
    )
    max_size: int | None = Field(
        default=None, ge=1, le=MAX_CONSORTIUM, description="Members at most, lead included."
    )
    min_countries: int | None = Field(
        default=None, ge=0, le=MAX_CONSORTIUM, description="Distinct HQ countries at least."
    )
    min_lmic: int | None = Field(
        default=None,
        ge=0,
        le=MAX_CONSORTIUM,
        description="Members headquartered in low- or middle-income countries at least.",
    )
    required_types: dict[str, Annotated[int, Field(ge=1, le=MAX_CONSORTIUM)]] = Field(
        default_factory=dict,
        max_length=len(OrgType),
        description='Organisation type -> members of that type at least, e.g. {"ngo": 1}.',
        examples=[{"ngo": 1, "research": 1}],
        json_schema_extra={"propertyNames": {"enum": [kind.value for kind in OrgType]}},
    )
    include: list[int] = Field(
        default_factory=list, max_length=MAX_CONSORTIUM, description="Must be members."
    )
    exclude: list[int] = Field(default_factory=list, max_length=1000, description="Never members.")
    alternatives: int = Field(default=3, ge=1, le=5, description="Consortia to propose.")

    @field_validator("required_types")
    @classmethod
    def _known_types(cls, value: dict[str, int]) -> dict[str, int]:
        known = [kind.value for kind in OrgType]
        types: dict[str, int] = {}
        for name, count in value.items():
            key = name.strip().lower()
            if key not in known:
                raise ValueError(f"unknown organisation type '{name}' (one of {', '.join(known)})")
            types[key] = types.get(key, 0) + count
        return types

    @model_validator(mode="after")
    def _consistent(self) -> ConsortiumRequest:
        if (
            self.min_size is not None
            and self.max_size is not None
            and self.min_size > self.max_size
        ):
            raise ValueError(
                f"min_size ({self.min_size}) is larger than max_size ({self.max_size})"
            )
        both = sorted(set(self.include) & set(self.exclude))
        if both:
            raise ValueError(f"included and excluded at once: {', '.join(map(str, both))}")
        if self.lead in self.exclude:
            raise ValueError(f"the lead {self.lead} is also excluded")
        return self

    def overrides(self) -> RuleOverrides:
        return RuleOverrides(
            min_size=self.min_size,
            max_size=self.max_size,
            min_countries=self.min_countries,
            min_lmic=self.min_lmic,
            required_types=dict(self.required_types),
            include=tuple(self.include),
            exclude=tuple(self.exclude),
        )
