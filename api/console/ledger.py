"""Console ledger board: filtered keyset pages, one item with history and evidence, its actions.

Actions go through services.ledger (the same rules as the API): assignment and deadline, verify
(对账销号, four eyes: the submitter is refused), return (重新整改), reopen, and ordering a recheck
visit (shown with its team, day and status to supervisors only: it is sealed). Every form carries the
session's CSRF token and a one-time key; a refusal rolls the request back, is audited on its own,
and is shown on the item's page. Downloads reuse the API's export and notice routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, Console, ConsoleDep, render
from api.deps import SessionDep
from api.routes import ledger as ledger_api
from contracts.ledger import (
    ItemUpdateIn,
    LedgerItemDetail,
    LedgerRoute,
    LedgerState,
    RecheckIn,
    VerifyIn,
)
from contracts.vocab import Severity
from services import audit, console_stats, ledger, ledger_queries, rounds
from services.errors import DomainError, ValidationFailed
from services.pii import mask_name

router = APIRouter()

Reason = Annotated[str, Form(max_length=2000)]


def _blank(value: str | None) -> str | None:
    return value or None


def board_filter(
    region: str | None = None,
    state: str | None = None,
    route: str | None = None,
    severity: str | None = None,
    overdue: str | None = None,
    responsible: str | None = None,
    round_id: str | None = None,
) -> tuple[ledger_queries.LedgerFilter, dict[str, str]]:
    """The board's filters from the query string (empty selects mean "any"); bad values are 422."""
    given = {
        k: v
        for k, v in {
            "region": region,
            "state": state,
            "route": route,
            "severity": severity,
            "overdue": overdue,
            "responsible": responsible,
            "round_id": round_id,
        }.items()
        if v
    }
    try:
        if region is not None and region and not (region.isdigit() and 2 <= len(region) <= 12):
            raise ValueError(region)
        flt = ledger_queries.LedgerFilter(
            region=_blank(region),
            state=LedgerState(state) if state else None,
            route=LedgerRoute(route) if route else None,
            severity=Severity(severity) if severity else None,
            overdue={"1": True, "0": False}[overdue] if overdue else None,
            responsible_user_id=uuid.UUID(responsible) if responsible else None,
            round_id=uuid.UUID(round_id) if round_id else None,
        )
    except (KeyError, ValueError) as exc:
        raise ValidationFailed(detail=str(exc)[:200]) from exc
    return flt, given


@router.get("/ledger", response_class=HTMLResponse)
def board(
    request: Request,
    session: SessionDep,
    con: ConsoleDep,
    region: str | None = Query(None, max_length=12),
    state: str | None = Query(None, max_length=20),
    route: str | None = Query(None, max_length=20),
    severity: str | None = Query(None, max_length=20),
    overdue: str | None = Query(None, max_length=1),
    responsible: str | None = Query(None, max_length=40),
    round_id: str | None = Query(None, max_length=40),
    cursor: str | None = Query(None, max_length=200),
) -> Response:
    """The ledger in scope, earliest deadline first, a keyset page at a time, with filters and downloads."""
    con.actor.require(*ledger.ACTING)
    flt, given = board_filter(region, state, route, severity, overdue, responsible, round_id)
    items, nxt = ledger_queries.list_items(session, con.actor, flt, 50, cursor)
    more = urlencode(given | {"cursor": nxt}) if nxt else None
    return render(
        request,
        "ledger.html",
        con,
        items=items,
        names={i.id: mask_name(i.head_name) or "" for i in items},
        given=given,
        query=urlencode(given),
        more=more,
        states=[s.value for s in LedgerState],
        routes=[r.value for r in LedgerRoute],
        severities=[s.value for s in Severity],
        people=console_stats.responsible_choices(session, con.actor),
        round_list=rounds.list_rounds(session, con.actor)[:100],
        unit=flt.region if flt.region and len(flt.region) >= 6 else (con.actor.scope_code or ""),
    )


@router.get("/ledger/export.xlsx")
def export(
    session: SessionDep,
    con: ConsoleDep,
    region: str | None = Query(None, max_length=12),
    state: str | None = Query(None, max_length=20),
    route: str | None = Query(None, max_length=20),
    severity: str | None = Query(None, max_length=20),
    overdue: str | None = Query(None, max_length=1),
    responsible: str | None = Query(None, max_length=40),
    round_id: str | None = Query(None, max_length=40),
) -> FileResponse:
    """The filtered ledger as XLSX (the API's export, for the console's session)."""
    flt, _ = board_filter(region, state, route, severity, overdue, responsible, round_id)
    return ledger_api.export_xlsx(session, con.actor, flt)


@router.get("/ledger/notice.{fmt}")
def notice(
    fmt: str,
    session: SessionDep,
    con: ConsoleDep,
    unit: Annotated[str, Query(pattern=r"^[0-9]{6,12}$")],
    round_id: uuid.UUID | None = None,
) -> FileResponse:
    """整改通知书 of a unit as PDF or DOCX (the API's notice, for the console's session)."""
    if fmt not in ledger_api.NOTICE_TYPES:
        raise ValidationFailed(detail=fmt[:20])
    return ledger_api.notice(fmt, session, con.actor, unit, round_id)


def _item_page(
    request: Request,
    session: Session,
    con: Console,
    item_id: uuid.UUID,
    status_code: int = 200,
    refusal: str | None = None,
) -> Response:
    it: LedgerItemDetail = ledger_queries.detail(session, con.actor, item_id)
    proof = sorted(
        {
            e
            for ev in it.history
            if ev.action == "submit_fix"
            for e in ev.evidence_ids
            if not e.startswith("visit:")
        }
    )
    photos = sorted({e for ev in it.history for e in ev.evidence_ids if not e.startswith("visit:")})
    supervises = con.actor.role.value in ("supervisor", "admin")
    return render(
        request,
        "ledger_item.html",
        con,
        status_code,
        it=it,
        head=mask_name(it.head_name) or "",
        proof=proof,
        photos=photos,
        refusal=refusal,
        people=console_stats.responsible_choices(session, con.actor),
        routes=[r.value for r in LedgerRoute],
        form_key=form_key(),
        is_supervisor=supervises,
        teams=ledger_queries.recheck_teams(session, con.actor) if supervises else [],
        today=rounds.local_today(),
    )


@router.get("/ledger/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """One item: who answers for it and by when, its history, evidence and the next steps."""
    return _item_page(request, session, con, item_id)


def act(
    request: Request,
    session: Session,
    con: Console,
    key: str,
    what: str,
    item_id: uuid.UUID,
    work: Callable[[], Any],
) -> Response:
    """Runs an item's action once per form key; a refusal is audited and shown on the item's page."""

    def _work() -> str:
        work()
        return f"{PREFIX}/ledger/{item_id}"

    try:
        return once(session, con, key, what, _work)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise  # the app's handler audits the refusal (once) and shows the 404 page
        audit.keep_refusal(request.app.state.session_factory, exc)
        return _item_page(request, session, con, item_id, exc.status, exc.message(con.lang))


@router.post("/ledger/{item_id}/update")
def update(
    request: Request,
    item_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    responsible: Annotated[str, Form(max_length=40)] = "",
    route: Annotated[str, Form(max_length=20)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    measures: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Assignment, route, measures and deadline (never in the past: the service refuses)."""
    try:
        data = ItemUpdateIn(
            responsible_user_id=uuid.UUID(responsible) if responsible else None,
            route=LedgerRoute(route) if route else None,
            deadline=date.fromisoformat(deadline) if deadline else None,
            measures=measures.strip() or None,
        )
    except (ValidationError, ValueError) as exc:
        raise ValidationFailed(detail=str(exc).splitlines()[0][:200]) from exc
    return act(
        request,
        session,
        con,
        key,
        f"ledger.update:{item_id}",
        item_id,
        lambda: ledger.update_item(session, con.actor, item_id, data),
    )


@router.post("/ledger/{item_id}/verify")
async def verify(
    request: Request,
    item_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    version: Annotated[int, Form(ge=0, le=2**31 - 1)],
    note: Reason = "",
) -> Response:
    """对账销号 on the chosen evidence or the finished recheck visit; the submitter is refused (four eyes)."""
    form = await request.form()
    try:
        ids = [uuid.UUID(str(v)) for v in form.getlist("evidence")][:50]
        recheck = form.get("recheck_visit")
        recheck_id = uuid.UUID(str(recheck)) if recheck else None
    except ValueError as exc:
        raise ValidationFailed(detail=str(exc).splitlines()[0][:200]) from exc
    data = VerifyIn(note=note.strip() or None, evidence_ids=ids, recheck_visit_id=recheck_id, version=version)
    return act(
        request,
        session,
        con,
        key,
        f"ledger.verify:{item_id}",
        item_id,
        lambda: ledger.verify(session, con.actor, item_id, data),
    )


@router.post("/ledger/{item_id}/return")
def return_fix(
    request: Request,
    item_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    version: Annotated[int, Form(ge=0, le=2**31 - 1)],
    reason: Reason = "",
) -> Response:
    """重新整改 with the reason (required); the submitter of the fix is refused."""
    if not reason.strip():
        raise ValidationFailed("reason_required")
    return act(
        request,
        session,
        con,
        key,
        f"ledger.return:{item_id}",
        item_id,
        lambda: ledger.return_fix(session, con.actor, item_id, reason.strip(), version),
    )


@router.post("/ledger/{item_id}/reopen")
def reopen(
    request: Request,
    item_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    note: Reason = "",
) -> Response:
    """A closed item comes back with a fresh deadline."""
    return act(
        request,
        session,
        con,
        key,
        f"ledger.reopen:{item_id}",
        item_id,
        lambda: ledger.reopen(session, con.actor, item_id, note.strip() or None),
    )


@router.post("/ledger/{item_id}/recheck")
def recheck(
    request: Request,
    item_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    team_id: Annotated[uuid.UUID, Form()],
    visit_date: Annotated[date, Form()],
) -> Response:
    """Orders a recheck visit: a sealed assignment of the household to a team, released on its day
    (a day in the past, or a round that already visits the household, is refused by the service)."""
    data = RecheckIn(team_id=team_id, visit_date=visit_date)
    return act(
        request,
        session,
        con,
        key,
        f"ledger.recheck:{item_id}",
        item_id,
        lambda: ledger.order_recheck(session, con.actor, item_id, data),
    )
