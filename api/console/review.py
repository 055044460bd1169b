"""Console visit review: the visit list (paged) and one visit with answers, photos, map and flags."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.console.web import ConsoleDep, render
from api.deps import SessionDep, SettingsDep
from services import console_stats, evidence

router = APIRouter()


@router.get("/visits", response_class=HTMLResponse)
def visits_page(
    request: Request, session: SessionDep, con: ConsoleDep, before: datetime | None = None
) -> Response:
    """Visits in scope, newest first, a page at a time."""
    rows, nxt = console_stats.visit_page(session, con.actor, before)
    return render(request, "visits.html", con, rows=rows, next_key=nxt.isoformat() if nxt else None)


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
