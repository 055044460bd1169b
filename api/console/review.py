"""Console visit review: the visit list (paged) and one visit with answers, photos, map and flags."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, render
from api.deps import SessionDep, SettingsDep
from contracts.ledger import VisitReview, VisitReviewIn
from services import console_stats, evidence, findings_review
from services.errors import ValidationFailed

router = APIRouter()


@router.get("/visits", response_class=HTMLResponse)
def visits_page(
    request: Request,
    session: SessionDep,
    con: ConsoleDep,
    before: datetime | None = None,
    inspector: uuid.UUID | None = None,
) -> Response:
    """Visits in scope (optionally one inspector's), newest first, a page at a time."""
    rows, nxt = console_stats.visit_page(session, con.actor, before, inspector_id=inspector)
    more = None
    if nxt:
        more = {"before": nxt.isoformat()} | ({"inspector": str(inspector)} if inspector else {})
    return render(request, "visits.html", con, rows=rows, more=urlencode(more) if more else None)


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(
    request: Request, visit_id: uuid.UUID, session: SessionDep, settings: SettingsDep, con: ConsoleDep
) -> Response:
    """One visit: answers step by step, photos with verdicts, the map, the timeline and quality flags."""
    rv = console_stats.visit_review(session, con.actor, visit_id, settings.onsite_radius_m)
    map_data = dict(rv.map, tiles=settings.map_tiles)
    return render(request, "visit.html", con, rv=rv, v=rv.visit, map_data=map_data, form_key=form_key())


@router.post("/visits/{visit_id}/review")
def review_visit(
    visit_id: uuid.UUID,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    review: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Accepts a finished visit, or sends it back for a revisit with a reason (its assignment reopens)."""
    try:
        data = VisitReviewIn(review=VisitReview(review), reason=reason.strip() or None)
    except ValueError as exc:
        raise ValidationFailed(detail=review[:20]) from exc

    def work() -> str:
        findings_review.review_visit(session, con.actor, visit_id, data)
        return f"{PREFIX}/visits/{visit_id}"

    return once(session, con, key, f"visit.review:{visit_id}", work)


@router.get("/evidence/{evidence_id}/{kind}")
def evidence_copy(
    evidence_id: uuid.UUID,
    kind: Literal["display", "thumbnail"],
    session: SessionDep,
    settings: SettingsDep,
    con: ConsoleDep,
) -> Response:
    """A photo's EXIF-free copy or thumbnail through the evidence service (scope-checked, audited)."""
    blob = evidence.open_copy(session, con.actor, settings, evidence_id, kind)
    return StreamingResponse(
        blob.stream,
        media_type=blob.media_type,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Inspector quality over the last 90 days: a table and a chart, each row linking to the visits."""
    rows, county_pass = console_stats.inspector_quality(session, con.actor)
    chart = {
        "labels": [q.login for q in rows],
        "rushed": [round(q.rushed_share * 100, 1) for q in rows],
        "flagged": [round(q.photos_flagged_share * 100, 1) for q in rows],
    }
    return render(request, "quality.html", con, rows=rows, county_pass=county_pass, charts={"quality": chart})
