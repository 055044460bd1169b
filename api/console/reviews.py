"""Console review cadence (复核): the due list per township, overdue first and highlighted, paged; each
due household's row records a review (CSRF and a one-time form key, through `services.reviews.record`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, render, text
from api.deps import SessionDep, SettingsDep
from contracts.reviews import ReviewIn
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
    recorded: Annotated[bool, Query()] = False,
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
        today=local_today(settings),
        new_key=form_key,
        notice=text(con.lang, "reviews.recorded") if recorded else None,
    )


@router.post("/reviews/record")
def record(
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    household_id: Annotated[uuid.UUID, Form()],
    reviewed_on: Annotated[date, Form()],
    note: Annotated[str | None, Form(max_length=500)] = None,
    township: Annotated[str | None, Form(pattern=r"^[0-9]{9}$")] = None,
    horizon_days: Annotated[int, Form(ge=0, le=reviews.MAX_HORIZON)] = 30,
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> Response:
    """Records a review of one due household, then shows the same township and page again."""
    data = ReviewIn(household_id=household_id, reviewed_on=reviewed_on, note=(note or "").strip() or None)
    back: dict[str, str | int] = {"horizon_days": horizon_days, "page": page, "recorded": "true"}
    if township:
        back["township"] = township

    def work() -> str:
        reviews.record(session, con.actor, data)
        return f"{PREFIX}/reviews?{urlencode(back)}"

    return once(session, con, key, f"reviews.record:{household_id}", work)
