"""Case handling shapes for staff: entry, transitions, the household match, the 12345 import."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from contracts.residents import CaseCategory, CaseSource


class CaseEntry(BaseModel):
    """A case staff enter (a 信访 letter or visit, a walk-in, a call taken at the office)."""

    source: CaseSource = CaseSource.staff
    category: CaseCategory = CaseCategory.other
    text: str = Field(min_length=1, max_length=4000)
    external_number: str | None = Field(default=None, max_length=60)
    reporter_name: str | None = Field(default=None, max_length=60)
    contact: str | None = Field(default=None, max_length=20)
    anonymous: bool = False
    place: str | None = Field(default=None, max_length=300)
    id_number: str | None = Field(default=None, max_length=40)
    register_no: str | None = Field(default=None, max_length=40)


class CaseAssign(BaseModel):
    """Assign a case to the unit that handles it."""

    unit: str = Field(min_length=1, max_length=80)
    note: str | None = Field(default=None, max_length=1000)


class CaseNote(BaseModel):
    """A transition with an optional note (start investigating, close, reopen)."""

    note: str | None = Field(default=None, max_length=1000)


class CaseMatchConfirm(BaseModel):
    """Staff confirm (or correct) which household a case is about, by register number."""

    register_no: str = Field(min_length=1, max_length=40)


class CaseEventOut(BaseModel):
    """One step of a case's history."""

    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


class CaseImportRow(BaseModel):
    """A refused or noted row of a 12345 import (row numbers count the header as row 1)."""

    row: int
    code: str
    message: str


class CaseImportResult(BaseModel):
    """What a 12345 work-order import did."""

    rows: int
    created: int
    unchanged: int
    matched: int
    to_confirm: int
    unknown_columns: list[str]
    errors: list[CaseImportRow]
    case_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100000)


class CaseRating(BaseModel):
    """A resident's rating pressed in the bot (1 very unhappy … 5 very satisfied)."""

    telegram_user_id: int = Field(ge=1, le=2**63 - 1)
    number: str = Field(min_length=1, max_length=40)
    score: int = Field(ge=1, le=5)
    language: str = Field(default="zh-CN", max_length=10)
