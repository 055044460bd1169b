"""`feijian reviews due | import FILE`: review cadence (复核: 常补 yearly, 非常补 every six months)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import console, work
from services import reviews
from services.context import Actor
from services.rounds import local_today

app = typer.Typer(help="复核 / household reviews", no_args_is_help=True)


@app.command("due")
def due(
    region: Annotated[str | None, typer.Option(help="区划代码 region code")] = None,
    as_of: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="as of (default today)")
    ] = None,
    horizon: Annotated[int, typer.Option(min=0, max=reviews.MAX_HORIZON, help="days ahead")] = 30,
) -> None:
    """Households due for review by as_of + horizon, per township; overdue ones marked."""
    day = as_of.date() if as_of else local_today()
    with work() as session:
        result = reviews.due_list(session, Actor.system("cli"), day, horizon, region)
    for town in result.townships:
        t = Table(
            "低保证号 register",
            "户主 head",
            "类型 type",
            "上次复核 last",
            "到期 due",
            "逾期 overdue",
            title=f"{town.township_name} ({town.township_code}): {town.due} due, {town.overdue} overdue",
        )
        for d in town.items:
            t.add_row(
                d.register_no,
                escape(d.head_name),
                d.subsidy_type.value,
                d.last_review_date.isoformat() if d.last_review_date else "—",
                d.due_on.isoformat() if d.due_on else "—",
                "✗" if d.overdue else "",
            )
        console.print(t)
    if not result.townships:
        console.print(f"nothing due by {day.isoformat()} + {horizon} days")


@app.command("import")
def import_reviews(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Records reviews from a table (低保证号, 复核日期, 备注)."""
    with work() as session:
        report = reviews.import_file(session, Actor.system("cli"), file.read_bytes(), file.name)
    console.print(f"{report.recorded} reviews recorded")
    if report.errors:
        errors = Table("行 row", "原因 reason", title=f"{len(report.errors)} refused")
        for e in report.errors:
            errors.add_row(str(e["row"]), escape(str(e["message"])))
        console.print(errors)
        raise typer.Exit(1)
