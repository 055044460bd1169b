"""The bot's own endpoints: bind, the bound user's profile and language, notices, unreachable users."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from contracts.users import Role
from contracts.vocab import FROM_ROWS, Lang

TELEGRAM_USER_HEADER = "X-Feijian-Telegram-User"
"""The header with which the bot's service token acts for a bound Telegram user."""


class NoticeKind(StrEnum):
    """What a notice tells its recipient; the bot picks the text by it."""

    assignments_released = "assignments_released"
    team_not_started = "team_not_started"
    serious_findings = "serious_findings"
    user_unreachable = "user_unreachable"
    ledger_new_item = "ledger_new_item"
    ledger_deadline_soon = "ledger_deadline_soon"
    ledger_overdue = "ledger_overdue"
    ledger_returned = "ledger_returned"
    ledger_fix_submitted = "ledger_fix_submitted"
    review_due = "review_due"


class BindIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    telegram_user_id: int = Field(ge=1, le=2**63 - 1)


class TelegramProfile(BaseModel):
    user_id: uuid.UUID
    login: str
    name: str
    role: Role
    language: Lang


class LanguageIn(BaseModel):
    language: Lang


class NoticeOut(BaseModel):
    model_config = FROM_ROWS

    id: uuid.UUID
    # a plain string on the wire, not NoticeKind: a bot older than the store must still read a feed
    # holding a kind it does not know yet (it shows a generic text for it)
    kind: str
    recipient_id: uuid.UUID | None  # None: a resident (not a user), addressed by Telegram id
    telegram_user_id: int
    language: Lang
    params: dict[str, Any]
    due_at: datetime


class AckIn(BaseModel):
    ids: list[uuid.UUID] = Field(max_length=500)


class AckOut(BaseModel):
    acknowledged: int


class UnreachableIn(BaseModel):
    telegram_user_id: int = Field(ge=1, le=2**63 - 1)


class UnreachableOut(BaseModel):
    user_id: uuid.UUID | None
    marked_at: datetime | None = None
