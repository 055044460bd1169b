"""The public, unauthenticated API for residents: the status of an application."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.problems import lang_of
from contracts.residents import StatusAnswer, StatusQuery
from services import public_status

router = APIRouter(prefix="/public", tags=["public"])


def client_of(request: Request) -> str:
    """The client's address as the server sees it (a proxy in front must pass the real one through)."""
    return request.client.host if request.client else "unknown"


@router.post("/status", response_model=StatusAnswer)
def status(body: StatusQuery, request: Request) -> StatusAnswer:
    """Number + ID number + name → the stage; every failure gets one answer (404), throttled (429)."""
    return public_status.lookup(request.app.state.session_factory, body, client_of(request), lang_of(request))
