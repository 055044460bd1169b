"""Cross-checks against other departments' registers: one run per imported file, one match per person.

A match is unique per source, month and household member, so importing the same month's file again
finds the same people and adds nothing. A death is matched once whatever the month it is reported in.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Numeric, String, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from contracts.crosschecks import MatchOutcome as MatchOutcome
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class CrosscheckRun(SQLModel, table=True):
    """One imported file of another department (death records, vehicles, ...) and what it found."""

    __tablename__ = "crosscheck_run"
    __table_args__ = (Index("ix_crosscheck_run_source_period", "source", "period"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    source: str = Field(max_length=40)  # "deaths" or a rule file's source name
    period: str = Field(max_length=7)  # the month the file reports, YYYY-MM
    filename: str = Field(max_length=200)
    file_sha256: str = Field(max_length=64)
    # the importer's region: a scoped supervisor's run only matched (and only shows) their region
    scope_code: str | None = Field(default=None, max_length=12)
    rows: int = 0
    valid_rows: int = 0
    matched: int = 0
    new_matches: int = 0
    findings: int = 0
    ledger_items: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CrosscheckMatch(SQLModel, table=True):
    """A household member found in another department's register, and what the match led to."""

    __tablename__ = "crosscheck_match"
    __table_args__ = (
        UniqueConstraint("source", "period", "member_id", name="uq_crosscheck_match_member"),
        Index("ix_crosscheck_match_scope", "village_code", "source", "period"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    run_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("crosscheck_run.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    source: str = Field(max_length=40)
    period: str = Field(max_length=7)
    member_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("household_member.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    village_code: str = Field(sa_column=Column(String(12), nullable=False))
    row: int = 0  # the row of the imported file
    # shown masked only: the file's values are never stored in clear
    name_masked: str = Field(max_length=60)
    id_masked: str = Field(max_length=30)
    event_date: date | None = None  # date of death, or the register's own date
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2), nullable=True))
    outcome: MatchOutcome = Field(sa_column=enum_column(MatchOutcome, length=30))
    months: int | None = None
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    finding_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    ledger_item_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
