"""Case handling records: each case's history (one row per move) and the notices owed to residents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Text, Uuid
from sqlmodel import Field, SQLModel

from models.types import json_column, new_uuid, ts_column, utcnow


class CaseEvent(SQLModel, table=True):
    """One step of a case: who moved it from which state to which, with an optional note."""

    __tablename__ = "case_event"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    case_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("resident_case.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    actor: str = Field(max_length=80)
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ResidentNotice(SQLModel, table=True):
    """A message for a resident's Telegram chat (residents are not users): an answer, a rating request.

    Unique by `key`, so emitting twice is harmless; handed to the bot with the staff notices.
    """

    __tablename__ = "resident_notice"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=40)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    language: str = Field(default="zh-CN", max_length=10)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    due_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    fetched_at: datetime | None = Field(default=None, sa_column=ts_column(index=True))
