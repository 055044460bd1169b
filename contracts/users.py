"""Staff accounts: roles, create and change an account, the public view of a user."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from contracts.vocab import FROM_ROWS, Lang


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    inspector = "inspector"
    officer = "officer"  # township or village officer (整改责任人): fixes ledger items
    bot = "bot"  # the Telegram bot's service account: acts on behalf of bound users


class UserCreate(BaseModel):
    login: str = Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=60)
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=200)
    home_township_code: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    scope_code: str | None = Field(default=None, pattern=r"^[0-9]{2,12}$")
    relative_id_numbers: list[str] = Field(default_factory=list, max_length=100)
    language: Lang = "zh-CN"


class UserUpdate(BaseModel):
    """A partial change: omitted fields stay; null clears only what may be empty (the two codes)."""

    # Omitted means unchanged; an explicit null for a required column is refused (422), not stored:
    # the None defaults are never validated, so their types stay the non-null ones.
    name: str = Field(default=None, min_length=1, max_length=60)  # type: ignore[assignment]
    password: str = Field(default=None, min_length=8, max_length=200)  # type: ignore[assignment]
    home_township_code: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    scope_code: str | None = Field(default=None, pattern=r"^[0-9]{2,12}$")
    relative_id_numbers: list[str] = Field(default=None, max_length=100)  # type: ignore[arg-type]
    active: bool = Field(default=None)  # type: ignore[assignment]


class UserPublic(BaseModel):
    model_config = FROM_ROWS

    id: uuid.UUID
    login: str
    name: str
    role: Role
    home_township_code: str | None
    scope_code: str | None
    declared_relatives: int = 0
    telegram_bound: bool = False
    language: Lang
    active: bool
