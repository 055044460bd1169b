"""POST /households/import (multipart; runs as a job) and GET /jobs/{id}."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile

from api.deps import ActorDep, SessionDep, SupervisorDep
from api.uploads import read_capped
from contracts.household_import import JobKind, JobPublic
from services import household_import, jobs
from services.errors import ValidationFailed

router = APIRouter(tags=["households"])


@router.post("/households/import", response_model=JobPublic, status_code=202)
async def import_households(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: SupervisorDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX register")],
    dry_run: Annotated[bool, Query()] = False,
    skip_invalid: Annotated[bool, Query()] = False,
) -> JobPublic:
    """Starts an import job; poll GET /jobs/{id} for progress and the row-by-row report."""
    data = await read_capped(file, household_import.MAX_IMPORT_BYTES)
    if not data.strip():
        raise ValidationFailed("import_empty")
    job = jobs.create(session, actor, JobKind.household_import)
    session.commit()
    background.add_task(
        household_import.run_import_job,
        request.app.state.session_factory,
        job.id,
        actor,
        data,
        file.filename or "",
        dry_run,
        skip_invalid,
    )
    return JobPublic.model_validate(job)


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(job_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> JobPublic:
    """A job's status, progress and result."""
    return jobs.get(session, actor, job_id)
