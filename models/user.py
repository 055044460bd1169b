"""People who use Feijian and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from contracts.users import Role as Role
from contracts.vocab import Lang as Lang
from models.types import enum_column, json_column, new_uuid, ts_column, utcnow


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
    # the id of the PII key the relative hashes are under (None: written before key ids existed)
    relative_key_id: str | None = Field(default=None, max_length=16)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    password_hash: str | None = Field(default=None, max_length=200)
    # the one language type is a Literal (not a StrEnum), so the column is the plain VARCHAR(10) it was
    language: Lang = Field(default="zh-CN", sa_column=Column(String(10), nullable=False))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


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
