"""Household reviews (复核): every recorded economic-status review of a household."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from contracts.reviews import ReviewSource as ReviewSource
from models.types import enum_column, new_uuid, ts_column, utcnow


class HouseholdReview(SQLModel, table=True):
    """One review of one household on one day (by import or by a review visit)."""

    __tablename__ = "household_review"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    reviewed_on: date
    source: ReviewSource = Field(sa_column=enum_column(ReviewSource, length=20))
    visit_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
