"""The region tree (统计用区划代码) as the API shows it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from contracts.vocab import FROM_ROWS


class RegionLevel(StrEnum):
    """Levels by code length: 2 province, 4 city, 6 county, 9 township, 12 village."""

    province = "province"
    city = "city"
    county = "county"
    township = "township"
    village = "village"


class RegionPublic(BaseModel):
    model_config = FROM_ROWS

    code: str = Field(max_length=12)
    name: str = Field(max_length=100)
    level: RegionLevel
    parent_code: str | None = Field(default=None, max_length=12)
    retired: bool = False
    edition: str | None = None


class RegionLevelCounts(BaseModel):
    """What a region load did at one level; `skipped` counts records per reason code."""

    added: int = 0
    renamed: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)


class RegionSkip(BaseModel):
    """One record a region load left out: where the file has it, the reason code and its message."""

    level: str
    code: str
    name: str
    where: str
    reason: str
    message: str


class RegionLoadReport(BaseModel):
    """The report of `POST /regions/load`: the shape sniffed, then per level added/renamed/unchanged/skipped.

    `levels` is keyed by level (province … village, and `unknown` for records whose code has no level);
    `skips` lists the first skipped records; `placeholders` are county-level stand-ins created for cities
    without counties.
    """

    shape: str
    notes: list[str] = Field(default_factory=list)
    levels: dict[str, RegionLevelCounts] = Field(default_factory=dict)
    skips: list[RegionSkip] = Field(default_factory=list)
    placeholders: list[str] = Field(default_factory=list)
    total: int = 0
    added: int = 0
    renamed: int = 0
    unchanged: int = 0
    skipped: int = 0
