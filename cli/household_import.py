"""`feijian import households FILE`: the register import with a progress bar and a row report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, err_console, settings, work
from services import household_import
from services.context import Actor
from services.messages import translate

app = typer.Typer(help="导入 / imports", no_args_is_help=True)


@app.command("households")
def households(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and report; write nothing")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="write the valid rows, report the rest")
    ] = False,
) -> None:
    """Imports a household register (CSV in UTF-8/BOM/GB18030, or XLSX), upserting by register number."""
    lang = settings().default_language
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
        report = household_import.import_file(
            session,
            Actor.system("cli"),
            file,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            progress=lambda done, total: bar.update(task, completed=done, total=total or None),
        )
    summary = Table("rows", "valid", "households", "new", "updated", "members", "errors", "written")
    summary.add_row(
        *(
            str(x)
            for x in (
                report.rows,
                report.valid_rows,
                report.households,
                report.created,
                report.updated,
                report.members,
                report.error_count,
                report.written,
            )
        )
    )
    console.print(summary)
    if report.errors:
        errors = Table("行 row", "列 field", "原因 reason")
        for e in report.errors[:200]:
            errors.add_row(str(e.row), e.column, e.message(lang))
        console.print(errors)
        if len(report.errors) > 200:
            console.print(f"… {len(report.errors) - 200} more")
    if report.errors and not skip_invalid and not dry_run:
        err_console.print(f"[red]{translate('import_invalid_rows', lang, count=report.error_count)}[/red]")
        raise typer.Exit(1)
