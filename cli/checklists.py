"""`feijian checklists ...`: import an XLSForm as a checklist, lint definitions, list what ships."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from checklists import dump_checklist_yaml, lint_paths, list_checklists, parse_checklist
from checklists.registry import DEFINITIONS_DIR
from checklists.xlsform import XLSFormRefused, import_xlsform

app = typer.Typer(help="Checklists: import ODK XLSForms, lint definitions, list shipped checklists.")
console = Console()
err_console = Console(stderr=True)


@app.callback()
def checklists() -> None:
    """Checklists: import ODK XLSForms, lint definitions, list shipped checklists."""


@app.command("import")
def import_(
    form: Annotated[
        Path, typer.Argument(help="XLSForm file (.xlsx, .xls, .csv or .md)", exists=True, dir_okay=False)
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the checklist YAML here")] = None,
    checklist_id: Annotated[str | None, typer.Option("--id", help="Checklist id (default: form_id)")] = None,
    version: Annotated[int | None, typer.Option("--version", min=1, help="Checklist version")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole form if any row cannot be carried over")
    ] = False,
    media: Annotated[
        Path | None,
        typer.Option("--media", help="Folder with the form's media files (choice lists for *_from_file)"),
    ] = None,
) -> None:
    """Import an XLSForm; what cannot be carried over is left out and listed by row (--strict: refuse)."""
    try:
        result = import_xlsform(
            form, checklist_id=checklist_id, version=version, strict=strict, media_dir=media
        )
    except XLSFormRefused as refused:
        # One line per problem (not a table) so CI logs and grep keep each problem whole.
        err_console.print(f"[bold red]{form.name}: refused, {len(refused.problems)} problem(s)[/bold red]")
        for p in refused.problems:
            err_console.print(f"[red]✗[/red] {rich_escape(str(p))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    cl = result.checklist
    text = dump_checklist_yaml(cl)
    for n in result.notes:
        err_console.print(f"[yellow]note[/yellow] {rich_escape(str(n))}", highlight=False, soft_wrap=True)
    for d in result.dropped:
        err_console.print(f"[yellow]warning[/yellow] {rich_escape(str(d))}", highlight=False, soft_wrap=True)
    if out is None:
        console.print(text, markup=False, highlight=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
            # Re-read what was written so a file that would not load is never left behind unnoticed.
            parse_checklist(yaml.safe_load(out.read_text(encoding="utf-8")))
        except OSError as err:
            err_console.print(
                f"[red]cannot write {rich_escape(str(out))}: {rich_escape(err.strerror or str(err))}[/red]"
            )
            raise typer.Exit(code=1) from None
    where = f" → {out}" if out is not None else ""
    err_console.print(f"[green]imported[/green] {rich_escape(result.summary())}{where}", highlight=False)


@app.command("check")
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Definition files or directories (default: shipped definitions)"),
    ] = None,
) -> None:
    """Lint checklist definitions; exit 1 and name every problem found."""
    targets = paths or [DEFINITIONS_DIR]
    loaded, problems = lint_paths(targets)
    if problems:
        err_console.print(f"[bold red]{len(problems)} problem(s)[/bold red]")
        for p in problems:
            err_console.print(f"[red]✗[/red] {rich_escape(str(p))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    if not loaded:
        err_console.print("[red]no checklist definitions found[/red]")
        raise typer.Exit(code=1)
    for cl in loaded:
        console.print(f"[green]ok[/green] {cl.key} {cl.title.zh_CN} / {cl.title.en}: {len(cl.steps)} steps")


@app.command("list")
def list_() -> None:
    """List the shipped checklists (latest versions)."""
    table = Table()
    for col in ("id", "version", "标题", "title"):
        table.add_column(col)
    for info in list_checklists():
        table.add_row(info.id, str(info.version), info.title_zh, info.title_en)
    console.print(table)
