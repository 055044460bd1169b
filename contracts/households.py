"""Households (低保户) as the API shows them: identifiers masked; their vocabulary."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from contracts.vocab import Datum


class Tier(StrEnum):
    """Support tier (002)."""

    extreme = "特困"
    fairly = "比较困难"
    ordinary = "一般困难"


class SubsidyType(StrEnum):
    """常补 reviewed yearly; 非常补 every six months (002)."""

    regular = "常补"
    non_regular = "非常补"


class HouseholdStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    exited = "exited"


class MemberPublic(BaseModel):
    name: str
    relation: str
    id_number: str | None = None
    disabled: bool = False
    seriously_ill: bool = False


class HouseholdPublic(BaseModel):
    """A household as the API shows it: identifiers masked."""

    id: uuid.UUID
    register_no: str
    head_name: str
    head_id_number: str | None = None
    phone: str | None = None
    size: int
    address: str | None = None
    village_code: str
    township_code: str
    county_code: str
    lat: float | None = None
    lon: float | None = None
    datum: Datum | None = None
    tier: Tier
    subsidy_type: SubsidyType
    monthly_amount: Decimal
    start_date: date | None = None
    last_review_date: date | None = None
    status: HouseholdStatus
    cadre_relative: bool
    members: list[MemberPublic] | None = None


class HouseholdPage(BaseModel):
    items: list[HouseholdPublic]
    next_cursor: str | None
