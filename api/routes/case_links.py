"""Repeat complaints and targeted checks of a case (staff, region-scoped, audited)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import SessionDep, SettingsDep, SupervisorDep
from contracts.case_links import CaseHousehold, CaseLinkPublic, CaseLinks, CheckOrder, CheckPublic
from services import case_checks, case_duplicates

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("/{case_id}/links", response_model=CaseLinks)
def links(case_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: SupervisorDep) -> CaseLinks:
    """The case it repeats, its repeats, and whether its household is flagged (3+ complaints)."""
    return case_duplicates.links_of(session, actor, settings, case_id)


@router.put("/{case_id}/household", response_model=CaseLinks)
def set_household(
    case_id: uuid.UUID, body: CaseHousehold, session: SessionDep, settings: SettingsDep, actor: SupervisorDep
) -> CaseLinks:
    """Names the household the case is about; a repeat of an open case about it is then linked."""
    return case_duplicates.place(session, actor, settings, case_id, body.household_id)


@router.delete("/{case_id}/link", response_model=CaseLinkPublic)
def unlink(case_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> CaseLinkPublic:
    """Undoes the link of the case to the case it was taken to repeat."""
    return case_duplicates.undo_link(session, actor, case_id)


@router.post("/{case_id}/checks", response_model=CheckPublic, status_code=201)
def order_check(
    case_id: uuid.UUID, body: CheckOrder, session: SessionDep, settings: SettingsDep, actor: SupervisorDep
) -> CheckPublic:
    """Orders a sealed visit of the case's household (定向核查) by a team of inspectors."""
    return case_checks.order(session, actor, settings, case_id, body, actor.lang)


@router.get("/{case_id}/checks", response_model=list[CheckPublic])
def checks(case_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> list[CheckPublic]:
    """The case's targeted checks, each with its visit's outcome and findings once submitted."""
    return case_checks.checks_of(session, actor, case_id, actor.lang)
