"""`feijian ledger list|show`: the rectification ledger (整改台账) from the command line."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlmodel import Session, select

from cli.common import check_target, console, err_console, work
from contracts.ledger import LedgerItemOut, LedgerRoute, LedgerState
from contracts.vocab import Severity
from models.ledger import LedgerItem
from services import ledger_export, ledger_notice, ledger_queries, ledger_summary
from services.context import Actor
from services.errors import NotFound

app = typer.Typer(
    help="整改台账 / rectification ledger: list, show, export, notices, summary", no_args_is_help=True
)

CLI = Actor.system("cli")


def _row(i: LedgerItemOut) -> list[str]:
    deadline = f"[red]{i.deadline} ⚠[/red]" if i.overdue else str(i.deadline)
    money = f"{i.money_recovered}/{i.money_to_recover}" if i.money_to_recover else ""
    return [
        str(i.number),
        i.register_no,
        i.village_code,
        i.category.value,
        i.severity.value,
        i.route.value,
        i.state.value,
        deadline,
        money,
        str(i.id),
    ]


@app.command("list")
def list_items(
    region: Annotated[str | None, typer.Option(help="region code: its whole subtree")] = None,
    state: Annotated[LedgerState | None, typer.Option(help="item state")] = None,
    route: Annotated[LedgerRoute | None, typer.Option(help="handling route")] = None,
    severity: Annotated[Severity | None, typer.Option(help="severity")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="only (not) overdue")
    ] = None,
    round_id: Annotated[str | None, typer.Option("--round", help="round id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next page (printed under the table)")] = None,
) -> None:
    """Items earliest deadline first (overdue ones in red)."""
    flt = ledger_queries.LedgerFilter(region, state, route, severity, overdue, None, _round(round_id))
    with work() as session:
        items, next_cursor = ledger_queries.list_items(session, CLI, flt, limit, cursor)
    table = Table(title=f"整改台账 ledger ({len(items)})")
    for name in ("序号 No.", "户号 register", "村 village", "类别 category", "严重 severity"):
        table.add_column(name)
    for name in ("方式 route", "状态 state", "时限 deadline", "追回 recovered", "id"):
        table.add_column(name)
    for i in items:
        table.add_row(*_row(i))
    console.print(table)
    if next_cursor:
        console.print(f"next page: --cursor {next_cursor}")


def _resolve(session: Session, ref: str) -> uuid.UUID:
    if ref.isdigit():
        item = session.exec(select(LedgerItem).where(LedgerItem.number == int(ref))).first()
        if item is None:
            raise NotFound(entity="台账事项 ledger item")
        return item.id
    try:
        return uuid.UUID(ref)
    except ValueError as exc:
        raise NotFound(entity="台账事项 ledger item") from exc


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="item number (序号) or id")]) -> None:
    """One item with its findings and history."""
    with work() as session:
        d = ledger_queries.detail(session, CLI, _resolve(session, ref))
    mark = " [red]逾期 overdue[/red]" if d.overdue else ""
    console.print(f"[bold]#{d.number}[/bold] {d.register_no} {d.head_name} · {d.village_code}  {d.id}")
    console.print(
        f"  {d.category.value} · {d.severity.value} · {d.route.value} · [cyan]{d.state.value}[/cyan]{mark}"
    )
    console.print(
        f"  deadline {d.deadline} · responsible {d.responsible_region_code} {d.responsible_user_id or '-'}"
    )
    if d.measures:
        console.print(f"  measures {d.measures}")
    for m in d.milestones:
        console.print(f"  {'✓' if m.get('done') else '·'} {m.get('due')} {m.get('title')}")
    if d.money_to_recover:
        console.print(
            f"  money recovered {d.money_recovered} of {d.money_to_recover} ({d.months or 0} months)"
        )
    table = Table(title="history")
    for name in ("at", "actor", "action", "from", "to", "note", "evidence"):
        table.add_column(name)
    for h in d.history:
        table.add_row(
            f"{h.at:%Y-%m-%d %H:%M}",
            h.actor,
            h.action,
            h.from_state.value if h.from_state else "",
            h.to_state.value if h.to_state else "",
            h.note or "",
            str(len(h.evidence_ids)),
        )
    console.print(table)


def _round(round_id: str | None) -> uuid.UUID | None:
    """The --round option as a UUID; anything else is a clear error line (exit 2), not a traceback."""
    if not round_id:
        return None
    try:
        return uuid.UUID(round_id)
    except ValueError:
        err_console.print(f"[red]--round: 不是有效的轮次编号 / not a round id: {escape(round_id[:60])}[/red]")
        raise typer.Exit(2) from None


def _filter(
    region: str | None,
    state: LedgerState | None,
    route: LedgerRoute | None,
    severity: Severity | None,
    overdue: bool | None,
    round_id: str | None,
) -> ledger_queries.LedgerFilter:
    return ledger_queries.LedgerFilter(region, state, route, severity, overdue, None, _round(round_id))


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("-o", "--out", help="the .xlsx file to write")],
    region: Annotated[str | None, typer.Option(help="region code: its whole subtree")] = None,
    state: Annotated[LedgerState | None, typer.Option(help="item state")] = None,
    route: Annotated[LedgerRoute | None, typer.Option(help="handling route")] = None,
    severity: Annotated[Severity | None, typer.Option(help="severity")] = None,
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="only (not) overdue")
    ] = None,
    round_id: Annotated[str | None, typer.Option("--round", help="round id")] = None,
    lang: Annotated[str | None, typer.Option(help="zh-CN (default) or en")] = None,
) -> None:
    """The ledger as XLSX in the county layout (same filters as `list`), with a progress bar."""
    flt = _filter(region, state, route, severity, overdue, round_id)
    check_target(out)
    with work() as session:
        total = ledger_export.count_items(session, CLI, flt)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("整改台账 export", total=total)
            n = ledger_export.export_xlsx(
                session, CLI, flt, str(out), lang=lang, on_progress=lambda k: progress.advance(task, k)
            )
    console.print(f"{n} 条 items → {out}")


@app.command("notice")
def notice(
    unit: Annotated[str, typer.Option(help="responsible unit: township or village code")],
    out: Annotated[Path, typer.Option("-o", "--out", help="out.pdf or out.docx")],
    round_id: Annotated[str | None, typer.Option("--round", help="round id")] = None,
    lang: Annotated[str | None, typer.Option(help="zh-CN (default) or en")] = None,
) -> None:
    """The rectification notice (整改通知书) to one unit: PDF or DOCX by the file's suffix."""
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".docx"):
        err_console.print("[red]-o 须以 .pdf 或 .docx 结尾 / the file must end in .pdf or .docx[/red]")
        raise typer.Exit(2)
    check_target(out)
    round_uuid = _round(round_id)
    with work() as session:
        data = ledger_notice.gather(session, CLI, unit, round_uuid, lang=lang)
        (ledger_notice.write_pdf if suffix == ".pdf" else ledger_notice.write_docx)(data, str(out))
    console.print(f"{data.unit_name}: {len(data.items)} 条 items → {out}")


@app.command("summary")
def summary(
    round_id: Annotated[str | None, typer.Option("--round", help="round id")] = None,
    region: Annotated[str | None, typer.Option(help="region code: its whole subtree")] = None,
) -> None:
    """Findings by category, items by state, overdue, money to recover and recovered."""
    with work() as session:
        s = ledger_summary.summary(session, CLI, _round(round_id), region)
    table = Table(title="整改台账汇总 ledger summary")
    table.add_column("项目 what")
    table.add_column("数量 count", justify="right")
    for cat, n in sorted(s.findings_by_category.items()):
        table.add_row(f"问题 findings · {cat.value}", str(n))
    for state, n in sorted(s.items_by_state.items()):
        table.add_row(f"事项 items · {state.value}", str(n))
    table.add_row("事项合计 items total", str(s.items_total))
    table.add_row("[red]逾期 overdue[/red]", str(s.overdue))
    table.add_row("应追回 money to recover", str(s.money_to_recover))
    table.add_row("已追回 money recovered", str(s.money_recovered))
    console.print(table)
