"""`feijian cases import FILE` (12345 / 信访 exports) and `feijian cases replies OUT.xlsx` (answers back)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, err_console, settings, work
from contracts.residents import CaseSource
from services import case_import, case_replies
from services.context import Actor

app = typer.Typer(help="案件 / complaint cases", no_args_is_help=True)


@app.command("import")
def import_orders(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    petition: Annotated[bool, typer.Option("--petition", help="a 信访 register, not 12345 orders")] = False,
) -> None:
    """Imports a 12345 work-order export (CSV in UTF-8/BOM/GBK, or XLSX); re-importing changes nothing."""
    conf = settings()
    source = CaseSource.petition if petition else CaseSource.hotline
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}"),
            console=err_console,
            transient=True,
        ) as bar,
        work() as session,
    ):
        task = bar.add_task("导入 / importing", total=None)
        result = case_import.import_file(
            session,
            conf,
            Actor.system("cli"),
            file,
            source=source,
            progress=lambda done, total: bar.update(task, completed=done, total=total or None),
        )
    summary = Table("rows", "created", "unchanged", "matched", "to confirm", "errors")
    summary.add_row(
        *(
            str(x)
            for x in (
                result.rows,
                result.created,
                result.unchanged,
                result.matched,
                result.to_confirm,
                len(result.errors),
            )
        )
    )
    console.print(summary)
    if result.unknown_columns:
        console.print("未识别的列 / columns ignored: " + "、".join(result.unknown_columns))
    if result.errors:
        errors = Table("行 row", "原因 reason")
        for e in result.errors[:200]:
            errors.add_row(str(e.row), e.message)
        console.print(errors)


@app.command("replies")
def replies(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the XLSX to write")],
    petition: Annotated[bool, typer.Option("--petition", help="信访 cases only")] = False,
    hotline: Annotated[bool, typer.Option("--hotline", help="12345 cases only")] = False,
) -> None:
    """Writes the answers to 12345 and 信访 cases (by their work-order numbers) for the back office."""
    source = CaseSource.petition if petition else CaseSource.hotline if hotline else None
    with work() as session:
        data = case_replies.export_xlsx(
            session, Actor.system("cli"), source, lang=settings().default_language
        )
    out.write_bytes(data)
    console.print(f"{out} ({len(data)} bytes)")
