"""Estimates for the report upward: GET /rounds/{id}/estimates."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import SessionDep, SupervisorDep
from contracts.estimates import RoundEstimates
from services import estimates

router = APIRouter(tags=["rounds"])


@router.get("/rounds/{round_id}/estimates", response_model=RoundEstimates)
def round_estimates(round_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> RoundEstimates:
    """Per township and county: the estimated share of households with a serious finding, 95% interval."""
    return estimates.round_estimates(session, actor, round_id)
