"""Idempotency keys: the first answer to a keyed write is stored per actor; a repeat gets it back.

A client that timed out (the bot's outbox, a phone on a weak network) sends the same request again
with the same key and can never apply it twice. The same key with a different body is a client bug
and answers 409 `idempotency_mismatch`. Two identical requests racing each other: the loser's unit of
work fails on the primary key and answers 409 `idempotency_in_progress`; retried, it gets the stored
answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.job import IdempotencyRecord
from services.context import Actor
from services.errors import Conflict


def request_hash(method: str, path: str, body: Any) -> str:
    """A stable hash of what a request asks for."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lookup(session: Session, actor: Actor, key: str, req_hash: str) -> IdempotencyRecord | None:
    """The stored answer for this key, or None; Conflict when the key was used for another request."""
    row = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.key == key[:200], IdempotencyRecord.actor == actor.label[:80]
        )
    ).first()
    if row is not None and row.request_hash != req_hash:
        raise Conflict("idempotency_mismatch")
    return row


def remember(
    session: Session, actor: Actor, key: str, req_hash: str, status_code: int, response: dict[str, Any]
) -> None:
    """Stores the first answer under the key (in the same unit of work as the write)."""
    record = IdempotencyRecord(
        key=key[:200],
        actor=actor.label[:80],
        request_hash=req_hash,
        status_code=status_code,
        response=json.loads(json.dumps(response, default=str)),
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError as exc:
        raise Conflict("idempotency_in_progress") from exc


def run(
    session: Session,
    actor: Actor,
    key: str | None,
    req_hash: str,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Runs the write once per key and returns (status, body), the stored one on a repeat."""
    if not key:
        return work()
    found = lookup(session, actor, key, req_hash)
    if found is not None:
        return found.status_code, dict(found.response)
    status, body = work()
    remember(session, actor, key, req_hash, status, body)
    return status, body
