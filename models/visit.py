"""A visit to a household; later capabilities (draws, the guided visit) extend this one table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from models.types import new_uuid, ts_column, utcnow


class Visit(SQLModel, table=True):
    """An inspector's visit to one household."""

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    inspector_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id"), nullable=False, index=True)
    )
    started_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=ts_column())
