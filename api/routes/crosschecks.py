"""Cross-checks: POST a month's death records or another department's list (runs as a job), and read
the runs and the matches of the caller's region."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile

from api.deps import ActorDep, SessionDep, SupervisorDep
from api.uploads import read_capped
from contracts.crosschecks import (
    DEATHS,
    CrosscheckMatchOut,
    CrosscheckRunOut,
    CrosscheckSourceOut,
    MatchOutcome,
)
from contracts.household_import import JobPublic
from services import crosschecks

router = APIRouter(prefix="/crosschecks", tags=["crosschecks"])
FileField = Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX")]
MonthField = Annotated[
    str,
    Form(
        description="the month the file reports, YYYY-MM",
        min_length=7,
        max_length=7,
        pattern=r"^\d{4}-\d{2}$",
    ),
]


async def _start(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: SupervisorDep,
    source: str,
    file: UploadFile,
    month: str,
) -> JobPublic:
    data = await read_capped(file, crosschecks.MAX_IMPORT_BYTES)
    job = crosschecks.start_job(session, actor, source, month, data)
    session.commit()
    background.add_task(
        crosschecks.run_job,
        request.app.state.session_factory,
        job.id,
        actor,
        source,
        data,
        file.filename or "",
        month,
    )
    return JobPublic.model_validate(job)


@router.post("/deaths", response_model=JobPublic, status_code=202)
async def import_deaths(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: SupervisorDep,
    file: FileField,
    month: MonthField,
) -> JobPublic:
    """Starts matching a month's death and funeral records; poll GET /jobs/{id} for the report."""
    return await _start(request, background, session, actor, DEATHS, file, month)


@router.post("/registers/{source}", response_model=JobPublic, status_code=202)
async def import_register(
    source: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: SupervisorDep,
    file: FileField,
    month: MonthField,
) -> JobPublic:
    """Starts matching another department's list by its rule file (see GET /crosschecks/sources)."""
    return await _start(request, background, session, actor, source, file, month)


@router.get("/sources", response_model=list[CrosscheckSourceOut])
def list_sources(actor: ActorDep) -> list[CrosscheckSourceOut]:
    """Deaths and every register with a rule file."""
    return crosschecks.sources(actor.lang)


@router.get("/runs", response_model=list[CrosscheckRunOut])
def list_runs(
    session: SessionDep,
    actor: ActorDep,
    source: str | None = None,
    period: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CrosscheckRunOut]:
    """Imported files, newest first, with their counts."""
    return crosschecks.list_runs(session, actor, source, period, limit)


@router.get("/runs/{run_id}", response_model=CrosscheckRunOut)
def get_run(run_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> CrosscheckRunOut:
    """One imported file with its row-by-row errors."""
    return crosschecks.get_run(session, actor, run_id)


@router.get("/matches", response_model=list[CrosscheckMatchOut])
def list_matches(
    session: SessionDep,
    actor: ActorDep,
    run_id: uuid.UUID | None = None,
    source: str | None = None,
    period: str | None = None,
    outcome: MatchOutcome | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CrosscheckMatchOut]:
    """Household members found in the registers, in the caller's region (identifiers masked)."""
    return crosschecks.list_matches(
        session,
        actor,
        run_id=run_id,
        source=source,
        period=period,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
