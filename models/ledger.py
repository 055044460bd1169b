"""The rectification ledger (整改台账): one item per household and problem category, and its history.

Overdue is never stored: queries compute it from the deadline and the state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Numeric, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from contracts.ledger import OPEN_STATES
from contracts.ledger import LedgerRoute as LedgerRoute
from contracts.ledger import LedgerState as LedgerState
from contracts.vocab import FindingCategory as FindingCategory
from contracts.vocab import Severity as Severity
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow

OPEN_STATES_SQL = "state IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES)))
"""The open states as SQL, for the partial index (the same list as `ledger.overdue_clause` binds)."""


class LedgerItem(SQLModel, table=True):
    """A problem of one household to drive to a verified close (对账销号)."""

    __tablename__ = "ledger_item"
    __table_args__ = (
        Index("ix_ledger_item_scope", "village_code", "state", "deadline"),
        Index("ix_ledger_item_state_deadline", "state", "deadline"),
        # open items by village and deadline: the overdue counts per region read this index alone
        Index(
            "ix_ledger_item_open_village_deadline",
            "village_code",
            "deadline",
            postgresql_where=text(OPEN_STATES_SQL),
            sqlite_where=text(OPEN_STATES_SQL),
        ),
        Index("ix_ledger_item_deadline_id", "deadline", "id"),  # wide regions page in this order
        Index("ix_ledger_item_state_created", "state", "created_at"),  # the dashboard's ageing by state
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    number: int = Field(sa_column=Column(Integer, nullable=False, unique=True))  # 序号, shown to people
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    village_code: str = Field(sa_column=Column(String(12), nullable=False))
    round_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True, index=True))
    category: FindingCategory = Field(sa_column=enum_column(FindingCategory, length=40))
    severity: Severity = Field(sa_column=enum_column(Severity, length=20))
    route: LedgerRoute = Field(sa_column=enum_column(LedgerRoute, length=30))
    state: LedgerState = Field(default=LedgerState.open, sa_column=enum_column(LedgerState, length=30))
    responsible_region_code: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    responsible_user_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("app_user.id"), nullable=True, index=True)
    )
    measures: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    deadline: date
    milestones: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    money_to_recover: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(12, 2), nullable=False))
    money_recovered: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(12, 2), nullable=False))
    months: int | None = None
    fix_submitted_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    recheck_assignment_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid(), ForeignKey("round_assignment.id"), nullable=True)
    )
    closed_at: datetime | None = Field(default=None, sa_column=ts_column())
    closed_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class LedgerEvent(SQLModel, table=True):
    """One step in an item's history: who, when, from which state to which, a note, evidence."""

    __tablename__ = "ledger_event"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    item_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("ledger_item.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    actor: str = Field(max_length=100)
    actor_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    action: str = Field(max_length=40)
    from_state: LedgerState | None = Field(
        default=None, sa_column=enum_column(LedgerState, nullable=True, length=30)
    )
    to_state: LedgerState | None = Field(
        default=None, sa_column=enum_column(LedgerState, nullable=True, length=30)
    )
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    evidence_ids: list[str] = Field(default_factory=list, sa_column=json_column())
