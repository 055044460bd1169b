"""Inspection rounds, draws, teams, assignments and dispatch; the inspector's own assignments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from contracts.vocab import Datum


class RoundType(StrEnum):
    """The three ways to inspect (000)."""

    flying = "flying"  # 飞行式抽查: random households, unannounced
    slice = "slice"  # 切片式督查: typical areas in depth
    cross = "cross"  # 交叉式普查: townships inspect each other
    targeted = "targeted"  # 定向核查: one household a case sends a team to (services/case_checks.py)


ROUND_TYPE_LABELS: dict[RoundType, str] = {
    RoundType.flying: "飞行式抽查",
    RoundType.slice: "切片式督查",
    RoundType.cross: "交叉式普查",
    RoundType.targeted: "定向核查",
}


class RoundStatus(StrEnum):
    draft = "draft"
    committed = "committed"
    drawn = "drawn"
    assigned = "assigned"
    dispatched = "dispatched"
    in_field = "in_field"
    closed = "closed"


class AssignmentStatus(StrEnum):
    pending = "pending"
    released = "released"
    in_progress = "in_progress"
    done = "done"
    revisit = "revisit"


class TakeAllGroup(StrEnum):
    """Groups visited with certainty: they form a take-all stratum, not merely a heavier weight."""

    cadre_relative = "cadre_relative"  # 基层干部及其亲属享受低保备案
    repeat_complaints = "repeat_complaints"  # the same household complained about 3 or more times (003)


class RiskWeights(BaseModel):
    """Additive risk weight: 1 + cadre + overdue + complaint·min(count, cap) + high_amount."""

    cadre_relative: float = Field(default=2.0, ge=0, le=100)
    review_overdue: float = Field(default=1.0, ge=0, le=100)
    complaint: float = Field(default=0.5, ge=0, le=100)
    complaint_cap: int = Field(default=3, ge=0, le=100)
    high_amount: float = Field(default=1.0, ge=0, le=100)


class SamplingParams(BaseModel):
    """Everything the draw reads besides the register; frozen and hashed at commit."""

    sample_ratio: float = Field(default=0.1, gt=0, le=1)
    min_per_stratum: int = Field(default=2, ge=0, le=10_000)
    take_all: list[TakeAllGroup] = Field(
        default_factory=lambda: [TakeAllGroup.cadre_relative, TakeAllGroup.repeat_complaints]
    )
    risk: RiskWeights = Field(default_factory=RiskWeights)
    high_amount_factor: float = Field(default=1.5, gt=0, le=100)
    exclude_visited_within_days: int = Field(default=0, ge=0, le=3650)
    townships: list[str] | None = Field(default=None, max_length=5000)
    as_of: date | None = None


class RoundCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    type: RoundType = RoundType.flying
    scope_code: str = Field(pattern=r"^[0-9]{2,12}$")
    window_start: date
    window_end: date
    checklist_ids: list[str] = Field(default_factory=list, max_length=20)
    params: SamplingParams = Field(default_factory=SamplingParams)
    coverage_target: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _window(self) -> RoundCreate:
        if self.type == RoundType.targeted:
            raise ValueError("targeted checks are ordered from a case, not created as rounds")
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class Commitment(BaseModel):
    """What is published at commit; the secret seed appears only after reveal."""

    algorithm_version: str | None
    seed_hash: str | None
    snapshot_hash: str | None
    params_hash: str | None
    committed_at: datetime | None
    witness_input: str | None = None
    derived_seed: str | None = None
    secret_seed: str | None = None
    revealed_at: datetime | None = None


class RoundPublic(BaseModel):
    id: uuid.UUID
    name: str
    type: RoundType
    type_label: str
    scope_code: str
    window_start: date
    window_end: date
    checklist_ids: list[str]
    params: dict[str, Any]
    coverage_target: float
    coverage: dict[str, Any]
    status: RoundStatus
    frame_size: int
    sample_size: int
    commitment: Commitment
    created_at: datetime


class ExclusionIn(BaseModel):
    household_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=40)
    detail: str | None = Field(default=None, max_length=300)


class ExclusionOut(BaseModel):
    """A household left out of a draft round."""

    id: uuid.UUID
    household_id: uuid.UUID
    reason: str


class DrawIn(BaseModel):
    witness: str = Field(min_length=1, max_length=500, description="the witnesses' input, e.g. dice rolls")


class SamplePublic(BaseModel):
    household_id: uuid.UUID
    register_no: str
    head_name: str | None
    township_code: str
    village_code: str
    stratum: str
    inclusion_prob: float
    design_weight: float
    risk_weight: float
    take_all: bool
    reason: str
    blocked_rule: str | None = None


class TeamPublic(BaseModel):
    id: uuid.UUID
    number: int
    label: str
    inspector_ids: list[uuid.UUID]
    inspector_logins: list[str]
    load: int


class AssignIn(BaseModel):
    inspector_ids: list[uuid.UUID] | None = Field(default=None, max_length=5000)
    teams: list[list[uuid.UUID]] | None = Field(default=None, max_length=2500)
    team_size: int = Field(default=2, ge=2, le=10)
    visits_per_day: int = Field(default=6, ge=1, le=100)


class AssignOut(BaseModel):
    round_id: uuid.UUID
    teams: list[TeamPublic]
    assigned: int
    unassignable: list[dict[str, Any]]
    coverage: dict[str, Any]


class AssignmentPublic(BaseModel):
    """An assignment as supervisors see it."""

    id: uuid.UUID
    team_id: uuid.UUID
    team_number: int
    household_id: uuid.UUID
    register_no: str
    head_name: str | None
    village_code: str
    visit_date: date
    route_order: int
    leg_m: float | None
    status: AssignmentStatus
    released_at: datetime | None


class SwapIn(BaseModel):
    assignment_id: uuid.UUID
    team_id: uuid.UUID | None = None
    other_assignment_id: uuid.UUID | None = None


class DispatchIn(BaseModel):
    day: date | None = None
    team_id: uuid.UUID | None = None


class ReleaseOut(BaseModel):
    inspector_id: uuid.UUID
    inspector_login: str
    telegram_user_id: int | None
    round_id: uuid.UUID
    round_name: str
    assignment_ids: list[uuid.UUID]
    visit_dates: list[date]
    released_at: datetime | None


class DispatchOut(BaseModel):
    round_id: uuid.UUID
    day: date
    released: int
    releases: list[ReleaseOut]


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: dict[str, Any]


class VerifyOut(BaseModel):
    round_id: uuid.UUID
    ok: bool
    draw_reproduced: bool
    checks: list[CheckOut]


class PublicVerifyOut(BaseModel):
    round_id: uuid.UUID
    name: str
    type: str
    status: str
    frame_size: int
    sample_size: int
    commitment: dict[str, Any]
    revealed: bool
    verification: VerifyOut | None
    message: str


class MyAssignment(BaseModel):
    """A released assignment as its inspector sees it: masked name, where, when."""

    id: uuid.UUID
    round_id: uuid.UUID
    round_name: str
    round_type: RoundType
    checklist_ids: list[str]
    household_id: uuid.UUID
    register_no: str
    head_name: str | None
    village_code: str
    village_name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    datum: Datum | None
    visit_date: date
    route_order: int
    leg_m: float | None
    status: AssignmentStatus
    released_at: datetime | None
    team_number: int
    teammates: list[str]


class MarkIn(BaseModel):
    status: AssignmentStatus
