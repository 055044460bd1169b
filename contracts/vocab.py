"""Shared vocabulary: one enum per meaning, used by every layer that needs it."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict

Lang = Literal["zh-CN", "en"]
"""A language the product speaks (message catalogs exist for exactly these)."""


class Datum(StrEnum):
    """Coordinate reference: phones give WGS-84; Chinese map services give GCJ-02 or BD-09."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


class Severity(StrEnum):
    """How serious a finding is (a checklist rule declares it; the store's Finding keeps it)."""

    low = "low"
    medium = "medium"
    high = "high"


class Outcome(StrEnum):
    """How a checklist ended (the checklist engine decides it; the store's Visit keeps it)."""

    COMPLETED = "completed"
    REVISIT = "revisit"
    REFUSED = "refused"
    NOT_FOUND = "not_found"


class FindingCategory(StrEnum):
    """Problem categories: the five checks and the named abuses (a checklist rule declares one)."""

    MERGED_SPLIT_HOUSEHOLD = "merged_split_household"
    FAVOUR = "favour"
    NOT_ELIGIBLE = "not_eligible"
    MISSED = "missed"
    FUNDS_MISUSE = "funds_misuse"
    PAID_AFTER_DEATH = "paid_after_death"
    HOUSEHOLD_SIZE_CHANGED = "household_size_changed"
    NOT_NOTICED = "not_noticed"
    PROCEDURE = "procedure"
    REFUSED_NOT_SEEN = "refused_not_seen"
    DISSATISFIED = "dissatisfied"
    PRIVACY = "privacy"
    OTHER = "other"


SERIOUS_SEVERITIES: frozenset[Severity] = frozenset({Severity.high})
"""Findings of these severities alert the supervisors at once."""

FROM_ROWS = ConfigDict(from_attributes=True)
"""The config of a shape the store builds from a table row (`Shape.model_validate(row)`)."""
