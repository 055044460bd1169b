"""Evidence: one photo attached to a visit, with what the pipeline extracted and its verdict."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from contracts.evidence import EvidencePurpose as EvidencePurpose
from contracts.evidence import EvidenceSource as EvidenceSource
from contracts.evidence import PositionSource as PositionSource
from contracts.evidence import SiteStatus as SiteStatus
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class Evidence(SQLModel, table=True):
    """A stored photo: original kept by SHA-256, display copy and thumbnail EXIF-free.

    It belongs to a visit, or (a fix's photo sent without a visit) to a ledger item: one of
    ``visit_id`` and ``ledger_item_id`` is set.
    """

    __table_args__ = (
        UniqueConstraint("visit_id", "sha256"),
        UniqueConstraint("ledger_item_id", "sha256", name="uq_evidence_ledger_item_sha256"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    visit_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("visit.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    ledger_item_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid(),
            ForeignKey("ledger_item.id", ondelete="CASCADE", name="fk_evidence_ledger_item"),
            nullable=True,
            index=True,
        ),
    )
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id"), nullable=False, index=True)
    )
    step_id: str | None = Field(default=None, max_length=80)
    uploaded_by: str = Field(max_length=80)
    # lengths as before (VARCHAR 30/30/20): typing the columns changes no DDL
    source: EvidenceSource = Field(sa_column=enum_column(EvidenceSource, length=30))
    sha256: str = Field(max_length=64, index=True)
    display_sha256: str = Field(max_length=64)
    thumb_sha256: str = Field(max_length=64)
    mime: str = Field(max_length=40)
    size_bytes: int
    width: int
    height: int
    captured_at: datetime | None = Field(default=None, sa_column=ts_column())
    received_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    # when the inspector sent it (the chat message's date), never after its arrival: the event time
    sent_at: datetime | None = Field(default=None, sa_column=ts_column())
    exif: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    gps_lat: float | None = None
    gps_lon: float | None = None
    position_source: PositionSource = Field(sa_column=enum_column(PositionSource, length=30))
    position_lat: float | None = None
    position_lon: float | None = None
    distance_m: float | None = None
    site: SiteStatus = Field(sa_column=enum_column(SiteStatus, length=20))
    fresh: bool | None = None
    reused: bool = False
    edited: bool = False
    forwarded: bool = False
    accepted: bool = False
    phash: str = Field(max_length=64, index=True)
    perceptual_hash: str = Field(max_length=1000)
    verdict: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    # a document photo: its display copy and thumbnail were redacted before they were stored
    purpose: EvidencePurpose = Field(
        default=EvidencePurpose.GENERAL,
        sa_column=enum_column(EvidencePurpose, length=20, server_default=EvidencePurpose.GENERAL.value),
    )
    # the original was purged after the retention period (`feijian media purge`); the row stays
    purged_at: datetime | None = Field(default=None, sa_column=ts_column(index=True))
