"""Estimates for the report upward: the share of households with a serious finding, with a 95% interval."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class ShareEstimate(BaseModel):
    """A Hájek estimate of a share from the weighted sample of one area (township or county)."""

    region_code: str
    region_name: str
    level: str  # "township" or "county"
    sampled: int  # households drawn in the area
    visited: int  # of them, visited (the estimate's sample)
    with_serious: int  # of the visited, with a serious finding
    population: float  # estimated households in the area (Σ 1/π over the visited)
    share: float | None  # None when no household of the area was visited
    std_error: float | None
    ci_low: float | None
    ci_high: float | None


class RoundEstimates(BaseModel):
    """Per township and per county estimates of a closed round."""

    round_id: uuid.UUID
    method: str
    confidence: float
    townships: list[ShareEstimate]
    counties: list[ShareEstimate]
