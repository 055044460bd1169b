"""Console review cadence (复核): the due list per township, overdue first and highlighted, paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.console.web import ConsoleDep, render
from api.deps import SessionDep, SettingsDep
from services import reviews
from services.errors import NotFound
from services.rounds import local_today

router = APIRouter()
PAGE = 50


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    con: ConsoleDep,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    horizon_days: Annotated[int, Query(ge=0, le=reviews.MAX_HORIZON)] = 30,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Per township in scope: how many are due and overdue; one township's households a page at a time."""
    due = reviews.due_list(session, con.actor, local_today(settings), horizon_days)
    chosen = None
    if township:
        chosen = next((t for t in due.townships if t.township_code == township), None)
        if chosen is None:
            raise NotFound(entity="township")
    elif due.townships:
        chosen = due.townships[0]
    items = chosen.items if chosen else []
    start = (page - 1) * PAGE
    return render(
        request,
        "reviews.html",
        con,
        due=due,
        chosen=chosen,
        items=items[start : start + PAGE],
        page=page,
        pages=max(1, -(-len(items) // PAGE)),
        horizon_days=horizon_days,
    )
