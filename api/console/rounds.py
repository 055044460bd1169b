"""Console rounds: list, create, commit, the draw meeting, assignment, dispatch, close and reveal.

Each action is a form with the session's CSRF token and a one-time form key: a double-submitted form
is answered from the stored first answer (services.idempotency), so it never acts twice.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.console.web import PREFIX, CheckedDep, ConsoleDep, redirect, render
from api.deps import SessionDep, SettingsDep
from contracts.estimates import RoundEstimates
from contracts.rounds import RoundCreate, RoundStatus, RoundType
from models.user import Role
from services import estimates, idempotency, round_dispatch, round_teams, rounds
from services.errors import ValidationFailed
from services.pii import mask_name

router = APIRouter()

FormKey = Annotated[str, Form(max_length=100)]


def form_key() -> str:
    """A fresh one-time key for a form."""
    return secrets.token_urlsafe(16)


def once(session: Session, con: Any, key: str, what: str, work: Callable[[], str]) -> Response:
    """Runs a form's action once per form key and redirects to where its first run went."""

    def _work() -> tuple[int, dict[str, Any]]:
        return 303, {"redirect": work()}

    _, body = idempotency.run(
        session, con.actor, "console:" + key, idempotency.request_hash("POST", what, {}), _work
    )
    return redirect(str(body["redirect"]))


@router.get("/rounds", response_class=HTMLResponse)
def list_page(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Rounds in scope, and the form for a new one."""
    items = rounds.list_rounds(session, con.actor)
    return render(
        request,
        "rounds.html",
        con,
        rounds=items,
        types=[t.value for t in RoundType if t != RoundType.targeted],
        form_key=form_key(),
    )


@router.post("/rounds")
def create(
    session: SessionDep,
    settings: SettingsDep,
    con: CheckedDep,
    key: FormKey,
    name: Annotated[str, Form(max_length=100)],
    scope_code: Annotated[str, Form(max_length=12)],
    window_start: Annotated[date, Form()],
    window_end: Annotated[date, Form()],
    type: Annotated[str, Form(max_length=20)] = RoundType.flying.value,
) -> Response:
    """Creates a draft round through the rounds service."""
    try:
        data = RoundCreate(
            name=name,
            type=RoundType(type),
            scope_code=scope_code,
            window_start=window_start,
            window_end=window_end,
        )
    except (ValidationError, ValueError) as exc:
        raise ValidationFailed(detail=str(exc).splitlines()[0][:200]) from exc

    def work() -> str:
        r = rounds.create_round(session, con.actor, data, settings)
        return f"{PREFIX}/rounds/{r.id}"

    return once(session, con, key, "rounds.create", work)


@router.get("/rounds/{round_id}", response_class=HTMLResponse)
def detail(request: Request, round_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """One round: its commitment, the next steps as forms, and (once assigned) its teams."""
    r = rounds.get_round(session, con.actor, round_id)
    teams = round_teams.get_teams(session, con.actor, round_id) if r.assigned_at else []
    est = None
    if r.status == RoundStatus.closed and con.actor.role in (Role.supervisor, Role.admin):
        est = estimates.round_estimates(session, con.actor, round_id)
    return render(
        request,
        "round.html",
        con,
        r=r,
        pub=rounds.to_public(r),
        teams=teams,
        form_key=form_key(),
        verify_url=f"/api/v1/public/rounds/{r.id}/verify",
        est=est,
        est_chart=_estimate_chart(est) if est else None,
    )


def _estimate_chart(est: RoundEstimates) -> dict[str, list[Any]]:
    """The estimates as percentages for the interval chart (townships, then the county)."""
    rows = [e for e in [*est.townships, *est.counties] if e.share is not None]

    def pct(x: float | None) -> float | None:
        return None if x is None else round(x * 100, 2)

    return {
        "labels": [e.region_name for e in rows],
        "share": [pct(e.share) for e in rows],
        "low": [pct(e.ci_low) for e in rows],
        "high": [pct(e.ci_high) for e in rows],
    }


def _back(round_id: uuid.UUID) -> str:
    return f"{PREFIX}/rounds/{round_id}"


@router.post("/rounds/{round_id}/commit")
def commit(
    round_id: uuid.UUID, session: SessionDep, settings: SettingsDep, con: CheckedDep, key: FormKey
) -> Response:
    """Freezes the register snapshot and publishes the hashes."""

    def work() -> str:
        rounds.commit_round(session, con.actor, round_id, settings)
        return _back(round_id)

    return once(session, con, key, f"commit:{round_id}", work)


@router.post("/rounds/{round_id}/draw")
def draw(
    round_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    con: CheckedDep,
    key: FormKey,
    witness: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """The draw meeting: the witnesses' input typed in the room, then the draw."""

    def work() -> str:
        rounds.draw_round(session, con.actor, round_id, witness, settings)
        return _back(round_id)

    return once(session, con, key, f"draw:{round_id}", work)


@router.post("/rounds/{round_id}/assign")
def assign(
    round_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    con: CheckedDep,
    key: FormKey,
    team_size: Annotated[int, Form(ge=2, le=10)] = 2,
    visits_per_day: Annotated[int, Form(ge=1, le=100)] = 6,
) -> Response:
    """Forms teams from the active inspectors and assigns the sample under the hard rules."""

    def work() -> str:
        round_teams.assign_round(
            session, con.actor, round_id, None, None, team_size, visits_per_day, settings
        )
        return _back(round_id)

    return once(session, con, key, f"assign:{round_id}", work)


@router.post("/rounds/{round_id}/dispatch")
def dispatch(
    round_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    con: CheckedDep,
    key: FormKey,
    day: Annotated[date | None, Form()] = None,
) -> Response:
    """Releases the assignments due by a day (default today)."""

    def work() -> str:
        round_dispatch.dispatch(session, con.actor, round_id, day, None, settings=settings)
        return _back(round_id)

    return once(session, con, key, f"dispatch:{round_id}:{day}", work)


@router.post("/rounds/{round_id}/close")
def close(round_id: uuid.UUID, session: SessionDep, con: CheckedDep, key: FormKey) -> Response:
    """Closes the round."""

    def work() -> str:
        rounds.close_round(session, con.actor, round_id)
        return _back(round_id)

    return once(session, con, key, f"close:{round_id}", work)


@router.post("/rounds/{round_id}/reveal")
def reveal(round_id: uuid.UUID, session: SessionDep, con: CheckedDep, key: FormKey) -> Response:
    """Publishes the secret seed of a closed round."""

    def work() -> str:
        rounds.reveal_round(session, con.actor, round_id)
        return _back(round_id)

    return once(session, con, key, f"reveal:{round_id}", work)


@router.get("/rounds/{round_id}/assignments", response_class=HTMLResponse)
def assignments_page(request: Request, round_id: uuid.UUID, session: SessionDep, con: ConsoleDep) -> Response:
    """Assignment review: each household's team and day; pending ones can move to another team."""
    r = rounds.get_round(session, con.actor, round_id)
    items = round_teams.list_assignments(session, con.actor, round_id)
    teams = round_teams.get_teams(session, con.actor, round_id)
    names = {a.id: mask_name(a.head_name) or "" for a in items}
    return render(
        request, "assignments.html", con, r=r, items=items, teams=teams, names=names, form_key=form_key()
    )


@router.post("/rounds/{round_id}/swap")
def swap(
    round_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    assignment_id: Annotated[uuid.UUID, Form()],
    team_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """Moves an assignment to another team within the hard rules (the service refuses otherwise)."""

    def work() -> str:
        round_teams.swap(session, con.actor, round_id, assignment_id, team_id=team_id)
        return f"{PREFIX}/rounds/{round_id}/assignments"

    return once(session, con, key, f"swap:{round_id}:{assignment_id}:{team_id}", work)
