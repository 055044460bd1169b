"""Console residents' applications (低保申请): the list with filters, one application with its stage
dates, the forms that move it to the next stage or refuse it, and the CSV/XLSX import.

The pages call the same service functions as the JSON API (`services.applications`: `list_for`, `get`,
`move`, `import_file`, `to_staff`); the service refuses a move of a closed application (409) and one
outside the user's region (403). Each action form carries the CSRF token and a one-time form key.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, render
from api.deps import SessionDep, SettingsDep
from api.uploads import read_capped
from contracts.residents import STAGES, ApplicationOutcome, Stage, StageMove
from services import applications, idempotency
from services.errors import ValidationFailed
from services.rounds import local_today

router = APIRouter()

MAX_IMPORT_BYTES = 20 << 20
Unit = Annotated[str | None, Form(max_length=80)]


def _stage(name: str) -> Stage | None:
    """The stage a filter or form names by its English name (empty: none)."""
    if not name:
        return None
    if name not in Stage.__members__:
        raise ValidationFailed(detail=f"stage: {name[:40]}")
    return Stage[name]


def _next_stage(stage: Stage) -> Stage | None:
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


@router.get("/applications", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: SessionDep,
    con: ConsoleDep,
    stage: Annotated[str, Query(max_length=40)] = "",
    region: Annotated[str, Query(pattern=r"^([0-9]{2,12})?$")] = "",
) -> Response:
    """Applications in scope, newest first, filtered by stage and region code prefix; the import form."""
    found = applications.list_for(session, con.actor, region or None, _stage(stage), applications.MAX_PAGE)
    return render(
        request,
        "applications.html",
        con,
        items=[applications.to_staff(a) for a in found],
        stages=list(Stage),
        flt={"stage": stage, "region": region},
        form_key=form_key(),
    )


@router.post("/applications/import", response_class=HTMLResponse)
async def import_file(
    request: Request,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Imports applications from a CSV or XLSX; shows the numbers created and the refused rows.

    The form's one-time key makes a double submit import once: the repeat shows the first result.
    """
    data = await read_capped(file, MAX_IMPORT_BYTES)
    name = file.filename or ""

    def work() -> tuple[int, dict[str, Any]]:
        result = applications.import_file(session, con.actor, data, name)
        created = [{"id": str(a.id), "number": a.number} for a in result.created]
        return 200, {"created": created, "errors": result.errors}

    what = idempotency.request_hash("POST", "applications.import", {"file": name})
    _, body = await run_in_threadpool(idempotency.run, session, con.actor, "console:" + key, what, work)
    return render(
        request,
        "applications_import.html",
        con,
        filename=name,
        created=body["created"],
        errors=body["errors"],
    )


@router.get("/applications/{app_id}", response_class=HTMLResponse)
def detail(
    request: Request, app_id: uuid.UUID, session: SessionDep, settings: SettingsDep, con: ConsoleDep
) -> Response:
    """One application: masked identifiers, the stage dates, and (while pending) the forms."""
    app = applications.get(session, con.actor, app_id)
    staff = applications.to_staff(app)
    pending = staff.outcome == ApplicationOutcome.pending
    return render(
        request,
        "application.html",
        con,
        a=staff,
        pending=pending,
        next_stage=_next_stage(staff.stage) if pending else None,
        today=local_today(settings),
        form_key=form_key(),
    )


def _back(app_id: uuid.UUID) -> str:
    return f"{PREFIX}/applications/{app_id}"


def _step(**fields: Any) -> StageMove:
    try:
        return StageMove(**fields)
    except ValidationError as exc:
        raise ValidationFailed(detail=str(exc).splitlines()[0][:200]) from exc


@router.post("/applications/{app_id}/move")
def move(
    app_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    to: Annotated[str, Form(max_length=40)] = "",
    on: Annotated[date | None, Form()] = None,
    deciding_unit: Unit = None,
    monthly_amount: Annotated[float | None, Form(ge=0, le=100000)] = None,
) -> Response:
    """Moves the application to the stage the page offered (a stale page is refused, not skipped on)."""
    step = _step(to=_stage(to), on=on, deciding_unit=deciding_unit or None, monthly_amount=monthly_amount)

    def work() -> str:
        applications.move(session, con.actor, app_id, step)
        return _back(app_id)

    return once(session, con, key, f"application.move:{app_id}", work)


@router.post("/applications/{app_id}/refuse")
def refuse(
    app_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    reason: Annotated[str, Form(max_length=500, pattern=r"\S")],
    on: Annotated[date | None, Form()] = None,
    deciding_unit: Unit = None,
) -> Response:
    """Refuses the application with a reason (a reason of only spaces is refused by the form's check)."""
    step = _step(refuse_reason=reason.strip(), on=on, deciding_unit=deciding_unit or None)

    def work() -> str:
        applications.move(session, con.actor, app_id, step)
        return _back(app_id)

    return once(session, con, key, f"application.refuse:{app_id}", work)
