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
    source: Annotated[Path, typer.Argument(help="level CSV folder, one CSV, or a nested JSON tree")],
    edition: Annotated[str | None, typer.Option(help="edition label, e.g. 2023")] = None,
) -> None:
    """Loads or updates official region codes (codes are never deleted)."""
    with Progress(console=err_console, transient=True) as bar, work() as session:
        task = bar.add_task("区划 / regions", total=None)
        report = regions.load(
            session,
            Actor.system("cli"),
            source,
            edition,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    table = Table("level", "codes")
    for level, count in report.by_level.items():
        table.add_row(level, str(count))
    console.print(table)
    console.print(f"added {report.added}, renamed {report.renamed}, skipped {len(report.skipped)}")


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
