"""Applications (申请) with their stages, status-lookup attempts, and cases (一事一案)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, ForeignKey, Numeric, String, Text, Uuid
from sqlmodel import Field, SQLModel

from contracts.residents import ApplicationOutcome as ApplicationOutcome
from contracts.residents import CaseCategory as CaseCategory
from contracts.residents import CaseSource as CaseSource
from contracts.residents import CaseState as CaseState
from contracts.residents import Stage as Stage
from models.types import enum_column, new_uuid, ts_column, utcnow


class Application(SQLModel, table=True):
    """A dibao application; the applicant's name, ID number and phone only encrypted plus keyed hashes."""

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    number: str = Field(max_length=24, unique=True, index=True)
    name_enc: str = Field(max_length=200)
    name_hash: str = Field(max_length=64)
    id_enc: str = Field(max_length=200)
    id_hash: str = Field(max_length=64, index=True)
    phone_enc: str | None = Field(default=None, max_length=200)
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    household_size: int = Field(default=1, ge=1)
    village_code: str = Field(
        sa_column=Column(String(12), ForeignKey("region.code"), nullable=False, index=True)
    )
    township_code: str = Field(max_length=9, index=True)
    county_code: str = Field(max_length=6, index=True)
    stage: Stage = Field(default=Stage.applied, sa_column=enum_column(Stage, length=20, index=True))
    outcome: ApplicationOutcome = Field(
        default=ApplicationOutcome.pending, sa_column=enum_column(ApplicationOutcome, length=20)
    )
    applied_on: date
    township_reviewed_on: date | None = None
    democratic_reviewed_on: date | None = None
    county_approved_on: date | None = None
    notice_from: date | None = None
    paid_from: date | None = None
    refused_on: date | None = None
    refusal_reason: str | None = Field(default=None, max_length=500)
    deciding_unit: str | None = Field(default=None, max_length=80)
    contact_unit: str | None = Field(default=None, max_length=80)
    contact_phone: str | None = Field(default=None, max_length=20)
    monthly_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class StatusAttempt(SQLModel, table=True):
    """A public status lookup: failures per client address and per application number throttle guessing.

    Both keys are keyed hashes, never the address or the typed number themselves.
    """

    __tablename__ = "status_attempt"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    ok: bool = False
    client_hash: str = Field(max_length=64, index=True)
    number_hash: str = Field(max_length=64, index=True)


class Case(SQLModel, table=True):
    """One complaint or objection handled as one case (一事一案)."""

    __tablename__ = "resident_case"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    number: str = Field(max_length=24, unique=True, index=True)
    code_hash: str | None = Field(default=None, max_length=64)
    source: CaseSource = Field(sa_column=enum_column(CaseSource, length=20))
    category: CaseCategory = Field(sa_column=enum_column(CaseCategory, length=20, index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    anonymous: bool = True
    contact_enc: str | None = Field(default=None, max_length=200)
    contact_hash: str | None = Field(default=None, max_length=64, index=True)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    household_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=True, index=True)
    )
    application_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("application.id"), nullable=True, index=True)
    )
    village_code: str | None = Field(default=None, max_length=12, index=True)
    state: CaseState = Field(
        default=CaseState.received, sa_column=enum_column(CaseState, length=20, index=True)
    )
    assigned_unit: str | None = Field(default=None, max_length=80)
    received_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    due_on: date
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=ts_column())
    answered_by: str | None = Field(default=None, max_length=80)
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    # --- cases handling (issues 17/18): external numbers, the household match, the workflow ---
    # the 12345 work order (or 信访 file) number: a re-import of the same number is the same case
    external_number: str | None = Field(default=None, max_length=60, unique=True, index=True)
    reporter_enc: str | None = Field(default=None, max_length=200)  # 诉求人 name, encrypted
    place: str | None = Field(default=None, max_length=300)  # 所属区域/地址 as the source gave it
    match_method: str | None = Field(default=None, max_length=20)  # id | register | name
    match_confidence: float | None = None
    match_confirmed: bool = False
    first_responder: str | None = Field(default=None, max_length=80)  # 首问负责: who took it first
    assigned_at: datetime | None = Field(default=None, sa_column=ts_column())
    closed_at: datetime | None = Field(default=None, sa_column=ts_column())
    reopen_count: int = 0
    rated_at: datetime | None = Field(default=None, sa_column=ts_column())
    # --- end of cases handling block ---


class CaseAttachment(SQLModel, table=True):
    """A photo sent with a case: the EXIF-free display copy is kept, by SHA-256."""

    __tablename__ = "case_attachment"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    case_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("resident_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    sha256: str = Field(max_length=64)
    display_sha256: str = Field(max_length=64)
    mime: str = Field(max_length=40)
    size_bytes: int
    width: int
    height: int
    received_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
