"""Notices the bot must deliver: who, what kind, with which parameters, from when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from contracts.telegram import NoticeKind as NoticeKind
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class Notice(SQLModel, table=True):
    """One message for one user; the bot renders it from `kind` and `params` in the user's language."""

    __tablename__ = "notice"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    kind: NoticeKind = Field(
        sa_column=enum_column(NoticeKind, index=True, length=40)
    )  # VARCHAR(40) as before
    recipient_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    due_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    fetched_at: datetime | None = Field(default=None, sa_column=ts_column(index=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=ts_column())
