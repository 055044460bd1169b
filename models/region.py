"""The official statistical division tree (统计用区划代码)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from contracts.regions import RegionLevel as RegionLevel
from models.types import enum_column, ts_column, utcnow

LEVEL_BY_LENGTH: dict[int, RegionLevel] = {
    2: RegionLevel.province,
    4: RegionLevel.city,
    6: RegionLevel.county,
    9: RegionLevel.township,
    12: RegionLevel.village,
}
LENGTH_BY_LEVEL: dict[RegionLevel, int] = {v: k for k, v in LEVEL_BY_LENGTH.items()}


class Region(SQLModel, table=True):
    """A division; codes are never deleted so old households keep pointing at them."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: RegionLevel = Field(sa_column=enum_column(RegionLevel, index=True))
    parent_code: str | None = Field(default=None, max_length=12, index=True)
    edition: str | None = Field(default=None, max_length=20)
    retired: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


def parent_of(code: str) -> str | None:
    """The parent code implied by a code's length (village → township → ... → province)."""
    order = [2, 4, 6, 9, 12]
    if len(code) not in order or len(code) == 2:
        return None
    return code[: order[order.index(len(code)) - 1]]


def ancestors(code: str) -> list[str]:
    """All codes above this one, nearest first."""
    out: list[str] = []
    p = parent_of(code)
    while p:
        out.append(p)
        p = parent_of(p)
    return out


def in_subtree(code: str | None, scope: str | None) -> bool:
    """Whether code lies inside (or is) the region scope; None scope means everywhere."""
    if scope is None:
        return True
    return code is not None and code.startswith(scope)
