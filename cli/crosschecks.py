"""`feijian crosscheck deaths|register|sources|runs|matches`: cross-checks against other registers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, settings, work
from contracts.crosschecks import DEATHS
from services import crosschecks
from services.context import Actor
from services.crosschecks import CrosscheckReport

app = typer.Typer(
    help="数据比对 / cross-checks: death records and other departments' registers", no_args_is_help=True
)
CLI = Actor.system("cli")
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
MonthOpt = Annotated[str, typer.Option("--month", help="the month the file reports, YYYY-MM")]


def _print(report: CrosscheckReport) -> None:
    lang = settings().default_language
    summary = Table(
        "run", "source", "month", "rows", "valid", "matched", "new", "findings", "ledger", "errors"
    )
    summary.add_row(
        str(report.run_id),
        report.source,
        report.period,
        *(
            str(x)
            for x in (
                report.rows,
                report.valid_rows,
                report.matched,
                report.new_matches,
                report.findings,
                report.ledger_items,
                len(report.errors),
            )
        ),
    )
    console.print(summary)
    if report.outcomes:
        console.print(", ".join(f"{k}: {v}" for k, v in sorted(report.outcomes.items())))
    if report.errors:
        errors = Table("行 row", "列 field", "原因 reason")
        for e in report.errors[:200]:
            errors.add_row(str(e.row), e.column, e.message(lang))
        console.print(errors)
        if len(report.errors) > 200:
            console.print(f"… {len(report.errors) - 200} more")


@app.command("deaths")
def deaths(file: FileArg, month: MonthOpt) -> None:
    """Matches a month's death and funeral records (CSV/XLSX, UTF-8 or GB18030) against every member."""
    with work() as session:
        report = crosschecks.import_file(session, CLI, DEATHS, file, month)
    _print(report)


@app.command("register")
def register(
    source: Annotated[str, typer.Argument(help="a rule file's source: vehicles, real_estate, ...")],
    file: FileArg,
    month: MonthOpt,
    rules_dir: Annotated[
        Path | None,
        typer.Option("--rules-dir", help="a county's rule files (else FEIJIAN_CROSSCHECK_RULES_DIR)"),
    ] = None,
) -> None:
    """Matches another department's list by its rule file; people over the threshold become leads."""
    with work() as session:
        report = crosschecks.import_file(session, CLI, source, file, month, rules_dir=rules_dir)
    _print(report)


@app.command("sources")
def sources() -> None:
    """The registers that can be checked, with their rules."""
    table = Table("source", "label", "columns", "rule")
    for s in crosschecks.sources(settings().default_language):
        table.add_row(s.source, s.label, ", ".join(s.columns), s.rule)
    console.print(table)


@app.command("runs")
def runs(
    source: Annotated[str | None, typer.Option("--source")] = None,
    month: Annotated[str | None, typer.Option("--month")] = None,
) -> None:
    """Imported files, newest first."""
    with work() as session:
        rows = crosschecks.list_runs(session, CLI, source, month)
    table = Table("run", "source", "month", "file", "rows", "matched", "new", "findings", "errors", "at")
    for r in rows:
        table.add_row(
            str(r.id),
            r.source,
            r.period,
            r.filename,
            str(r.rows),
            str(r.matched),
            str(r.new_matches),
            str(r.findings),
            str(r.error_count),
            r.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("matches")
def matches(
    source: Annotated[str | None, typer.Option("--source")] = None,
    month: Annotated[str | None, typer.Option("--month")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
) -> None:
    """Members found in the registers (masked), with the months and amounts paid after death."""
    with work() as session:
        rows = crosschecks.list_matches(session, CLI, source=source, period=month, limit=limit)
    table = Table("register_no", "village", "name", "ID", "date", "outcome", "months", "amount", "value")
    for m in rows:
        table.add_row(
            m.register_no,
            m.village_code,
            m.name_masked,
            m.id_masked,
            str(m.event_date or ""),
            m.outcome.value,
            "" if m.months is None else str(m.months),
            "" if m.amount is None else str(m.amount),
            "" if m.value is None else str(m.value),
        )
    console.print(table)
