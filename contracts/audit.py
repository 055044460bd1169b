"""The audit log as the API would show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from contracts.vocab import FROM_ROWS


class AuditEventPublic(BaseModel):
    model_config = FROM_ROWS

    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any]
    hash: str
