"""A visit to a household and the findings the store derived from it."""

from __future__ import annotations

import math
import statistics
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Uuid,
    event,
    false,
    select,
)
from sqlmodel import Field, SQLModel, col

from contracts.ledger import FindingKind as FindingKind
from contracts.ledger import FindingReview as FindingReview
from contracts.ledger import FindingSource as FindingSource
from contracts.ledger import VisitReview as VisitReview
from contracts.visits import VisitStatus as VisitStatus
from contracts.vocab import FindingCategory as FindingCategory
from contracts.vocab import Outcome as Outcome
from contracts.vocab import Severity as Severity
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class Visit(SQLModel, table=True):
    """An inspection visit: the pinned checklist, answers, track, check-in verdict and timing."""

    # the console counts visits of a region by day without joining the (large) household register
    __table_args__ = (Index("ix_visit_scope_started", "village_code", "started_at"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    inspector_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id"), nullable=False, index=True)
    )
    assignment_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("round_assignment.id"), nullable=True, index=True)
    )
    round_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True, index=True))
    # the household's village when the visit was recorded (filled on insert; region scope of counts)
    village_code: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    checklist_id: str = Field(default="home_visit", sa_column=Column(String(60), nullable=False))
    checklist_version: int = 1
    status: VisitStatus = Field(
        default=VisitStatus.in_progress, sa_column=enum_column(VisitStatus, index=True)
    )
    # VARCHAR(20) as before, so typing the column changes no DDL
    outcome: Outcome | None = Field(default=None, sa_column=enum_column(Outcome, nullable=True, length=20))
    participants: list[str] = Field(default_factory=list, sa_column=json_column())
    answers: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    step_seconds: dict[str, float] = Field(default_factory=dict, sa_column=json_column())
    track: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    checkin: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    flags: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    core_proof: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    client_findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    # the structured conclusion (contracts.visits.Conclusion) the store derived on finish
    conclusion: dict[str, Any] | None = Field(default=None, sa_column=json_column(nullable=True))
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=ts_column(nullable=False, index=True)
    )  # the console lists visits newest first
    finished_at: datetime | None = Field(default=None, sa_column=ts_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    # the supervisor's review of the visit: accepted, or sent back for a revisit with a reason
    review: VisitReview | None = Field(
        default=None, sa_column=enum_column(VisitReview, nullable=True, length=20)
    )
    review_reason: str | None = Field(default=None, max_length=1000)
    reviewed_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    reviewed_at: datetime | None = Field(default=None, sa_column=ts_column())
    # Kept in step with checkin, flags and step_seconds on every write (see _summarise), so that the
    # inspector-quality figures are counted over plain columns instead of parsing JSON per visit:
    checkin_cell: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    rushed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    step_median_s: float | None = Field(default=None, sa_column=Column(Float, nullable=True))


CELL = 10_000  # check-in points are compared on a grid of 1/10,000 degree (about 10 m)


def checkin_cell(checkin: dict[str, Any] | None) -> int | None:
    """The check-in point's grid cell as one integer (None without a usable point)."""
    try:
        lat, lon = float((checkin or {})["lat"]), float((checkin or {})["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return round(lat * CELL) * 100_000_000 + round(lon * CELL)


def step_median(step_seconds: dict[str, Any] | None) -> float | None:
    """The median of a visit's step durations in seconds (None when it has none)."""
    values = []
    for v in (step_seconds or {}).values():
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x):
            values.append(x)
    return statistics.median(values) if values else None


def _summarise(mapper: Any, connection: Any, target: Visit) -> None:
    target.checkin_cell = checkin_cell(target.checkin)
    target.rushed = any(isinstance(f, dict) and f.get("code") == "rushed" for f in target.flags or [])
    target.step_median_s = step_median(target.step_seconds)


event.listen(Visit, "before_insert", _summarise)
event.listen(Visit, "before_update", _summarise)


class Finding(SQLModel, table=True):
    """A problem the store derived by replaying a visit's answers (never the client's own list),
    or one a supervisor added by hand from a document check or a call (then without a visit)."""

    # the console counts findings of a region by category without joining the household register
    __table_args__ = (Index("ix_finding_scope_category", "village_code", "category"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    visit_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("visit.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    round_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True, index=True))
    # the household's village when the finding was recorded (filled on insert; region scope of counts)
    village_code: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    rule_id: str = Field(max_length=80)
    category: FindingCategory = Field(sa_column=enum_column(FindingCategory, index=True, length=40))
    # VARCHAR(40) and VARCHAR(20) as before: the enums need no wider columns, and the DDL stays the same.
    severity: Severity = Field(sa_column=enum_column(Severity, length=20))
    step_ids: list[str] = Field(default_factory=list, sa_column=json_column())
    message_zh: str = Field(max_length=1000)
    message_en: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    # review for the ledger: every derived finding is a `finding` today; `lead` is ready for leads
    kind: FindingKind = Field(default=FindingKind.finding, sa_column=enum_column(FindingKind, length=20))
    source: FindingSource = Field(
        default=FindingSource.visit, sa_column=enum_column(FindingSource, length=20)
    )
    review: FindingReview = Field(
        default=FindingReview.pending, sa_column=enum_column(FindingReview, index=True, length=20)
    )
    review_reason: str | None = Field(default=None, max_length=1000)
    reviewed_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    reviewed_at: datetime | None = Field(default=None, sa_column=ts_column())
    created_by: str | None = Field(default=None, max_length=100)
    merged_into_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    ledger_item_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("ledger_item.id"), nullable=True, index=True)
    )


def _fill_village(mapper: Any, connection: Any, target: Visit | Finding) -> None:
    """Records the household's village on a new visit or finding: the region its counts belong to.
    A household that later moves keeps its past visits and findings in the village they were made in."""
    if target.village_code is None and target.household_id is not None:
        from models.household import Household

        target.village_code = connection.scalar(
            select(col(Household.village_code)).where(col(Household.id) == target.household_id)
        )


event.listen(Visit, "before_insert", _fill_village)
event.listen(Finding, "before_insert", _fill_village)
