"""Console cross-checks: the runs, one run's matches, and the upload of a register file as a job."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, render
from api.deps import SessionDep
from api.uploads import read_capped
from contracts.crosschecks import DEATHS
from contracts.household_import import JobKind
from services import crosschecks, jobs

router = APIRouter()
PAGE = 100
Month = Annotated[str, Form(min_length=7, max_length=7, pattern=r"^\d{4}-\d{2}$")]


@router.get("/crosschecks", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Imported files (newest first) with their counts, and the upload form."""
    runs = crosschecks.list_runs(session, con.actor, limit=PAGE)
    pending = jobs.unfinished(session, con.actor, JobKind.crosscheck)
    sources = crosschecks.sources(con.lang)
    labels = {s.source: s.label for s in sources}
    return render(
        request,
        "crosschecks.html",
        con,
        runs=runs,
        pending=pending,
        sources=sources,
        labels=labels,
        form_key=form_key(),
    )


@router.get("/crosschecks/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, run_id: uuid.UUID, session: SessionDep, con: ConsoleDep, offset: int = 0
) -> Response:
    """One run: its counts, its row errors and its matches a page at a time (masked, audited)."""
    run = crosschecks.get_run(session, con.actor, run_id)
    offset = max(0, offset)
    matches = crosschecks.list_matches(session, con.actor, run_id=run_id, limit=PAGE + 1, offset=offset)
    more = len(matches) > PAGE
    labels = {s.source: s.label for s in crosschecks.sources(con.lang)}
    return render(
        request,
        "crosscheck_run.html",
        con,
        run=run,
        matches=matches[:PAGE],
        errors=run.errors[:50],
        label=labels.get(run.source, run.source),
        next_offset=offset + PAGE if more else None,
    )


@router.post("/crosschecks/upload")
async def upload(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    file: Annotated[UploadFile, File()],
    month: Month,
    source: Annotated[str, Form(min_length=1, max_length=60)] = DEATHS,
) -> Response:
    """Starts matching a death-record file or another register's file; the job page shows progress."""
    data = await read_capped(file, crosschecks.MAX_IMPORT_BYTES)
    started: list[uuid.UUID] = []

    def work() -> str:
        job = crosschecks.start_job(session, con.actor, source, month, data)
        started.append(job.id)
        return f"{PREFIX}/crosschecks/jobs/{job.id}"

    response = once(session, con, key, f"crosscheck:{source}:{month}", work)
    session.commit()
    if started:  # a repeated form goes to the first job's page and starts nothing
        background.add_task(
            crosschecks.run_job,
            request.app.state.session_factory,
            started[0],
            con.actor,
            source,
            data,
            file.filename or "",
            month,
        )
    return response


@router.get("/crosschecks/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """A cross-check job's progress (polled while it runs) and, when done, its counts and run link."""
    job = jobs.get(session, con.actor, job_id)
    running = job.status.value in ("queued", "running")
    errors = list(job.result.get("errors") or [])[:50]
    return render(request, "crosscheck_job.html", con, job=job, running=running, errors=errors)
