"""Residents' side of the store: applications (申请), public status answers, and cases (一事一案)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field


class Stage(StrEnum):
    """The stages of a dibao application, in order (002)."""

    applied = "申请"
    township_review = "乡镇审核"
    democratic_review = "民主评议"
    county_approval = "县级审批"
    public_notice = "公示"
    payment = "发放"


STAGES: tuple[Stage, ...] = tuple(Stage)


class ApplicationOutcome(StrEnum):
    """Where an application ended up (in progress until approved at payment or refused)."""

    pending = "pending"
    approved = "approved"
    refused = "refused"


class CaseSource(StrEnum):
    """Where a case came from (017)."""

    hotline = "12345"
    petition = "信访"
    bot = "bot"
    web = "web"
    staff = "staff"
    notice = "公示异议"


class CaseCategory(StrEnum):
    """What a case is about."""

    eligibility = "eligibility"
    payment = "payment"
    conduct = "conduct"
    objection = "objection"
    other = "other"


class CaseState(StrEnum):
    """received → assigned → investigating → answered → closed | reopened."""

    received = "received"
    assigned = "assigned"
    investigating = "investigating"
    answered = "answered"
    closed = "closed"
    reopened = "reopened"


class ApplicationCreate(BaseModel):
    """A new application as staff enter it."""

    applicant_name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=18, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    village_code: str = Field(pattern=r"^[0-9]{12}$")
    household_size: int = Field(default=1, ge=1, le=30)
    applied_on: date | None = None
    monthly_amount: float | None = Field(default=None, ge=0, le=100000)
    contact_unit: str | None = Field(default=None, max_length=80)
    contact_phone: str | None = Field(default=None, max_length=20)


class StageMove(BaseModel):
    """Staff move an application on (or refuse it)."""

    to: Stage | None = None
    on: date | None = None
    deciding_unit: str | None = Field(default=None, max_length=80)
    refuse_reason: str | None = Field(default=None, max_length=500)
    monthly_amount: float | None = Field(default=None, ge=0, le=100000)


class StageDate(BaseModel):
    """One stage and the date it was reached (None: not yet)."""

    stage: Stage
    on: date | None


class ApplicationStaff(BaseModel):
    """An application as staff see it (identifiers masked)."""

    id: str
    number: str
    applicant_name: str
    id_number: str
    phone: str | None
    village_code: str
    household_size: int
    stage: Stage
    outcome: ApplicationOutcome
    dates: list[StageDate]
    deciding_unit: str | None
    refusal_reason: str | None
    monthly_amount: Decimal | None
    notice_until: date | None


class StatusQuery(BaseModel):
    """What a resident types to see an application's status."""

    number: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=60)


class StatusAnswer(BaseModel):
    """The public answer: masked numbers only."""

    number: str
    applicant_name: str
    id_number: str
    stage: Stage
    stage_label: str
    outcome: ApplicationOutcome
    dates: list[StageDate]
    next_step: str
    deciding_unit: str | None
    refusal_reason: str | None
    contact_unit: str | None
    contact_phone: str | None
    notice_until: date | None


class CasePublic(BaseModel):
    """A case as its resident sees it."""

    number: str
    state: CaseState
    state_label: str
    category: CaseCategory
    text: str
    received_at: datetime
    due_on: date
    answer: str | None
    answered_at: datetime | None
    satisfaction: int | None
    attachments: int


class CaseStaff(CasePublic):
    """A case as staff see it (contact masked)."""

    id: str
    source: CaseSource
    anonymous: bool
    contact: str | None
    village_code: str | None
    application_number: str | None
    # handling (issues 17/18)
    external_number: str | None = None
    reporter: str | None = None  # masked (张*)
    place: str | None = None
    assigned_unit: str | None = None
    first_responder: str | None = None
    household_register_no: str | None = None
    match_method: str | None = None
    match_confidence: float | None = None
    match_confirmed: bool = False
    limit_status: str = "on_time"
    closed_at: datetime | None = None


class CaseAnswer(BaseModel):
    """Staff answer a case."""

    answer: str = Field(min_length=1, max_length=4000)


class PhoneLookup(BaseModel):
    """The bot asks for a resident whose own phone number Telegram confirmed (contact.user_id == sender)."""

    telegram_user_id: int
    phone: str = Field(min_length=5, max_length=20)
    language: str = Field(default="zh-CN", max_length=10)


class ResidentOverview(BaseModel):
    """A resident's own applications (by the phone's keyed hash) and cases."""

    applications: list[StatusAnswer]
    cases: list[CasePublic]


class CaseCreated(BaseModel):
    """A new case: its number, and the follow-up code shown once."""

    number: str
    code: str
    due_on: date


class ImportRowError(BaseModel):
    """A refused row of an import."""

    row: int
    code: str
    message: str


class ApplicationImportResult(BaseModel):
    """What an import created (numbers) and the rows it refused."""

    created: list[str]
    errors: list[ImportRowError]
