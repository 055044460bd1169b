"""Repeat complaints and targeted checks of a case: links, the household's repeat flag, ordered visits."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from contracts.rounds import AssignmentStatus


class CaseLinkPublic(BaseModel):
    """A repeat complaint tied to the open case about the same matter."""

    case_id: uuid.UUID
    case_number: str
    primary_id: uuid.UUID
    primary_number: str
    score: int
    basis: str  # "household" (same household) or "village" (same village and category)
    linked_at: datetime
    undone_at: datetime | None = None
    undone_by: str | None = None


class CaseLinks(BaseModel):
    """What a case is linked to and what repeats it; the household's complaint count and flag."""

    case_id: uuid.UUID
    household_id: uuid.UUID | None
    primary: CaseLinkPublic | None
    repeats: list[CaseLinkPublic]
    household_complaints: int
    repeat_flag: bool  # 3 or more complaints about the household (连续3次（含）以上): take-all in draws


class CaseHousehold(BaseModel):
    """Staff name the household a case is about (then repeats are looked for again)."""

    household_id: uuid.UUID


class CheckOrder(BaseModel):
    """Order a targeted visit of the case's household: a team of at least two inspectors."""

    inspector_ids: list[uuid.UUID] = Field(min_length=2, max_length=6)
    visit_date: date | None = None  # default today; a later day stays sealed until it comes


class CheckFinding(BaseModel):
    """A finding the visit's answers gave."""

    rule_id: str
    category: str
    severity: str
    kind: str
    message: str


class CheckPublic(BaseModel):
    """A targeted check of a case and what came back."""

    id: uuid.UUID
    case_id: uuid.UUID
    household_id: uuid.UUID
    register_no: str
    round_id: uuid.UUID
    assignment_id: uuid.UUID
    assignment_status: AssignmentStatus
    visit_date: date
    ordered_by: str
    ordered_at: datetime
    visit_id: uuid.UUID | None
    finished_at: datetime | None
    outcome: str | None
    findings: list[CheckFinding]
