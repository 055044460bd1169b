"""Visits: start or join, event batches, finish (replayed by the store), cancel, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ActorDep, SessionDep
from api.idempotency import IdempotencyKey, respond
from contracts.visits import EventBatch, VisitFinish, VisitPublic, VisitStart
from services import visit_form, visits

router = APIRouter(prefix="/visits", tags=["visits"])


@router.post("", response_model=VisitPublic, status_code=201)
def start(
    data: VisitStart,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Starts the visit of a released assignment, or joins the teammate's visit in progress."""
    return respond(
        request,
        session,
        actor,
        key,
        data,
        lambda: visits.to_public(session, visits.start_visit(session, actor, data), actor.lang),
        201,
    )


@router.post("/{visit_id}/events", response_model=VisitPublic)
def events(
    visit_id: uuid.UUID,
    data: EventBatch,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Adds locations, notes and step timings."""
    return respond(
        request,
        session,
        actor,
        key,
        data,
        lambda: visits.to_public(session, visits.add_events(session, actor, visit_id, data), actor.lang),
    )


@router.post("/{visit_id}/finish", response_model=VisitPublic)
def finish(
    visit_id: uuid.UUID,
    data: VisitFinish,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Submits the answers; the store replays them and derives its own findings."""
    return respond(
        request,
        session,
        actor,
        key,
        data,
        lambda: visits.to_public(session, visits.finish_visit(session, actor, visit_id, data), actor.lang),
    )


@router.post("/{visit_id}/cancel", response_model=VisitPublic)
def cancel(
    visit_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Cancels a visit in progress; the assignment goes back on the list."""
    return respond(
        request,
        session,
        actor,
        key,
        None,
        lambda: visits.to_public(session, visits.cancel_visit(session, actor, visit_id), actor.lang),
    )


@router.get("/{visit_id}", response_model=VisitPublic)
def get(visit_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> VisitPublic:
    """One visit with the store's findings."""
    return visits.get_visit(session, actor, visit_id)


@router.get(
    "/{visit_id}/form.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The 调查表 to sign"}},
)
def form_pdf(visit_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """The signed paper form (调查表) generated from what the visit recorded."""
    pdf = visit_form.visit_form_pdf(session, actor, visit_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="visit-{visit_id}.pdf"'},
    )


@router.get("", response_model=list[VisitPublic])
def list_(
    session: SessionDep,
    actor: ActorDep,
    round_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[VisitPublic]:
    """Visits in scope (inspectors: their own)."""
    return visits.list_visits(session, actor, round_id, household_id, limit)
