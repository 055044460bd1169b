"""Evidence: upload a photo to a visit (multipart, streamed, idempotent), read its verdict and copies."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BeforeValidator

from api.deps import ActorDep, SessionDep, SettingsDep
from api.idempotency import IdempotencyKey, respond
from api.uploads import read_capped
from contracts.evidence import EvidencePublic, EvidencePurpose, EvidenceSource
from media.checks import MAX_BYTES
from services import evidence

router = APIRouter(tags=["evidence"])


def form_null(value: object) -> object:
    """A multipart form cannot carry JSON null: an empty field or the text "null" means not given."""
    return None if value in ("", "null") else value


@router.post("/visits/{visit_id}/evidence", response_model=EvidencePublic, status_code=201)
async def upload(
    visit_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC, at most 20 MB")],
    source: Annotated[EvidenceSource, Form()] = EvidenceSource.UPLOAD,
    step_id: Annotated[str | None, Form(max_length=80)] = None,
    forwarded: Annotated[bool, Form()] = False,
    purpose: Annotated[
        EvidencePurpose | None,
        BeforeValidator(form_null),
        Form(description="document: an ID card, 户口簿 or passbook; its copies are redacted before storage"),
    ] = None,
    sent_at: Annotated[
        datetime | None,
        BeforeValidator(form_null),
        Form(description="When the photo was sent (the chat message's date); never after its arrival"),
    ] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Runs the evidence pipeline on one photo; a retried upload with the same key stores nothing twice."""
    data = await read_capped(file, MAX_BYTES)
    body = {
        "visit": str(visit_id),
        "source": source,
        "step_id": step_id,
        "forwarded": forwarded,
        "sent_at": sent_at.isoformat() if sent_at is not None else None,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if purpose is not None:
        body["purpose"] = purpose
    # The pipeline and the database work are blocking: in a worker thread, not on the event loop
    # (on the loop, an upload waiting for a row or SQLite lock held by another request's session
    # stalled every request, including the one that would release the lock).
    return await run_in_threadpool(
        respond,
        request,
        session,
        actor,
        key,
        body,
        lambda: evidence.to_public(
            evidence.add_evidence(
                session, actor, settings, visit_id, data, source, step_id, forwarded, sent_at, purpose
            ),
            actor.lang,
        ),
        201,
    )


@router.get("/evidence/{evidence_id}", response_model=EvidencePublic)
def read(evidence_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> EvidencePublic:
    """The verdict of one photo, with reasons in the caller's language."""
    return evidence.to_public(evidence.get_evidence(session, actor, evidence_id), actor.lang)


@router.get("/evidence/{evidence_id}/{kind}", response_class=StreamingResponse)
def copy(
    evidence_id: uuid.UUID,
    kind: Literal["display", "thumbnail"],
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The EXIF-free display copy or thumbnail (each view audited)."""
    blob = evidence.open_copy(session, actor, settings, evidence_id, kind)
    return StreamingResponse(
        blob.stream,
        media_type=blob.media_type,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
