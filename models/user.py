"""People who use Feijian and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    inspector = "inspector"
    bot = "bot"  # the Telegram bot's service account: acts on behalf of bound users


class User(SQLModel, table=True):
    """A staff account; declared relatives are kept only as keyed hashes of their ID numbers."""

    __tablename__ = "app_user"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    login: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=60)
    role: Role = Field(sa_column=enum_column(Role, index=True))
    home_township_code: str | None = Field(default=None, max_length=9, index=True)
    scope_code: str | None = Field(default=None, max_length=12)
    relative_id_hashes: list[str] = Field(default_factory=list, sa_column=json_column())
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    password_hash: str | None = Field(default=None, max_length=200)
    language: str = Field(default="zh-CN", max_length=10)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class UserCreate(SQLModel):
    login: str = Field(min_length=2, max_length=60, schema_extra={"pattern": r"^[A-Za-z0-9_.\-]+$"})
    name: str = Field(min_length=1, max_length=60)
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=200)
    home_township_code: str | None = Field(default=None, schema_extra={"pattern": r"^[0-9]{9}$"})
    scope_code: str | None = Field(default=None, schema_extra={"pattern": r"^[0-9]{2,12}$"})
    relative_id_numbers: list[str] = Field(default_factory=list, max_length=100)
    language: str = Field(default="zh-CN", schema_extra={"pattern": r"^(zh-CN|en)$"})


class UserUpdate(SQLModel):
    """A partial change: omitted fields stay; null clears only what may be empty (the two codes)."""

    # Omitted means unchanged; an explicit null for a required column is refused (422), not stored.
    name: str = Field(default=None, min_length=1, max_length=60)
    password: str = Field(default=None, min_length=8, max_length=200)
    home_township_code: str | None = Field(default=None, schema_extra={"pattern": r"^[0-9]{9}$"})
    scope_code: str | None = Field(default=None, schema_extra={"pattern": r"^[0-9]{2,12}$"})
    relative_id_numbers: list[str] = Field(default=None, max_length=100)
    active: bool = Field(default=None)


class UserPublic(SQLModel):
    id: uuid.UUID
    login: str
    name: str
    role: Role
    home_township_code: str | None
    scope_code: str | None
    declared_relatives: int = 0
    telegram_bound: bool = False
    language: str
    active: bool

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """The public view of a user (no hashes, no Telegram id)."""
        data: dict[str, Any] = user.model_dump(
            include={"id", "login", "name", "role", "home_township_code", "scope_code", "language", "active"}
        )
        return cls(
            **data,
            declared_relatives=len(user.relative_id_hashes or []),
            telegram_bound=user.telegram_user_id is not None,
        )


class ApiToken(SQLModel, table=True):
    """A bearer token, stored only as a hash; expiring and revocable."""

    __tablename__ = "api_token"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(default="login", max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=ts_column())
