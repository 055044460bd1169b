"""Evidence photos: the upload's form fields and the verdict as the API shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class EvidenceSource(StrEnum):
    """Where an uploaded photo came from: Telegram strips EXIF from photos but keeps it for documents."""

    TELEGRAM_PHOTO = "telegram_photo"
    TELEGRAM_DOCUMENT = "telegram_document"
    UPLOAD = "upload"


class EvidencePurpose(StrEnum):
    """What a photo shows: a document photo (ID card, 户口簿, passbook) has its copies redacted."""

    GENERAL = "general"
    DOCUMENT = "document"


class PositionSource(StrEnum):
    """Where an evidence position came from, strongest first."""

    EXIF_GPS = "exif_gps"
    LIVE_LOCATION = "live_location"
    STATIC_LOCATION = "static_location"
    NONE = "none"


class SiteStatus(StrEnum):
    """The on-site judgement of a photo's position against the household's."""

    ON_SITE = "on_site"
    OFF_SITE = "off_site"
    UNKNOWN = "unknown"


class EvidencePublic(BaseModel):
    """Evidence as the API shows it: the verdict with reasons, never the GPS of the photo itself."""

    id: uuid.UUID
    visit_id: uuid.UUID | None
    # set instead of visit_id for a fix's photo sent for a ledger item
    ledger_item_id: uuid.UUID | None = None
    step_id: str | None
    source: EvidenceSource
    mime: str
    width: int
    height: int
    captured_at: datetime | None
    received_at: datetime
    sent_at: datetime | None = None
    purpose: EvidencePurpose = EvidencePurpose.GENERAL
    # when the original was removed after the retention period (the copies and the record stay)
    purged_at: datetime | None = None
    position_source: PositionSource
    distance_m: float | None
    site: SiteStatus
    fresh: bool | None
    reused: bool
    edited: bool
    forwarded: bool
    accepted: bool
    reasons: list[dict[str, Any]]
    reused_in: list[dict[str, Any]]
