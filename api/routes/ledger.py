"""The rectification ledger: filtered list, one item with history, changes and explicit transitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, SessionDep
from contracts.ledger import (
    FixIn,
    ItemUpdateIn,
    LedgerItemDetail,
    LedgerItemOut,
    LedgerPage,
    LedgerRoute,
    LedgerState,
    OptionalReasonIn,
    RecheckIn,
    ReturnIn,
    TransitionIn,
    VerifyIn,
)
from contracts.vocab import Severity
from services import ledger, ledger_queries

router = APIRouter(prefix="/ledger", tags=["ledger"])


@router.get("", response_model=LedgerPage)
def list_items(
    session: SessionDep,
    actor: ActorDep,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    state: LedgerState | None = None,
    route: LedgerRoute | None = None,
    severity: Severity | None = None,
    overdue: bool | None = None,
    responsible_user_id: uuid.UUID | None = None,
    round_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LedgerPage:
    """Items in the caller's region, earliest deadline first; `next_cursor` fetches the next page."""
    flt = ledger_queries.LedgerFilter(region, state, route, severity, overdue, responsible_user_id, round_id)
    items, next_cursor = ledger_queries.list_items(session, actor, flt, limit, cursor)
    return LedgerPage(items=items, next_cursor=next_cursor)


@router.get("/{item_id}", response_model=LedgerItemDetail)
def get_item(item_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> LedgerItemDetail:
    """One item with its findings and history (audited)."""
    return ledger_queries.detail(session, actor, item_id)


@router.patch("/{item_id}", response_model=LedgerItemOut)
def update_item(
    item_id: uuid.UUID, data: ItemUpdateIn, session: SessionDep, actor: ActorDep
) -> LedgerItemOut:
    """Route, responsible unit and person, measures, deadline (never in the past), timetable."""
    return ledger_queries.view(session, actor, ledger.update_item(session, actor, item_id, data))


@router.post("/{item_id}/start", response_model=LedgerItemOut)
def start(item_id: uuid.UUID, data: TransitionIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """open / returned / reopened → in_progress."""
    return ledger_queries.view(session, actor, ledger.start(session, actor, item_id, data.note))


@router.post("/{item_id}/submit-fix", response_model=LedgerItemOut)
def submit_fix(item_id: uuid.UUID, data: FixIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """→ fix_submitted, with what was done, evidence of this household and the outcome to apply."""
    return ledger_queries.view(session, actor, ledger.submit_fix(session, actor, item_id, data))


@router.post("/{item_id}/verify", response_model=LedgerItemOut)
def verify(item_id: uuid.UUID, data: VerifyIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """fix_submitted → closed (对账销号) by someone other than the submitter, on evidence."""
    return ledger_queries.view(session, actor, ledger.verify(session, actor, item_id, data))


@router.post("/{item_id}/return", response_model=LedgerItemOut)
def return_fix(item_id: uuid.UUID, data: ReturnIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """fix_submitted → returned (重新整改), with the reason."""
    item = ledger.return_fix(session, actor, item_id, data.reason, data.version)
    return ledger_queries.view(session, actor, item)


@router.post("/{item_id}/reopen", response_model=LedgerItemOut)
def reopen(item_id: uuid.UUID, data: OptionalReasonIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """closed → reopened (a recheck found the problem again), with a fresh deadline."""
    return ledger_queries.view(session, actor, ledger.reopen(session, actor, item_id, data.reason))


@router.post("/{item_id}/recheck", response_model=LedgerItemOut, status_code=201)
def recheck(item_id: uuid.UUID, data: RecheckIn, session: SessionDep, actor: ActorDep) -> LedgerItemOut:
    """Orders a recheck visit: a sealed assignment of the household to a team, released on its day."""
    ledger.order_recheck(session, actor, item_id, data)
    return ledger_queries.view(session, actor, ledger.item_for_actor(session, actor, item_id))
