"""Evidence: one photo attached to a visit, with what the pipeline extracted and its verdict."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from models.types import json_column, new_uuid, ts_column, utcnow


class Evidence(SQLModel, table=True):
    """A stored photo: original kept by SHA-256, display copy and thumbnail EXIF-free."""

    __table_args__ = (UniqueConstraint("visit_id", "sha256"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    visit_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("visit.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    step_id: str | None = Field(default=None, max_length=80)
    uploaded_by: str = Field(max_length=80)
    source: str = Field(max_length=30)
    sha256: str = Field(max_length=64, index=True)
    display_sha256: str = Field(max_length=64)
    thumb_sha256: str = Field(max_length=64)
    mime: str = Field(max_length=40)
    size_bytes: int
    width: int
    height: int
    captured_at: datetime | None = Field(default=None, sa_column=ts_column())
    received_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    exif: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    gps_lat: float | None = None
    gps_lon: float | None = None
    position_source: str = Field(max_length=30)
    position_lat: float | None = None
    position_lon: float | None = None
    distance_m: float | None = None
    site: str = Field(max_length=20)
    fresh: bool | None = None
    reused: bool = False
    edited: bool = False
    forwarded: bool = False
    accepted: bool = False
    phash: str = Field(max_length=64, index=True)
    perceptual_hash: str = Field(max_length=1000)
    verdict: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
