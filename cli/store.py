"""Store commands: migrate, regions, users, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli.common import console, engine, err_console, settings, work
from contracts.users import UserCreate
from models.migrate import upgrade
from models.user import Role
from services import audit, regions, users
from services.context import Actor
from services.messages import translate

regions_app = typer.Typer(help="区划代码 / region codes", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)
users_app = typer.Typer(help="用户 / staff accounts", no_args_is_help=True)


def migrate() -> None:
    """Applies database migrations (SQLite or PostgreSQL, from FEIJIAN_DATABASE_URL)."""
    url = settings().database_url
    upgrade(url)
    console.print(f"[green]✓[/green] migrated {engine().url.render_as_string(hide_password=True)}")


@regions_app.command("load")
def regions_load(
    source: Annotated[
        Path, typer.Argument(help="region file (JSON tree or list, CSV) or a folder of level CSVs")
    ],
    edition: Annotated[str | None, typer.Option(help="edition label, e.g. 2023")] = None,
) -> None:
    """Loads or updates official region codes (codes are never deleted); the shape is sniffed from content."""
    with Progress(console=err_console, transient=True) as bar, work() as session:
        task = bar.add_task("区划 / regions", total=None)
        report = regions.load(
            session,
            Actor.system("cli"),
            source,
            edition,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    show_region_report(report, settings().default_language)


SKIP_LINES = 20
_COLUMNS = ("level", "added", "renamed", "unchanged", "skipped", "reasons")


def show_region_report(report: regions.LoadReport, lang: str) -> None:
    """The per-level table of a region load, its notes, and the first records it skipped."""

    def t(code: str, **params: object) -> str:
        return translate(code, lang, **params)

    shape = t(f"region_shape_{report.shape}")
    table = Table(*(t(f"region_report_{c}") for c in _COLUMNS), title=t("region_report_title", shape=shape))
    for level, c in report.levels.items():
        skipped = sum(c.skipped.values())
        reasons = "\n".join(f"{t(r)} ×{n}" for r, n in c.skipped.items())
        counts = (str(n) for n in (c.added, c.renamed, c.unchanged, skipped))
        table.add_row(t(f"region_level_{level}"), *counts, reasons)
    console.print(table)
    notes = [t(n) for n in report.notes]
    if report.placeholders:
        notes.append(t("region_note_placeholder", codes=", ".join(report.placeholders)))
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]", highlight=False)
    shown = report.skips[:SKIP_LINES]
    if shown:
        console.print(t("region_report_details", count=len(shown)))
    for skip in shown:
        line = f"  {skip.where}  {skip.code or '-'} {skip.name[:20]}  {t(skip.reason, **skip.params)}"
        console.print(line, highlight=False, markup=False)
    totals = {"added": report.added, "renamed": report.renamed, "unchanged": report.unchanged}
    console.print(t("region_report_total", total=report.total, skipped=report.skipped, **totals))


@users_app.command("create")
def users_create(
    login: str,
    name: str,
    role: Role,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    township: Annotated[str | None, typer.Option(help="home township code (9 digits)")] = None,
    scope: Annotated[str | None, typer.Option(help="region scope code")] = None,
) -> None:
    """Creates a staff account."""
    data = UserCreate(
        login=login, name=name, role=role, password=password, home_township_code=township, scope_code=scope
    )
    with work() as session:
        user = users.create_user(session, Actor.system("cli"), data)
    console.print(f"[green]✓[/green] {user.login} ({user.role})")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walks the audit chain and names the first tampered event."""
    lang = settings().default_language
    with work() as session:
        report = audit.verify_chain(session)
    if report.ok:
        console.print(f"[green]✓[/green] {translate('audit_ok', lang, count=report.count)}")
        return
    err_console.print(
        f"[red]✗ {translate('audit_broken', lang, seq=report.first_bad_seq, reason=report.reason)}[/red]"
    )
    raise typer.Exit(1)
