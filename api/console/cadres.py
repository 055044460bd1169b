"""Console cadre-relatives registry: declarations (masked), the township table with its XLSX, the match."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key
from api.console.web import CheckedDep, ConsoleDep, render
from api.deps import SessionDep
from services import cadres, idempotency

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN = 200


def _page(request: Request, session: SessionDep, con: Any, report: dict[str, Any] | None) -> Response:
    items = cadres.list_declarations(session, con.actor, None, SHOWN)
    table = cadres.township_table(session, con.actor)
    return render(
        request, "cadres.html", con, items=items, table=table, report=report, form_key=form_key(), shown=SHOWN
    )


@router.get("/cadres", response_class=HTMLResponse)
def cadres_page(request: Request, session: SessionDep, con: ConsoleDep) -> Response:
    """Declarations in scope (identifiers masked, audited), the township table and the match button."""
    return _page(request, session, con, None)


@router.post("/cadres/match", response_class=HTMLResponse)
def run_match(request: Request, session: SessionDep, con: CheckedDep, key: FormKey) -> Response:
    """Runs the register match once per form; a repeated form shows the first run's counts."""

    def work() -> tuple[int, dict[str, Any]]:
        report = cadres.match(session, con.actor)
        return 200, report.model_dump(mode="json") | {
            "matches": [m.model_dump(mode="json") for m in report.matches[:100]]
        }

    _, stored = idempotency.run(
        session, con.actor, "console:" + key, idempotency.request_hash("POST", "cadres.match", {}), work
    )
    return _page(request, session, con, stored)


@router.get("/cadres/table.xlsx")
def table_xlsx(session: SessionDep, con: ConsoleDep) -> Response:
    """The township statistics table (统计表) as XLSX, in the page's language."""
    data = cadres.table_xlsx(cadres.township_table(session, con.actor), con.lang)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="cadre-relatives.xlsx"'}
    )
