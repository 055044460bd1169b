"""Idempotency-Key support for writes: the first answer is stored, a repeat returns it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from services import idempotency
from services.context import Actor

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def respond(
    request: Request,
    session: Session,
    actor: Actor,
    key: str | None,
    body: BaseModel | dict[str, Any] | None,
    work: Callable[[], Any],
    status_code: int = 200,
) -> JSONResponse:
    """Runs `work` once per (actor, key) and answers with its result, the stored one on a repeat."""
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    req_hash = idempotency.request_hash(request.method, request.url.path, payload)
    replayed = True

    def _work() -> tuple[int, dict[str, Any]]:
        nonlocal replayed
        replayed = False
        result = jsonable_encoder(work())
        return status_code, result if isinstance(result, dict) else {"result": result}

    status, result = idempotency.run(session, actor, key, req_hash, _work)
    headers = {"Idempotent-Replayed": "true"} if key and replayed else None
    return JSONResponse(result, status_code=status, headers=headers)
