"""The append-only audit log, chained by SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Integer
from sqlmodel import Field, SQLModel

from models.types import json_column, ts_column, utcnow


class AuditEvent(SQLModel, table=True):
    """One write or one read of personal data; hash covers the previous event's hash."""

    __tablename__ = "audit_event"

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True, autoincrement=True
        ),
    )
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    actor: str = Field(max_length=80, index=True)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=40)
    entity_id: str | None = Field(default=None, max_length=80, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
