"""Cross-checks against other departments' registers: runs (one per imported file) and matches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from contracts.vocab import FROM_ROWS

DEATHS = "deaths"
"""The source name of death and funeral records (殡葬死亡数据)."""


class MatchOutcome(StrEnum):
    """What a matched person led to."""

    paid_after_death = "paid_after_death"  # the beneficiary died and the household is still paid
    household_size_changed = "household_size_changed"  # another member of a larger household died
    already_stopped = "already_stopped"  # the household is no longer paid: nothing to do
    flagged = "flagged"  # a register's rule tripped (a vehicle above the limit, a public salary, ...)


class CrosscheckRunOut(BaseModel):
    """One imported file and its counts (errors per row, capped)."""

    model_config = FROM_ROWS

    id: uuid.UUID
    source: str
    period: str
    filename: str
    rows: int
    valid_rows: int
    matched: int
    new_matches: int
    findings: int
    ledger_items: int
    error_count: int
    errors: list[dict[str, Any]] = []
    created_by: str
    created_at: datetime


class CrosscheckMatchOut(BaseModel):
    """A household member found in another register (identifiers masked)."""

    model_config = FROM_ROWS

    id: uuid.UUID
    run_id: uuid.UUID
    source: str
    period: str
    household_id: uuid.UUID
    register_no: str
    village_code: str
    row: int
    name_masked: str
    id_masked: str
    event_date: date | None
    value: Decimal | None
    outcome: MatchOutcome
    months: int | None
    amount: Decimal | None
    finding_id: uuid.UUID | None
    ledger_item_id: uuid.UUID | None


class CrosscheckSourceOut(BaseModel):
    """A register the store can check against: deaths, or one defined by a rule file."""

    source: str
    label: str
    columns: list[str]
    rule: str
