"""Visits: start or join, event batches, finish, and the visit with the store's findings."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.vocab import FindingCategory, Outcome, Severity

MAX_EVENTS = 500


class Decision(StrEnum):
    """The team's conclusion on a visited household (the ledger takes it from here)."""

    ELIGIBLE = "eligible"  # 符合
    ADJUST_TIER = "adjust_tier"  # 调档
    REMOVE = "remove"  # 清退
    BACK_PAY = "back_pay"  # 补发
    RECHECK = "recheck"  # 再核
    REFER = "refer"  # 移送纪检


class Conclusion(BaseModel):
    """A visit's structured conclusion with the typed numbers the ledger needs."""

    decision: Decision
    new_tier: str | None = None
    overpaid_months: int | None = None
    overpaid_amount: float | None = None
    back_pay_amount: float | None = None
    months_short: int | None = None  # months with no or a short credit, as the record showed
    amount_short: float | None = None  # register amount × months checked − credited, by the store


class VisitStatus(StrEnum):
    in_progress = "in_progress"
    submitted = "submitted"
    cancelled = "cancelled"


class LocationEvent(BaseModel):
    """A position shared during the visit (Telegram live or static location)."""

    kind: Literal["location"] = "location"
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: datetime = Field(
        description="When it happened (the message's Telegram date); refused when later than the "
        "store's clock plus its allowed skew (FEIJIAN_CLOCK_SKEW_S)"
    )
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    live: bool = False
    venue: bool = False
    forwarded: bool = False


class NoteEvent(BaseModel):
    """A free-text remark."""

    kind: Literal["note"] = "note"
    text: str = Field(min_length=1, max_length=2000)
    at: datetime = Field(
        description="When it happened (the message's Telegram date); refused when later than the "
        "store's clock plus its allowed skew (FEIJIAN_CLOCK_SKEW_S)"
    )


class StepTimeEvent(BaseModel):
    """How long the inspector spent on one step."""

    kind: Literal["step_time"] = "step_time"
    step_id: str = Field(min_length=1, max_length=80)
    seconds: float = Field(ge=0, le=86_400)


class AnswerIn(BaseModel):
    """One answer as the engine stores it."""

    step_id: str = Field(min_length=1, max_length=80)
    value: Any = None
    evidence: list[str] = Field(default_factory=list, max_length=50)
    item: int | None = Field(default=None, ge=1, le=200)  # which member of a repeat


VisitEvent = LocationEvent | NoteEvent | StepTimeEvent


class VisitStart(BaseModel):
    assignment_id: uuid.UUID
    checklist_id: str | None = Field(default=None, max_length=60)


class EventBatch(BaseModel):
    events: list[VisitEvent] = Field(max_length=MAX_EVENTS)


class VisitFinish(BaseModel):
    answers: list[AnswerIn] = Field(max_length=1000)
    client_findings: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    # When the inspector submitted; refused like an event time when too far in the future.
    finished_at: datetime | None = None


class FindingPublic(BaseModel):
    id: uuid.UUID
    rule_id: str
    category: FindingCategory
    severity: Severity
    step_ids: list[str]
    message: str
    kind: Literal["lead", "finding"] = "finding"  # a lead (疑点待核) goes to review first


class VisitPublic(BaseModel):
    """A visit as the API shows it."""

    id: uuid.UUID
    household_id: uuid.UUID
    inspector_id: uuid.UUID
    assignment_id: uuid.UUID | None
    round_id: uuid.UUID | None
    checklist_id: str
    checklist_version: int
    status: VisitStatus
    outcome: Outcome | None
    participants: list[str]
    answers: list[dict[str, Any]]
    step_seconds: dict[str, float]
    track_points: int
    checkin: dict[str, Any]
    flags: list[dict[str, Any]]
    core_proof: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    findings: list[FindingPublic] = []
    conclusion: Conclusion | None = None
