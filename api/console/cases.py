"""Console complaints (一事一案): the list with filters and time-limit status, one case with its
history, and the handling forms (assign, investigate, answer, close, reopen, confirm the household).

Each form carries the session's CSRF token and a one-time form key (see api/console/rounds.py); the
services refuse an illegal move (409) and a case outside the user's region (403).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, redirect, render
from api.deps import SessionDep, SettingsDep
from api.uploads import read_capped
from contracts.household_import import JobKind
from contracts.residents import CaseSource, CaseState
from models.user import Role
from services import case_flow, case_import, case_replies, cases, jobs
from services.errors import ValidationFailed

router = APIRouter()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Note = Annotated[str | None, Form(max_length=1000)]


@router.get("/cases", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: SessionDep,
    con: ConsoleDep,
    state: Annotated[str, Query(max_length=20)] = "",
    source: Annotated[str, Query(max_length=20)] = "",
    overdue: Annotated[bool, Query()] = False,
    unconfirmed: Annotated[bool, Query()] = False,
) -> Response:
    """Cases in scope, newest first, filtered by state, source, overdue, or match to confirm."""
    st = CaseState(state) if state in CaseState._value2member_map_ else None
    src = CaseSource(source) if source in CaseSource._value2member_map_ else None
    found = cases.list_for(session, con.actor, st, 200, src, overdue, unconfirmed)
    items = [cases.to_staff(session, c, con.lang) for c in found]
    return render(
        request,
        "cases.html",
        con,
        items=items,
        states=[s.value for s in CaseState],
        sources=[s.value for s in CaseSource],
        flt={"state": state, "source": source, "overdue": overdue, "unconfirmed": unconfirmed},
    )


@router.get("/cases/replies.xlsx")
def replies_xlsx(session: SessionDep, con: ConsoleDep) -> Response:
    """The answers to 12345 and 信访 cases in scope, for the back office (audited)."""
    data = case_replies.export_xlsx(session, con.actor, lang=con.lang)
    disposition = 'attachment; filename="case-replies.xlsx"'
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post("/cases/import")
async def start_import(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    con: CheckedDep,
    file: Annotated[UploadFile, File()],
    petition: Annotated[bool, Form()] = False,
) -> Response:
    """Starts a 12345 (or 信访) import job and shows its progress page."""
    con.actor.require(Role.supervisor)
    data = await read_capped(file, case_import.MAX_IMPORT_BYTES)
    if not data.strip():
        raise ValidationFailed("import_empty")
    job = jobs.create(session, con.actor, JobKind.case_import)
    session.commit()
    source = CaseSource.petition if petition else CaseSource.hotline
    factory = request.app.state.session_factory
    name = file.filename or ""
    background.add_task(case_import.run_import_job, factory, job.id, settings, con.actor, data, name, source)
    return redirect(f"{PREFIX}/jobs/{job.id}")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def detail(request: Request, case_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """One case: what it says, where it stands, its history, and the moves it may make now."""
    case = cases.read_for_staff(session, con.actor, case_id)
    return render(
        request,
        "case.html",
        con,
        c=cases.to_staff(session, case, con.lang),
        history=cases.history(session, case),
        moves=case_flow.allowed(case),
        form_key=form_key(),
    )


def _back(case_id: uuid.UUID) -> str:
    return f"{PREFIX}/cases/{case_id}"


@router.post("/cases/{case_id}/assign")
def assign(
    case_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    unit: Annotated[str, Form(max_length=80)],
    note: Note = None,
) -> Response:
    """Assigns the case to a unit."""

    def work() -> str:
        case_flow.assign(session, con.actor, case_id, unit, note or None)
        return _back(case_id)

    return once(session, con, key, f"case.assign:{case_id}", work)


@router.post("/cases/{case_id}/investigate")
def investigate(
    case_id: uuid.UUID, session: SessionDep, con: CheckedDep, key: FormKey, note: Note = None
) -> Response:
    """The unit starts investigating."""

    def work() -> str:
        case_flow.investigate(session, con.actor, case_id, note or None)
        return _back(case_id)

    return once(session, con, key, f"case.investigate:{case_id}", work)


@router.post("/cases/{case_id}/answer")
def answer(
    case_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    text: Annotated[str, Form(max_length=4000)],
) -> Response:
    """Records the answer (it goes back through the channel the case came from)."""

    def work() -> str:
        case_flow.answer(session, con.actor, case_id, text)
        return _back(case_id)

    return once(session, con, key, f"case.answer:{case_id}", work)


@router.post("/cases/{case_id}/close")
def close(
    case_id: uuid.UUID, session: SessionDep, con: CheckedDep, key: FormKey, note: Note = None
) -> Response:
    """Closes an answered case."""

    def work() -> str:
        case_flow.close(session, con.actor, case_id, note or None)
        return _back(case_id)

    return once(session, con, key, f"case.close:{case_id}", work)


@router.post("/cases/{case_id}/reopen")
def reopen(
    case_id: uuid.UUID, session: SessionDep, con: CheckedDep, key: FormKey, note: Note = None
) -> Response:
    """Reopens an answered or closed case."""

    def work() -> str:
        case_flow.reopen(session, con.actor, case_id, note or None)
        return _back(case_id)

    return once(session, con, key, f"case.reopen:{case_id}", work)


@router.post("/cases/{case_id}/match")
def confirm_match(
    case_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    register_no: Annotated[str, Form(min_length=1, max_length=40)],
) -> Response:
    """Confirms (or corrects) the household the case is about."""

    def work() -> str:
        case_flow.confirm_match(session, con.actor, case_id, register_no)
        return _back(case_id)

    return once(session, con, key, f"case.match:{case_id}:{register_no}", work)
