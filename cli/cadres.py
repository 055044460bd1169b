"""`feijian cadres import FILE | match | table`: the cadre-relatives registry (近亲属备案)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import check_target, console, settings, work
from services import cadres
from services.context import Actor

app = typer.Typer(help="近亲属备案 / cadre-relatives registry", no_args_is_help=True)
Region = Annotated[str | None, typer.Option(help="区划代码 region code (default: everywhere)")]


@app.command("import")
def import_declarations(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Imports declarations: one row per relative (干部姓名, 干部身份证号, 工作单位, 职务, 所属乡镇,
    亲属姓名, 亲属身份证号, 与干部关系)."""
    with work() as session:
        report = cadres.import_file(session, Actor.system("cli"), file.read_bytes(), file.name)
    console.print(f"{report.cadres} cadres, {report.relatives} relatives declared")
    if report.errors:
        errors = Table("行 row", "原因 reason", title=f"{len(report.errors)} refused")
        for e in report.errors:
            errors.add_row(str(e["row"]), escape(str(e["message"])))
        console.print(errors)
        raise typer.Exit(1)


@app.command("match")
def match(region: Region = None) -> None:
    """Matches declarations against the register: registers households, files undeclared-relative findings."""
    with work() as session:
        report = cadres.match(session, Actor.system("cli"), region)
    table = Table("类型 kind", "干部 cadre", "关系 relation", "低保证号 / 申请 register / application")
    for m in report.matches:
        table.add_row(
            m.kind, escape(m.cadre), escape(m.relation), m.register_no or m.application_number or ""
        )
    console.print(table)
    console.print(
        f"registered {report.newly_registered} new, undeclared {report.undeclared} "
        f"({report.new_findings} new findings), applications {report.applications}"
    )


@app.command("table")
def table(
    region: Region = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="XLSX file to write")] = None,
) -> None:
    """The township statistics table (统计表): printed, and written as XLSX with --out."""
    lang = settings().default_language
    if out is not None:
        check_target(out)
    with work() as session:
        rows = cadres.township_table(session, Actor.system("cli"), region)
    if out is not None:
        out.write_bytes(cadres.table_xlsx(rows, lang))
        console.print(f"written {out}")
    t = Table("乡镇 township", "干部", "申报亲属", "享受低保", "已备案户", "本人低保", "未申报", "申请中")
    for r in rows:
        t.add_row(
            escape(f"{r.township_name} ({r.township_code})"),
            *(
                str(v)
                for v in (
                    r.cadres,
                    r.declared_relatives,
                    r.relatives_on_dibao,
                    r.registered_households,
                    r.cadres_on_dibao,
                    r.undeclared_relatives,
                    r.relatives_applying,
                )
            ),
        )
    console.print(t)
