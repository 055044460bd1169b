"""Console register search, users and invite codes, and the audit log with chain verification."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key
from api.console.web import PREFIX, CheckedDep, ConsoleDep, redirect, render
from api.deps import SessionDep
from api.uploads import read_capped
from contracts.household_import import JobKind
from models.user import Role
from services import console_stats, household_import, households, idempotency, invites, jobs, users
from services.errors import ValidationFailed
from services.households import HouseholdFilter

router = APIRouter()


@router.get("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    con: ConsoleDep,
    id_number: str | None = None,
    register_no: str | None = None,
    cursor: str | None = None,
) -> Response:
    """The register, a page at a time; search by ID number (keyed hash) or register number (audited)."""
    flt = HouseholdFilter(
        id_number=(id_number or "").strip()[:40] or None, register_no=(register_no or "").strip()[:40] or None
    )
    rows, nxt = households.list_households(session, con.actor, flt, limit=50, cursor=cursor)
    return render(
        request, "register.html", con, rows=rows, next_cursor=nxt, register_no=flt.register_no or ""
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Accounts the actor may see, and the invite-code form."""
    items = users.list_users(session, con.actor)
    return render(request, "users.html", con, users=items, form_key=form_key(), invite=None)


@router.post("/invites", response_class=HTMLResponse)
def new_invite(
    request: Request,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    login: Annotated[str, Form(min_length=1, max_length=60)],
) -> Response:
    """Creates a one-time invite code through the invites service and shows it once."""

    fresh: dict[str, str] = {}

    def work() -> tuple[int, dict[str, str]]:
        made = invites.create_invite(session, con.actor, login=login.strip())
        fresh["code"] = made.code
        # only the login is kept for a repeated submit: the code itself is stored nowhere in clear
        return 201, {"login": made.user.login}

    _, stored = idempotency.run(
        session, con.actor, "console:" + key, idempotency.request_hash("POST", "invite", login), work
    )
    shown = {"login": str(stored["login"]), "code": fresh.get("code", "")}
    items = users.list_users(session, con.actor)
    return render(request, "users.html", con, users=items, form_key=form_key(), invite=shown)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, con: ConsoleDep, before: int | None = None) -> Response:
    """The audit log, newest first, a page at a time (keyset on the sequence number)."""
    rows, nxt = console_stats.audit_page(session, con.actor, before)
    return render(request, "audit.html", con, rows=rows, next_key=nxt, report=None)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, session: SessionDep, con: CheckedDep) -> Response:
    """Recomputes the audit chain and shows the result above the latest page."""
    report = console_stats.verify_audit_chain(session, con.actor)
    rows, nxt = console_stats.audit_page(session, con.actor)
    return render(request, "audit.html", con, rows=rows, next_key=nxt, report=report)


@router.post("/register/import")
async def start_import(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    con: CheckedDep,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Starts a register import job through the import service and shows its progress page."""
    con.actor.require(Role.supervisor)
    data = await read_capped(file, household_import.MAX_IMPORT_BYTES)
    if not data.strip():
        raise ValidationFailed("import_empty")
    job = jobs.create(session, con.actor, JobKind.household_import)
    session.commit()
    background.add_task(
        household_import.run_import_job,
        request.app.state.session_factory,
        job.id,
        con.actor,
        data,
        file.filename or "",
        dry_run,
        False,
    )
    return redirect(f"{PREFIX}/jobs/{job.id}")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """A job's progress bar (the page polls itself with htmx while the job runs) and its result."""
    job = jobs.get(session, con.actor, job_id)
    running = job.status.value in ("queued", "running")
    # a register import keeps its rows under "report"; a 12345 import has them at the top
    errors = list((job.result.get("report") or job.result).get("errors") or [])[:50]
    return render(request, "job.html", con, job=job, running=running, errors=errors)
