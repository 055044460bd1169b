"""GET /regions: the region tree, level by level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ActorDep, SessionDep
from contracts.regions import RegionLevel, RegionPublic
from services import regions

router = APIRouter(prefix="/regions", tags=["regions"])
Code = Annotated[str, Path(pattern=r"^[0-9]{2,12}$")]


@router.get("", response_model=list[RegionPublic])
def roots(session: SessionDep, _actor: ActorDep) -> list[RegionPublic]:
    """The top-level regions (provinces)."""
    return [RegionPublic.model_validate(r) for r in regions.children(session, None)]


@router.get("/{code}", response_model=RegionPublic)
def one(code: Code, session: SessionDep, _actor: ActorDep) -> RegionPublic:
    """One region."""
    return RegionPublic.model_validate(regions.get(session, code))


@router.get("/{code}/children", response_model=list[RegionPublic])
def kids(
    code: Code, session: SessionDep, _actor: ActorDep, level: Annotated[RegionLevel | None, Query()] = None
) -> list[RegionPublic]:
    """The direct children of a region."""
    regions.get(session, code)
    return [RegionPublic.model_validate(r) for r in regions.children(session, code, level)]
