"""Household reviews (复核): the due list per township and recorded reviews."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from contracts.households import SubsidyType
from contracts.residents import ImportRowError


class ReviewSource(StrEnum):
    """How a review was recorded."""

    visit = "visit"
    imported = "import"


class ReviewDue(BaseModel):
    """A household whose review falls due (or is overdue) by the list's horizon."""

    household_id: uuid.UUID
    register_no: str
    head_name: str  # masked
    village_code: str
    township_code: str
    subsidy_type: SubsidyType
    last_review_date: date | None
    due_on: date | None  # None: never reviewed, due at once
    overdue: bool
    days_left: int | None


class TownshipDue(BaseModel):
    """One township's due list."""

    township_code: str
    township_name: str
    due: int
    overdue: int
    items: list[ReviewDue]


class ReviewDueList(BaseModel):
    """Due lists of the townships in the caller's scope, as of a day, looking `horizon_days` ahead."""

    as_of: date
    horizon_days: int
    townships: list[TownshipDue]


class ReviewIn(BaseModel):
    """A review visit recorded for a household."""

    household_id: uuid.UUID
    reviewed_on: date
    visit_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=500)


class ReviewOut(BaseModel):
    """A recorded review and the household's last review date after it."""

    id: uuid.UUID
    household_id: uuid.UUID
    reviewed_on: date
    source: ReviewSource
    last_review_date: date | None


class ReviewImportResult(BaseModel):
    """How many reviews an import recorded, and the rows it refused."""

    recorded: int
    errors: list[ImportRowError]
