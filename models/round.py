"""Inspection rounds: the committed register snapshot, the drawn sample, teams and sealed assignments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, LargeBinary, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from contracts.rounds import AssignmentStatus as AssignmentStatus
from contracts.rounds import RoundStatus as RoundStatus
from contracts.rounds import RoundType as RoundType
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class InspectionRound(SQLModel, table=True):
    """A round of inspection; the commitment fields are written once and never change afterwards."""

    __tablename__ = "inspection_round"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(max_length=100)
    # VARCHAR(14) as before: 'targeted' fits, and the DDL stays the same
    type: RoundType = Field(sa_column=enum_column(RoundType, length=14))
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
