"""Inspection rounds: the committed register snapshot, the drawn sample, teams and sealed assignments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator
from sqlalchemy import Column, ForeignKey, LargeBinary, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from models.household import Datum
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class RoundType(StrEnum):
    """The three ways to inspect (000)."""

    flying = "flying"  # 飞行式抽查: random households, unannounced
    slice = "slice"  # 切片式督查: typical areas in depth
    cross = "cross"  # 交叉式普查: townships inspect each other


ROUND_TYPE_LABELS: dict[RoundType, str] = {
    RoundType.flying: "飞行式抽查",
    RoundType.slice: "切片式督查",
    RoundType.cross: "交叉式普查",
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


class RiskWeights(SQLModel):
    """Additive risk weight: 1 + cadre + overdue + complaint·min(count, cap) + high_amount."""

    cadre_relative: float = Field(default=2.0, ge=0, le=100)
    review_overdue: float = Field(default=1.0, ge=0, le=100)
    complaint: float = Field(default=0.5, ge=0, le=100)
    complaint_cap: int = Field(default=3, ge=0, le=100)
    high_amount: float = Field(default=1.0, ge=0, le=100)


class SamplingParams(SQLModel):
    """Everything the draw reads besides the register; frozen and hashed at commit."""

    sample_ratio: float = Field(default=0.1, gt=0, le=1)
    min_per_stratum: int = Field(default=2, ge=0, le=10_000)
    take_all: list[TakeAllGroup] = Field(default_factory=lambda: [TakeAllGroup.cadre_relative])
    risk: RiskWeights = Field(default_factory=RiskWeights)
    high_amount_factor: float = Field(default=1.5, gt=0, le=100)
    exclude_visited_within_days: int = Field(default=0, ge=0, le=3650)
    townships: list[str] | None = Field(default=None, max_length=5000)
    as_of: date | None = None


class InspectionRound(SQLModel, table=True):
    """A round of inspection; the commitment fields are written once and never change afterwards."""

    __tablename__ = "inspection_round"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(max_length=100)
    type: RoundType = Field(sa_column=enum_column(RoundType))
    scope_code: str = Field(max_length=12, index=True)
    window_start: date
    window_end: date
    checklist_ids: list[str] = Field(default_factory=list, sa_column=json_column())
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    coverage_target: float = 0.0
    coverage: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    status: RoundStatus = Field(default=RoundStatus.draft, sa_column=enum_column(RoundStatus, index=True))
    created_by: str = Field(max_length=80)
    frame_size: int = 0
    sample_size: int = 0
    algorithm_version: str | None = Field(default=None, max_length=60)
    seed_hash: str | None = Field(default=None, max_length=64)
    snapshot_hash: str | None = Field(default=None, max_length=64)
    params_hash: str | None = Field(default=None, max_length=64)
    secret_seed: str | None = Field(default=None, max_length=64)
    witness_input: str | None = Field(default=None, max_length=500)
    derived_seed: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    committed_at: datetime | None = Field(default=None, sa_column=ts_column())
    drawn_at: datetime | None = Field(default=None, sa_column=ts_column())
    assigned_at: datetime | None = Field(default=None, sa_column=ts_column())
    dispatched_at: datetime | None = Field(default=None, sa_column=ts_column())
    closed_at: datetime | None = Field(default=None, sa_column=ts_column())
    revealed_at: datetime | None = Field(default=None, sa_column=ts_column())


class RoundSnapshot(SQLModel, table=True):
    """The register as the draw read it (zlib-compressed canonical JSON) and the committed parameters."""

    __tablename__ = "round_snapshot"

    round_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("inspection_round.id", ondelete="CASCADE"), primary_key=True)
    )
    data: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    household_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


def _round_fk() -> Any:
    return Column(Uuid(), ForeignKey("inspection_round.id", ondelete="CASCADE"), nullable=False, index=True)


def _household_fk() -> Any:
    return Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)


class RoundExclusion(SQLModel, table=True):
    """A household left out of a round's frame, always with a reason."""

    __tablename__ = "round_exclusion"
    __table_args__ = (UniqueConstraint("round_id", "household_id"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    round_id: uuid.UUID = Field(sa_column=_round_fk())
    household_id: uuid.UUID = Field(sa_column=_household_fk())
    reason: str = Field(max_length=40)
    detail: str | None = Field(default=None, max_length=300)
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class RoundSample(SQLModel, table=True):
    """A drawn household with its stratum and first-order inclusion probability (weight = 1/π)."""

    __tablename__ = "round_sample"
    __table_args__ = (UniqueConstraint("round_id", "household_id"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    round_id: uuid.UUID = Field(sa_column=_round_fk())
    household_id: uuid.UUID = Field(sa_column=_household_fk())
    stratum: str = Field(max_length=40)
    inclusion_prob: float
    design_weight: float
    risk_weight: float
    take_all: bool = False
    reason: str = Field(max_length=40)
    blocked_rule: str | None = Field(default=None, max_length=120)


class RoundTeam(SQLModel, table=True):
    """An inspection team (检查组) of a round."""

    __tablename__ = "round_team"
    __table_args__ = (UniqueConstraint("round_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    round_id: uuid.UUID = Field(sa_column=_round_fk())
    number: int
    label: str = Field(max_length=40)


class TeamMember(SQLModel, table=True):
    """An inspector on a team."""

    __tablename__ = "round_team_member"

    team_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("round_team.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id"), primary_key=True, index=True)
    )


class Assignment(SQLModel, table=True):
    """One household for one team on one day; sealed until released_at is set by dispatch."""

    __tablename__ = "round_assignment"
    __table_args__ = (UniqueConstraint("round_id", "household_id"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    round_id: uuid.UUID = Field(sa_column=_round_fk())
    team_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("round_team.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    household_id: uuid.UUID = Field(sa_column=_household_fk())
    visit_date: date = Field(index=True)
    route_order: int = 0
    leg_m: float | None = None
    status: AssignmentStatus = Field(
        default=AssignmentStatus.pending, sa_column=enum_column(AssignmentStatus, index=True)
    )
    released_at: datetime | None = Field(default=None, sa_column=ts_column(index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


# ---- API shapes -------------------------------------------------------------------------------


class RoundCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    type: RoundType = RoundType.flying
    scope_code: str = Field(schema_extra={"pattern": r"^[0-9]{2,12}$"})
    window_start: date
    window_end: date
    checklist_ids: list[str] = Field(default_factory=list, max_length=20)
    params: SamplingParams = Field(default_factory=SamplingParams)
    coverage_target: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _window(self) -> RoundCreate:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class Commitment(SQLModel):
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


class RoundPublic(SQLModel):
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


class SamplePublic(SQLModel):
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


class TeamPublic(SQLModel):
    id: uuid.UUID
    number: int
    label: str
    inspector_ids: list[uuid.UUID]
    inspector_logins: list[str]
    load: int


class AssignmentPublic(SQLModel):
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


class MyAssignment(SQLModel):
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
