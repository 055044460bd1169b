"""GET /households (filtered, keyset-paginated, masked) and GET /households/{id}."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, SupervisorDep
from contracts.households import HouseholdPage, HouseholdPublic, HouseholdStatus, Tier
from services import households

router = APIRouter(prefix="/households", tags=["households"])


@router.get("", response_model=HouseholdPage)
def list_households(
    session: SessionDep,
    actor: SupervisorDep,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    tier: Tier | None = None,
    status: HouseholdStatus | None = None,
    cadre_relative: bool | None = None,
    register_no: Annotated[str | None, Query(max_length=40)] = None,
    id_number: Annotated[str | None, Query(max_length=18, min_length=18)] = None,
    limit: Annotated[int, Query(ge=1, le=households.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HouseholdPage:
    """Households in the caller's scope."""
    flt = households.HouseholdFilter(region, tier, status, cadre_relative, register_no, id_number)
    items, nxt = households.list_households(session, actor, flt, limit, cursor)
    return HouseholdPage(items=items, next_cursor=nxt)


@router.get("/{household_id}", response_model=HouseholdPublic)
def get_household(household_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> HouseholdPublic:
    """One household with its members (masked)."""
    return households.get_household(session, actor, household_id)
