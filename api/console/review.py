"""Console visit review: the visit list (paged) and one visit with answers, photos, map and flags."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.console.web import ConsoleDep, render
from api.deps import SessionDep, SettingsDep
from services import console_stats, evidence

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
    return render(request, "visit.html", con, rv=rv, v=rv.visit, map_data=map_data)


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
