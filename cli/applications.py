"""`feijian applications import FILE`: applications from the register's CSV (UTF-8/GB18030) or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import console, work
from services import applications
from services.context import Actor

app = typer.Typer(help="低保申请 / applications", no_args_is_help=True)


@app.command("import")
def import_applications(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Imports applications (申请人姓名, 身份证号, 村居代码, …); prints new numbers and refused rows."""
    with work() as session:
        result = applications.import_file(session, Actor.system("cli"), file.read_bytes(), file.name)
        created = [(a.number, a.village_code) for a in result.created]
    table = Table("申请编号 number", "村居 village", title=f"{len(created)} created")
    for number, village in created:
        table.add_row(number, village)
    console.print(table)
    if result.errors:
        errors = Table("行 row", "原因 reason", title=f"{len(result.errors)} refused")
        for e in result.errors:
            # file contents are shown as text, never as console markup
            errors.add_row(str(e["row"]), escape(str(e["message"])))
        console.print(errors)
        raise typer.Exit(1)
