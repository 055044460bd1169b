"""Applications for staff: create, import, list, read and move through the stages (audited, region-scoped)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import SessionDep, SupervisorDep
from api.uploads import read_capped
from contracts.residents import ApplicationCreate, ApplicationImportResult, ApplicationStaff, Stage, StageMove
from services import applications

router = APIRouter(prefix="/applications", tags=["applications"])
MAX_IMPORT_BYTES = 20 << 20


@router.post("", response_model=ApplicationStaff, status_code=201)
def create(body: ApplicationCreate, session: SessionDep, actor: SupervisorDep) -> ApplicationStaff:
    """Registers an application at stage 申请; the answer carries its unguessable number."""
    return applications.to_staff(applications.create(session, actor, body))


@router.post("/import", response_model=ApplicationImportResult)
async def import_file(
    session: SessionDep,
    actor: SupervisorDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX")],
) -> ApplicationImportResult:
    """Imports applications; every refused row is listed with its reason."""
    data = await read_capped(file, MAX_IMPORT_BYTES)
    result = await run_in_threadpool(applications.import_file, session, actor, data, file.filename or "")
    return ApplicationImportResult.model_validate(
        {"created": [a.number for a in result.created], "errors": result.errors}
    )


@router.get("", response_model=list[ApplicationStaff])
def list_applications(
    session: SessionDep,
    actor: SupervisorDep,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None,
    stage: Stage | None = None,
    limit: Annotated[int, Query(ge=1, le=applications.MAX_PAGE)] = 50,
) -> list[ApplicationStaff]:
    """Applications in the caller's scope, newest first (identifiers masked)."""
    return [applications.to_staff(a) for a in applications.list_for(session, actor, region, stage, limit)]


@router.get("/{app_id}", response_model=ApplicationStaff)
def read(app_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> ApplicationStaff:
    """One application in the caller's scope."""
    return applications.to_staff(applications.get(session, actor, app_id))


@router.post("/{app_id}/stage", response_model=ApplicationStaff)
def move(app_id: uuid.UUID, body: StageMove, session: SessionDep, actor: SupervisorDep) -> ApplicationStaff:
    """Moves the application to its next stage, or refuses it with `refuse_reason`."""
    return applications.to_staff(applications.move(session, actor, app_id, body))
