"""Evidence photos: the upload's form fields and the verdict as the API shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

EvidenceSource = Literal["telegram_photo", "telegram_document", "upload"]
"""Where an uploaded photo came from (the multipart `source` field)."""


class EvidencePublic(BaseModel):
    """Evidence as the API shows it: the verdict with reasons, never the GPS of the photo itself."""

    id: uuid.UUID
    visit_id: uuid.UUID
    step_id: str | None
    source: str
    mime: str
    width: int
    height: int
    captured_at: datetime | None
    received_at: datetime
    position_source: str
    distance_m: float | None
    site: str
    fresh: bool | None
    reused: bool
    edited: bool
    forwarded: bool
    accepted: bool
    reasons: list[dict[str, Any]]
    reused_in: list[dict[str, Any]]
