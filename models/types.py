"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_uuid() -> uuid.UUID:
    """A random UUID key."""
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps: stored in UTC, read back aware even on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def ts_column(nullable: bool = True, index: bool = False, **kw: Any) -> Any:
    """A Column for an aware timestamp."""
    return Column(UTCDateTime(), nullable=nullable, index=index, **kw)


class StrEnumType(TypeDecorator[StrEnum]):
    """A StrEnum stored as VARCHAR (adding a member needs no type migration), read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        return self.enum(value)


def enum_column(
    enum: type[StrEnum], nullable: bool = False, index: bool = False, length: int | None = None, **kw: Any
) -> Any:
    """A VARCHAR column for a StrEnum (by default its longest value plus room for new members)."""
    length = length or max(len(m.value) for m in enum) + 8
    return Column(StrEnumType(enum, length), nullable=nullable, index=index, **kw)


def json_column(nullable: bool = False, **kw: Any) -> Any:
    """A JSON column (JSONB on PostgreSQL)."""
    return Column(JSONType, nullable=nullable, **kw)
