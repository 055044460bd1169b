"""Dibao households (低保户) and their members."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Numeric, String, Uuid
from sqlmodel import Field, SQLModel

from contracts.households import HouseholdStatus as HouseholdStatus
from contracts.households import SubsidyType as SubsidyType
from contracts.households import Tier as Tier
from contracts.vocab import Datum as Datum
from models.types import enum_column, new_uuid, ts_column, utcnow


class Household(SQLModel, table=True):
    """A beneficiary household; personal identifiers are stored only encrypted plus a keyed hash.

    Indexes, each for a query: register_no (unique; upserts, cursor pages), head_id_hash (search by
    ID number), village_code (scope prefixes, the region foreign key); members by household_id.
    """

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    register_no: str = Field(max_length=40, unique=True, index=True)
    head_name: str = Field(max_length=60)
    head_id_enc: str | None = Field(default=None, max_length=200)
    head_id_hash: str | None = Field(default=None, max_length=64, index=True)
    phone_enc: str | None = Field(default=None, max_length=200)
    phone_hash: str | None = Field(default=None, max_length=64)  # no query looks households up by phone
    bank_enc: str | None = Field(default=None, max_length=200)
    size: int = Field(default=1, ge=1)
    address: str | None = Field(default=None, max_length=300)
    village_code: str = Field(
        sa_column=Column(String(12), ForeignKey("region.code"), nullable=False, index=True)
    )
    # scopes and draws select by village_code prefix; township and county only narrow those rows
    township_code: str = Field(max_length=9)
    county_code: str = Field(max_length=6)
    lat: float | None = None
    lon: float | None = None
    datum: Datum | None = Field(default=None, sa_column=enum_column(Datum, nullable=True))
    tier: Tier = Field(sa_column=enum_column(Tier))  # three values: an index would not narrow
    subsidy_type: SubsidyType = Field(sa_column=enum_column(SubsidyType))
    monthly_amount: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(10, 2), nullable=False))
    start_date: date | None = None
    last_review_date: date | None = None
    status: HouseholdStatus = Field(default=HouseholdStatus.active, sa_column=enum_column(HouseholdStatus))
    cadre_relative: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class HouseholdMember(SQLModel, table=True):
    """A person in a household as registered."""

    __tablename__ = "household_member"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    household_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=60)
    relation: str = Field(max_length=20)
    id_enc: str | None = Field(default=None, max_length=200)
    # searched by keyed hash: cadre declarations, the cross-checks (death records, other registers)
    id_hash: str | None = Field(default=None, max_length=64, index=True)
    disabled: bool = False
    seriously_ill: bool = False
    position: int = 0
