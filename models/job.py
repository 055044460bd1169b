"""Long-running jobs (imports, exports) with progress, and idempotency records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from contracts.household_import import JobKind as JobKind
from contracts.household_import import JobStatus as JobStatus
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class Job(SQLModel, table=True):
    """A background job whose progress the API reports."""

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    kind: JobKind = Field(sa_column=enum_column(JobKind, length=40))  # VARCHAR(40) as before
    status: JobStatus = Field(default=JobStatus.queued, sa_column=enum_column(JobStatus))
    created_by: str = Field(max_length=80)
    total: int = 0
    processed: int = 0
    result: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=ts_column())


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a request made with an idempotency key; repeats get the same answer."""

    __tablename__ = "idempotency_record"

    key: str = Field(primary_key=True, max_length=200)
    actor: str = Field(primary_key=True, max_length=80)
    request_hash: str = Field(max_length=64)
    status_code: int = 200
    response: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
