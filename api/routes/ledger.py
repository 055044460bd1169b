"""The rectification ledger: filtered list, one item with history, changes and explicit transitions."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BeforeValidator
from starlette.background import BackgroundTask

from api.deps import ActorDep, SessionDep, SettingsDep
from api.idempotency import IdempotencyKey, respond
from api.routes.evidence import form_null
from api.uploads import read_capped
from contracts.evidence import EvidencePublic, EvidencePurpose, EvidenceSource
from contracts.ledger import (
    FixIn,
    ItemUpdateIn,
    LedgerItemDetail,
    LedgerItemOut,
    LedgerPage,
    LedgerRoute,
    LedgerState,
    LedgerSummary,
    OptionalReasonIn,
    RecheckIn,
    ReturnIn,
    TransitionIn,
    VerifyIn,
)
from contracts.vocab import Severity
from media.checks import MAX_BYTES
from services import (
    evidence,
    ledger,
    ledger_evidence,
    ledger_export,
    ledger_notice,
    ledger_queries,
    ledger_summary,
)

router = APIRouter(prefix="/ledger", tags=["ledger"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def ledger_filter(
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    state: LedgerState | None = None,
    route: LedgerRoute | None = None,
    severity: Severity | None = None,
    overdue: bool | None = None,
    responsible_user_id: uuid.UUID | None = None,
    round_id: uuid.UUID | None = None,
) -> ledger_queries.LedgerFilter:
    """The list's filters, shared by the list and the export."""
    return ledger_queries.LedgerFilter(region, state, route, severity, overdue, responsible_user_id, round_id)


FilterDep = Annotated[ledger_queries.LedgerFilter, Depends(ledger_filter)]


@router.get("", response_model=LedgerPage)
def list_items(
    session: SessionDep,
    actor: ActorDep,
    flt: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LedgerPage:
    """Items in the caller's region, earliest deadline first; `next_cursor` fetches the next page."""
    items, next_cursor = ledger_queries.list_items(session, actor, flt, limit, cursor)
    return LedgerPage(items=items, next_cursor=next_cursor)


def _file_response(path: str, media_type: str, filename: str) -> FileResponse:
    """Streams a finished temporary file and removes it once sent."""
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(os.unlink, path),
    )


def _temp_path(suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="feijian-ledger-", suffix=suffix)
    os.close(fd)
    return path


@router.get("/export.xlsx", response_class=FileResponse, responses={200: {"content": {XLSX: {}}}})
def export_xlsx(session: SessionDep, actor: ActorDep, flt: FilterDep) -> FileResponse:
    """The filtered ledger as XLSX in the county layout (audited); written in batches, then streamed."""
    path = _temp_path(".xlsx")
    try:
        ledger_export.export_xlsx(session, actor, flt, path, lang=actor.lang)
    except BaseException:
        os.unlink(path)
        raise
    return _file_response(path, XLSX, "ledger.xlsx")


@router.get("/summary", response_model=LedgerSummary)
def summary(
    session: SessionDep,
    actor: ActorDep,
    round_id: uuid.UUID | None = None,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
) -> LedgerSummary:
    """Findings by category, items by state and category, overdue, money to recover and recovered."""
    return ledger_summary.summary(session, actor, round_id, region)


NOTICE_TYPES = {"pdf": "application/pdf", "docx": DOCX}


@router.get(
    "/notice.{fmt}",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}, DOCX: {}}}},
)
def notice(
    fmt: Annotated[str, Path(pattern="^(pdf|docx)$")],
    session: SessionDep,
    actor: ActorDep,
    unit: Annotated[str, Query(pattern=r"^[0-9]{6,12}$")],
    round_id: uuid.UUID | None = None,
) -> FileResponse:
    """The rectification notice (整改通知书) to a responsible unit: its items not yet closed (audited)."""
    data = ledger_notice.gather(session, actor, unit, round_id, lang=actor.lang)
    path = _temp_path(f".{fmt}")
    try:
        (ledger_notice.write_pdf if fmt == "pdf" else ledger_notice.write_docx)(data, path)
    except BaseException:
        os.unlink(path)
        raise
    return _file_response(path, NOTICE_TYPES[fmt], f"notice-{unit}.{fmt}")


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


@router.post("/{item_id}/evidence", response_model=EvidencePublic, status_code=201)
async def upload_evidence(
    item_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or HEIC, at most 20 MB")],
    source: Annotated[EvidenceSource, Form()] = EvidenceSource.UPLOAD,
    forwarded: Annotated[bool, Form()] = False,
    purpose: Annotated[
        EvidencePurpose | None,
        BeforeValidator(form_null),
        Form(description="document: a receipt, a decision, a passbook; its copies are redacted"),
    ] = None,
    sent_at: Annotated[
        datetime | None,
        BeforeValidator(form_null),
        Form(description="When the photo was sent (the chat message's date); never after its arrival"),
    ] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A photo or document of the fix, through the evidence pipeline; the same bytes once per item."""
    data = await read_capped(file, MAX_BYTES)
    body = {
        "item": str(item_id),
        "source": source,
        "forwarded": forwarded,
        "purpose": purpose,
        "sent_at": sent_at.isoformat() if sent_at is not None else None,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return await run_in_threadpool(
        respond,
        request,
        session,
        actor,
        key,
        body,
        lambda: evidence.to_public(
            ledger_evidence.add_item_evidence(
                session, actor, settings, item_id, data, source, forwarded, sent_at, purpose
            ),
            actor.lang,
        ),
        201,
    )
