"""One-time Telegram invite codes for staff users."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, model_validator


class InviteCreate(BaseModel):
    user_id: uuid.UUID | None = None
    login: str | None = Field(default=None, min_length=1, max_length=60)
    ttl_hours: int = Field(default=72, ge=1, le=24 * 30)

    @model_validator(mode="after")
    def _one_of(self) -> InviteCreate:
        if (self.user_id is None) == (self.login is None):
            raise ValueError("give exactly one of user_id or login")
        return self


class InvitePublic(BaseModel):
    code: str
    user_id: uuid.UUID
    login: str
    expires_at: datetime
