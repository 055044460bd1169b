"""Cases for staff: list, read, enter, import 12345 exports, the handling moves, the reply export.

Every route is region-scoped and audited in the services; an illegal move is a 409 problem.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, SupervisorDep
from api.uploads import read_capped
from contracts.cases import CaseAssign, CaseEntry, CaseEventOut, CaseMatchConfirm, CaseNote
from contracts.household_import import JobKind, JobPublic
from contracts.residents import CaseAnswer, CaseSource, CaseStaff, CaseState
from media.checks import MAX_BYTES
from services import case_flow, case_import, case_replies, cases, jobs
from services.errors import ValidationFailed

router = APIRouter(prefix="/cases", tags=["cases"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("", response_model=list[CaseStaff])
def list_cases(
    session: SessionDep,
    actor: SupervisorDep,
    state: CaseState | None = None,
    source: CaseSource | None = None,
    overdue: bool = False,
    unconfirmed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CaseStaff]:
    """Cases in the caller's scope (and those not linked to a region yet), newest first."""
    found = cases.list_for(session, actor, state, limit, source, overdue, unconfirmed)
    return [cases.to_staff(session, c, actor.lang) for c in found]


@router.post("", response_model=CaseStaff, status_code=201)
def enter(body: CaseEntry, session: SessionDep, settings: SettingsDep, actor: SupervisorDep) -> CaseStaff:
    """Staff enter a case (信访, the office, a 12345 order typed in); they are its first responder."""
    return cases.to_staff(session, case_flow.enter(session, settings, actor, body), actor.lang)


@router.post("/import", response_model=JobPublic, status_code=202)
async def import_orders(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    actor: SupervisorDep,
    file: Annotated[UploadFile, File(description="12345 work-order export: CSV (UTF-8/GBK) or XLSX")],
    source: Annotated[CaseSource, Query()] = CaseSource.hotline,
) -> JobPublic:
    """Starts a 12345 (or 信访) import job; GET /jobs/{id} shows progress and then the row report."""
    if source not in (CaseSource.hotline, CaseSource.petition):
        raise ValidationFailed("case_source_import")
    data = await read_capped(file, case_import.MAX_IMPORT_BYTES)
    if not data.strip():
        raise ValidationFailed("import_empty")
    job = jobs.create(session, actor, JobKind.case_import)
    session.commit()
    background.add_task(
        case_import.run_import_job,
        request.app.state.session_factory,
        job.id,
        settings,
        actor,
        data,
        file.filename or "",
        source,
    )
    return JobPublic.model_validate(job)


@router.get("/replies.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def replies_xlsx(
    session: SessionDep,
    actor: SupervisorDep,
    source: CaseSource | None = None,
    since: datetime | None = None,
) -> Response:
    """Answers to 12345 and 信访 cases, by their work-order numbers, for the back office (audited)."""
    data = case_replies.export_xlsx(session, actor, source, since, actor.lang)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="case-replies.xlsx"'}
    )


@router.get("/{case_id}", response_model=CaseStaff)
def read(case_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """One case (contact masked)."""
    return cases.to_staff(session, cases.read_for_staff(session, actor, case_id), actor.lang)


@router.get("/{case_id}/history", response_model=list[CaseEventOut])
def history(case_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> list[CaseEventOut]:
    """The case's steps, oldest first."""
    case = cases.get_for_staff(session, actor, case_id)
    return [CaseEventOut.model_validate(e, from_attributes=True) for e in cases.history(session, case)]


@router.post("/{case_id}/assign", response_model=CaseStaff)
def assign(case_id: uuid.UUID, body: CaseAssign, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """Assigns the case to a unit (received, assigned or reopened → assigned)."""
    case = case_flow.assign(session, actor, case_id, body.unit, body.note)
    return cases.to_staff(session, case, actor.lang)


@router.post("/{case_id}/investigate", response_model=CaseStaff)
def investigate(case_id: uuid.UUID, body: CaseNote, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """The unit starts investigating (assigned or reopened → investigating)."""
    return cases.to_staff(session, case_flow.investigate(session, actor, case_id, body.note), actor.lang)


@router.post("/{case_id}/answer", response_model=CaseStaff)
def answer(case_id: uuid.UUID, body: CaseAnswer, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """Records the answer and sends it back through the case's channel; the case becomes answered."""
    return cases.to_staff(session, case_flow.answer(session, actor, case_id, body.answer), actor.lang)


@router.post("/{case_id}/close", response_model=CaseStaff)
def close(case_id: uuid.UUID, body: CaseNote, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """Closes an answered case (the resident is asked once how satisfied they are)."""
    return cases.to_staff(session, case_flow.close(session, actor, case_id, body.note), actor.lang)


@router.post("/{case_id}/reopen", response_model=CaseStaff)
def reopen(case_id: uuid.UUID, body: CaseNote, session: SessionDep, actor: SupervisorDep) -> CaseStaff:
    """Reopens an answered or closed case with a new time limit."""
    return cases.to_staff(session, case_flow.reopen(session, actor, case_id, body.note), actor.lang)


@router.post("/{case_id}/attachments", response_model=CaseStaff, status_code=201)
async def attach(
    case_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: SupervisorDep,
    photo: Annotated[UploadFile, File(description="a photo (JPEG/PNG/HEIC), at most 20 MB")],
) -> CaseStaff:
    """Adds a photo to the case through the evidence checks (only the EXIF-free copy is kept)."""
    data = await read_capped(photo, MAX_BYTES)
    case = await run_in_threadpool(case_flow.attach, session, settings, actor, case_id, data, actor.lang)
    return cases.to_staff(session, case, actor.lang)


@router.post("/{case_id}/match", response_model=CaseStaff)
def confirm_match(
    case_id: uuid.UUID, body: CaseMatchConfirm, session: SessionDep, actor: SupervisorDep
) -> CaseStaff:
    """Confirms (or corrects) the household the case is about, by register number."""
    case = case_flow.confirm_match(session, actor, case_id, body.register_no)
    return cases.to_staff(session, case, actor.lang)
