"""The rectification ledger (整改台账): finding review, ledger items, their states and history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from contracts.estimates import RoundEstimates
from contracts.evidence import EvidencePublic
from contracts.households import Tier
from contracts.rounds import AssignmentStatus
from contracts.visits import VisitStatus
from contracts.vocab import FindingCategory, Severity


class FindingKind(StrEnum):
    """A lead (疑点待核, a township officer may confirm it) or a finding (a supervisor confirms it)."""

    lead = "lead"
    finding = "finding"


class FindingSource(StrEnum):
    """Where a finding came from: a visit's replay, or added by hand after a document check or a call."""

    visit = "visit"
    document = "document"
    call = "call"
    crosscheck = "crosscheck"  # a match against another department's register (deaths, vehicles, ...)


class FindingReview(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    dismissed = "dismissed"
    merged = "merged"


class VisitReview(StrEnum):
    accepted = "accepted"
    sent_back = "sent_back"  # for a revisit, with a reason


class LedgerRoute(StrEnum):
    """How an item is handled (003)."""

    fix_now = "fix_now"  # 立即整改
    fix_by_deadline = "fix_by_deadline"  # 限期整改
    transfer = "transfer"  # 移交 another department
    discipline = "discipline"  # 移送纪检监察


class LedgerState(StrEnum):
    open = "open"
    in_progress = "in_progress"
    fix_submitted = "fix_submitted"
    closed = "closed"  # verified and reconciled (对账销号)
    returned = "returned"  # the fix was not good enough (重新整改)
    reopened = "reopened"  # a recheck found it again


OPEN_STATES: frozenset[LedgerState] = frozenset(
    {LedgerState.open, LedgerState.in_progress, LedgerState.returned, LedgerState.reopened}
)
"""States in which the deadline runs (an item in one of them past its deadline is overdue)."""


class OutcomeChange(StrEnum):
    """What a fix changes on the household register when its close is verified."""

    none = "none"
    exit = "exit"  # 清退
    adjust = "adjust"  # 调档: tier or amount
    recover = "recover"  # overpaid money to recover
    add_missed = "add_missed"  # 漏保: a missed household to add
    restore = "restore"  # 补发 / benefit restored


def _yuan(digits: int) -> WithJsonSchema:
    """The published schema of an optional amount in yuan: a number, or a decimal string whose
    pattern says which strings are amounts (so a client can tell which strings are accepted)."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 10**digits - 1},
                {"type": "string", "pattern": rf"^[0-9]{{1,{digits}}}(\.[0-9]{{1,2}})?$"},
                {"type": "null"},
            ]
        }
    )


class FixOutcome(BaseModel):
    """The change a fix records; applied to the register only by a verified close (yuan, kept to the fen)."""

    change: OutcomeChange = OutcomeChange.none
    tier: Tier | None = None
    monthly_amount: Annotated[Decimal | None, _yuan(5)] = Field(default=None, ge=0, le=100_000)
    months: int | None = Field(default=None, ge=0, le=600)
    amount_to_recover: Annotated[Decimal | None, _yuan(7)] = Field(default=None, ge=0, le=10_000_000)
    recovered: Annotated[Decimal | None, _yuan(7)] = Field(default=None, ge=0, le=10_000_000)
    # 补发: what is owed to the household
    back_pay_amount: Annotated[Decimal | None, _yuan(7)] = Field(default=None, ge=0, le=10_000_000)


class Milestone(BaseModel):
    """One step of the timetable of an item that cannot be fixed at once (时间表)."""

    title: str = Field(min_length=1, max_length=200)
    due: date
    done: bool = False


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class OptionalReasonIn(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class MergeIn(BaseModel):
    into_id: uuid.UUID
    reason: str | None = Field(default=None, max_length=1000)


class ManualFindingIn(BaseModel):
    """A finding added by hand (from a document check or a call); it waits for review like any other."""

    household_id: uuid.UUID
    category: FindingCategory
    severity: Severity
    kind: FindingKind = FindingKind.finding
    source: FindingSource = FindingSource.document
    text: str = Field(min_length=1, max_length=1000)
    round_id: uuid.UUID | None = None


class VisitReviewIn(BaseModel):
    review: VisitReview
    reason: str | None = Field(default=None, max_length=1000)


class VisitReviewOut(BaseModel):
    visit_id: uuid.UUID
    review: VisitReview
    reason: str | None


class FindingOut(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    register_no: str
    visit_id: uuid.UUID | None
    round_id: uuid.UUID | None
    kind: FindingKind
    source: FindingSource
    category: FindingCategory
    severity: Severity
    message: str
    review: FindingReview
    review_reason: str | None
    merged_into_id: uuid.UUID | None
    ledger_item_id: uuid.UUID | None
    created_at: datetime


class ItemUpdateIn(BaseModel):
    """Who fixes it, how, and by when (omitted fields stay)."""

    route: LedgerRoute | None = None
    responsible_user_id: uuid.UUID | None = None
    responsible_region_code: str | None = Field(default=None, pattern=r"^[0-9]{6,12}$")
    measures: str | None = Field(default=None, max_length=2000)
    deadline: date | None = None
    milestones: list[Milestone] | None = Field(default=None, max_length=50)


class TransitionIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    evidence_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class FixIn(TransitionIn):
    """What was done; ``outcome`` omitted keeps the item's outcome (the one pre-filled from the
    visit's conclusion, or none)."""

    outcome: FixOutcome | None = None


class VerifyIn(TransitionIn):
    """Evidence of this household, or the recheck visit ordered from the item (finished)."""

    recheck_visit_id: uuid.UUID | None = None
    version: int | None = Field(default=None, ge=0, le=2**31 - 1, description="refused (409) unless current")


class ReturnIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)


class RecheckIn(BaseModel):
    team_id: uuid.UUID
    visit_date: date


class RecheckOut(BaseModel):
    """The recheck visit last ordered from the item: its sealed assignment and, once visited, the visit."""

    assignment_id: uuid.UUID
    round_id: uuid.UUID
    round_name: str
    team_id: uuid.UUID
    team_label: str
    visit_date: date
    status: AssignmentStatus
    visit_id: uuid.UUID | None = None
    visit_status: VisitStatus | None = None


class RecheckTeam(BaseModel):
    """A team a recheck visit may be given to: of a round in scope that still goes into the field."""

    team_id: uuid.UUID
    label: str
    round_id: uuid.UUID
    round_name: str
    inspector_logins: list[str]


class LedgerEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: LedgerState | None
    to_state: LedgerState | None
    note: str | None
    evidence_ids: list[str]


class LedgerItemOut(BaseModel):
    id: uuid.UUID
    number: int
    household_id: uuid.UUID
    register_no: str
    head_name: str
    village_code: str
    round_id: uuid.UUID | None
    category: FindingCategory
    severity: Severity
    route: LedgerRoute
    state: LedgerState
    responsible_region_code: str
    responsible_user_id: uuid.UUID | None
    measures: str | None
    deadline: date
    overdue: bool
    milestones: list[dict[str, Any]]
    outcome: dict[str, Any]
    money_to_recover: Decimal
    money_recovered: Decimal
    months: int | None
    finding_ids: list[uuid.UUID] = []
    version: int
    created_at: datetime
    closed_at: datetime | None


class LedgerItemDetail(LedgerItemOut):
    history: list[LedgerEventOut] = []
    # the recheck visit ordered from the item (supervisors only: its day is sealed from the officers)
    recheck: RecheckOut | None = None
    # the photos and documents sent for the item itself (a fix's evidence without a visit)
    evidence: list[EvidencePublic] = []


class LedgerPage(BaseModel):
    items: list[LedgerItemOut]
    next_cursor: str | None


class FindingPage(BaseModel):
    items: list[FindingOut]


class LedgerSummary(BaseModel):
    """A round's (or the whole ledger's) state in the caller's region: findings, items, overdue, money."""

    round_id: uuid.UUID | None
    region: str | None
    findings_by_category: dict[FindingCategory, int]
    items_by_category: dict[FindingCategory, int]
    items_by_state: dict[LedgerState, int]
    items_total: int
    overdue: int
    money_to_recover: Decimal
    money_recovered: Decimal
    # estimates for the report upward (a closed round, a supervisor): see services/estimates.py
    estimates: RoundEstimates | None = None
