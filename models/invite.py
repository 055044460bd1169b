"""One-time invite codes that bind a Telegram account to a staff user, and the binding's state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from models.types import new_uuid, ts_column, utcnow


class InviteCode(SQLModel, table=True):
    """An invite, stored only as a keyed hash of its code; it expires and works once."""

    __tablename__ = "invite_code"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_by: str = Field(max_length=80)
    created_by_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=ts_column())
    used_by_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=ts_column())


class BindAttempt(SQLModel, table=True):
    """A `/start CODE` attempt: failures per Telegram account and per code prefix throttle guessing.

    `code_prefix` is a keyed hash of the code's first characters, never the characters themselves:
    a wrong code is often a mistyped real one.
    """

    __tablename__ = "bind_attempt"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    ok: bool = False
    code_prefix: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, index=True))


class TelegramLink(SQLModel, table=True):
    """The state of a user's Telegram binding (the id itself is `User.telegram_user_id`)."""

    __tablename__ = "telegram_link"

    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    )
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    invite_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    invited_by_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    bound_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    unreachable_at: datetime | None = Field(default=None, sa_column=ts_column())
