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
