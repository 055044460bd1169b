"""`feijian serve` and `feijian demo`: the API, and the whole product on the embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, err_console
from services.config import SettingsError, ensure_demo_keys, get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serves the API (refuses to start without FEIJIAN_SECRET_KEY and FEIJIAN_PII_KEY)."""
    try:
        settings = get_settings()
        settings.validate_for_serving()
    except (SettingsError, ValueError) as exc:
        err_console.print(f"[red]无法启动 / cannot start:[/red] {exc}")
        raise typer.Exit(2) from exc
    uvicorn.run(
        "api.asgi:app",
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level="info",
    )


def demo(
    seed: Annotated[int, typer.Option(help="seed of the generated county")] = 20261122,
    households: Annotated[int, typer.Option(min=10, max=200_000)] = 5000,
    inspectors: Annotated[int, typer.Option(min=2, max=500)] = 40,
    port: Annotated[int, typer.Option()] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="seed, print, and exit")] = False,
) -> None:
    """Runs Feijian on SQLite in ./var with a seeded demo county (巴林左旗) and serves it."""
    var = Path("var")
    for name, value in ensure_demo_keys(var).items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("FEIJIAN_ENV", "demo")
    get_settings.cache_clear()
    settings = get_settings()
    from models.db import make_engine, unit_of_work
    from models.migrate import upgrade
    from services import demo as demo_service

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("生成示范县 / seeding demo county", total=households)
        with unit_of_work(engine) as session:
            report = demo_service.seed(
                session,
                households,
                inspectors,
                seed,
                progress=lambda done, total: bar.update(task, completed=min(done, households)),
            )
    from services import rounds
    from services.rounds import local_today

    if report.already_seeded:
        console.print("[dim]store already seeded; reusing ./var (delete ./var to start over)[/dim]")
        with unit_of_work(engine) as session:
            rounds.release_due(session)
    else:
        console.print(f"[green]✓[/green] {report.villages} villages, {report.households} households")
        with unit_of_work(engine) as session:
            demo_round = demo_service.seed_round(session, local_today(settings))
        tasks = Table(
            "inspector", "tasks today", title=f"{demo_round.name}: {demo_round.sample} households drawn"
        )
        for login, n in list(demo_round.released_today.items())[:6]:
            tasks.add_row(login, str(n))
        console.print(tasks)
    table = Table("role", "login", "password", "name", title="演示账号 / demo logins (local only)")
    shown = [lg for lg in report.logins if lg.role != "inspector"] + [
        lg for lg in report.logins if lg.role == "inspector"
    ][:4]
    for lg in shown:
        table.add_row(lg.role, lg.login, lg.password, lg.name)
    console.print(table)
    inspectors_total = sum(1 for lg in report.logins if lg.role == "inspector")
    console.print(f"… and insp01–insp{inspectors_total:02d} (password feijian-inspNN)")
    console.print(f"API      http://127.0.0.1:{port}/api/v1   docs http://127.0.0.1:{port}/docs")
    if no_serve:
        return
    uvicorn.run("api.asgi:app", host="127.0.0.1", port=port, log_level="warning")
