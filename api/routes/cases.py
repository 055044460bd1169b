"""Cases for staff: list, read, answer (region-scoped, audited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, SupervisorDep
from contracts.residents import CaseAnswer, CaseStaff, CaseState
from services import cases

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("", response_model=list[CaseStaff])
def list_cases(
    session: SessionDep,
    actor: SupervisorDep,
    state: CaseState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CaseStaff]:
    """Cases in the caller's scope (and those not linked to a region yet), newest first."""
    return [cases.to_staff(session, c, actor.lang) for c in cases.list_for(session, actor, state, limit)]


@router.get("/{case_id}", response_model=CaseStaff)
def read(case_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """One case (contact masked)."""
    return cases.to_staff(session, cases.get_for_staff(session, actor, case_id), actor.lang)


@router.post("/{case_id}/answer", response_model=CaseStaff)
def answer(case_id: uuid.UUID, body: CaseAnswer, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """Records the answer; the case becomes answered."""
    return cases.to_staff(session, cases.answer(session, actor, case_id, body.answer), actor.lang)
