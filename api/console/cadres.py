"""Console cadre-relatives registry: declarations (masked), the township table with its XLSX, the match,
and a declaration typed in (the cadre and up to five near relatives) through the same service."""

from __future__ import annotations

from itertools import zip_longest
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.console.rounds import FormKey, form_key, once
from api.console.web import PREFIX, CheckedDep, ConsoleDep, render
from api.deps import SessionDep
from services import cadres, idempotency

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN = 200
RELATIVE_ROWS = 5  # relatives typed in at once; a longer declaration comes by import or the API
Text = Annotated[str, Form(max_length=200)]


def _page(request: Request, session: SessionDep, con: Any, report: dict[str, Any] | None) -> Response:
    items = cadres.list_declarations(session, con.actor, None, SHOWN)
    table = cadres.township_table(session, con.actor)
    return render(
        request,
        "cadres.html",
        con,
        items=items,
        table=table,
        report=report,
        form_key=form_key(),
        shown=SHOWN,
        townships=cadres.township_choices(session, con.actor),
        relative_rows=RELATIVE_ROWS,
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


@router.post("/cadres/declare")
async def declare(
    request: Request,
    session: SessionDep,
    con: CheckedDep,
    key: FormKey,
    name: Text = "",
    id_number: Text = "",
    unit: Text = "",
    post: Text = "",
    township_code: Text = "",
) -> Response:
    """Stores a declaration typed in (it replaces the cadre's last one), once per form; a refusal is
    the 422 page with the service's message."""
    form = await request.form()
    columns = [form.getlist(f)[:RELATIVE_ROWS] for f in ("rel_name", "rel_id", "rel_relation")]
    relatives = [
        {"name": str(n)[:200], "id_number": str(i)[:200], "relation": str(r)[:200]}
        for n, i, r in zip_longest(*columns, fillvalue="")
    ]
    fields = {
        "name": name,
        "id_number": id_number,
        "unit": unit,
        "post": post,
        "township_code": township_code,
    }

    def work() -> str:
        cadres.declare_entered(session, con.actor, fields, relatives)
        return f"{PREFIX}/cadres"

    return once(session, con, key, "cadres.declare", work)


@router.get("/cadres/table.xlsx")
def table_xlsx(session: SessionDep, con: ConsoleDep) -> Response:
    """The township statistics table (统计表) as XLSX, in the page's language."""
    data = cadres.table_xlsx(cadres.township_table(session, con.actor), con.lang)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="cadre-relatives.xlsx"'}
    )
