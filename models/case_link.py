"""Links between cases (一事一案): a repeat complaint tied to the open case about the same matter,
and targeted checks (定向核查) a case orders: a sealed visit to the household outside any drawn round."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from models.types import json_column, new_uuid, ts_column, utcnow


class CaseLink(SQLModel, table=True):
    """A new case found to repeat an open one; undone by staff (the row stays, with who undid it)."""

    __tablename__ = "case_link"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    case_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("resident_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    primary_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("resident_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    score: int
    # how candidates were narrowed: "household" (same household) or "village" (same village + category)
    basis: str = Field(max_length=20)
    linked_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    undone_at: datetime | None = Field(default=None, sa_column=ts_column())
    undone_by: str | None = Field(default=None, max_length=80)


class CaseCheck(SQLModel, table=True):
    """A visit a case ordered: the carrier round, team and sealed assignment, and what came back."""

    __tablename__ = "case_check"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    case_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("resident_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    round_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("inspection_round.id", ondelete="CASCADE"), nullable=False)
    )
    assignment_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(),
            ForeignKey("round_assignment.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    visit_date: date
    ordered_by: str = Field(max_length=80)
    ordered_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    visit_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=ts_column())
    outcome: str | None = Field(default=None, max_length=20)
    findings: int = 0
    result: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
