"""`feijian serve` and `feijian demo`: the API, and the whole product on the embedded default."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import Engine

from cli.common import console, err_console
from services.config import Settings, SettingsError, ensure_demo_keys, get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="uvicorn worker processes (more than 1 needs PostgreSQL)")
    ] = 1,
    worker_timeout: Annotated[
        int,
        typer.Option(
            min=5,
            max=600,
            help="seconds a worker may take to answer its supervisor (start-up too) before it is replaced",
        ),
    ] = 30,
) -> None:
    """Serves the API (refuses to start without FEIJIAN_SECRET_KEY and FEIJIAN_PII_KEY)."""
    try:
        settings = get_settings()
        settings.validate_for_serving()
        check_workers(settings, workers)
    except (SettingsError, ValueError) as exc:
        err_console.print(f"[red]无法启动 / cannot start:[/red] {exc}")
        raise typer.Exit(2) from exc
    if settings.media_key is None:
        err_console.print(
            "[yellow]FEIJIAN_MEDIA_KEY 未设置：证据原图将以明文保存 / "
            "FEIJIAN_MEDIA_KEY is not set: evidence originals are stored unencrypted[/yellow]"
        )
    uvicorn.run(
        "api.asgi:app",
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        # uvicorn's 5 s default replaces a worker still importing the app on a busy machine, again
        # and again; a slow start is not a hung worker.
        timeout_worker_healthcheck=worker_timeout,
        log_level="info",
    )


def check_workers(settings: Settings, workers: int) -> None:
    """Several worker processes share the store only on PostgreSQL (SQLite is one process's file)."""
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        raise SettingsError(
            f"--workers {workers} needs PostgreSQL (FEIJIAN_DATABASE_URL=postgresql://...); "
            "SQLite is served by one process: use --workers 1"
        )


def demo(
    seed: Annotated[int, typer.Option(help="seed of the generated county")] = 20261122,
    households: Annotated[int, typer.Option(min=10, max=200_000)] = 5000,
    inspectors: Annotated[int, typer.Option(min=2, max=500)] = 40,
    port: Annotated[int, typer.Option()] = 8000,
    sandbox_port: Annotated[
        int, typer.Option(help="port of the local Bot API sandbox and its /chat page")
    ] = 8081,
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
    from services import round_dispatch
    from services.rounds import local_today

    if report.already_seeded:
        console.print("[dim]store already seeded; reusing ./var (delete ./var to start over)[/dim]")
        with unit_of_work(engine) as session:
            round_dispatch.release_due(session)
    else:
        console.print(f"[green]✓[/green] {report.villages} villages, {report.households} households")
        from services import demo_ledger

        with unit_of_work(engine) as session:
            earlier = demo_ledger.seed_ledger(session, settings, local_today(settings))
        states = ", ".join(f"{k} {v}" for k, v in earlier.states.items())
        console.print(f"[green]✓[/green] {earlier.round_name}: {earlier.items} ledger items ({states})")
        from services import demo_crosschecks
        from services.config import VAR_DIR

        with unit_of_work(engine) as session:
            deaths = demo_crosschecks.seed(session, local_today(settings), VAR_DIR / "demo")
        console.print(
            f"[green]✓[/green] 殡葬死亡数据比对 / death records {deaths.month}: {deaths.matched} matches, "
            f"{deaths.ledger_items} ledger items ({deaths.path})"
        )
        with unit_of_work(engine) as session:
            demo_round = demo_service.seed_round(session, local_today(settings))
        tasks = Table(
            "inspector", "tasks today", title=f"{demo_round.name}: {demo_round.sample} households drawn"
        )
        for login, n in list(demo_round.released_today.items())[:6]:
            tasks.add_row(login, str(n))
        console.print(tasks)
        # cadre-relatives registry (近亲属备案): a few declarations per township, then the match
        from services import demo_cadres

        with unit_of_work(engine) as session:
            declared = demo_cadres.seed(session)
        if declared is not None:
            console.print(
                f"[green]✓[/green] {declared.cadres} cadre declarations: {declared.registered} households "
                f"registered, {declared.undeclared} undeclared relatives found"
            )
    with unit_of_work(engine) as session:
        from services import demo_residents

        sample = demo_residents.seed(session, local_today(settings))
    if sample is not None:
        console.print(
            f"[bold]Status[/bold]   http://127.0.0.1:{port}/status  申请编号 / number {sample.number}  "
            f"身份证号 / ID {sample.id_number}  姓名 / name {sample.name}"
        )
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
    with unit_of_work(engine) as session:
        officers = [u.login for u in demo_service.existing_logins(session) if u.role == "officer"]
    console.print(
        f"… officers {', '.join(officers)} (password feijian-offN); the ledger: feijian ledger list"
    )
    staff = ", ".join(f"{lg.login} / {lg.password}" for lg in report.logins if lg.role != "inspector")
    console.print(f"Console  http://127.0.0.1:{port}/console/   督查台登录 / sign in: {staff}")
    if no_serve:
        return
    logins = [lg.login for lg in shown if lg.role != "admin"] + officers
    _run_demo_services(engine, settings, port, sandbox_port, logins)


def _run_demo_services(
    engine: Engine, settings: Settings, port: int, sandbox_port: int, logins: list[str]
) -> None:
    """Serves the API, the Bot API sandbox and the bot together until Ctrl-C."""
    from bot.runner import BotThread
    from bot.settings import BotSettings
    from models.db import unit_of_work
    from sandbox.runner import SandboxServer
    from services import demo as demo_service
    from services import telegram
    from services.context import Actor
    from services.rounds import local_today

    api = uvicorn.Server(uvicorn.Config("api.asgi:app", host="127.0.0.1", port=port, log_level="warning"))
    api_thread = threading.Thread(target=api.run, name="feijian-api", daemon=True)
    api_thread.start()
    # Its numbering and chats live next to the bot's state, so a restarted demo answers at once.
    sandbox = SandboxServer(port=sandbox_port, state_file=str(Path("var") / "sandbox.sqlite")).start()
    with unit_of_work(engine) as session:
        token, _ = telegram.issue_bot_token(session, Actor.system("demo"))
        codes = demo_service.demo_invites(session, logins)
        places = demo_service.training_places(session, local_today(settings))
    from sandbox.client import SandboxClient

    SandboxClient(sandbox.url).set_places(places)
    bot = BotThread(
        BotSettings(
            telegram_api_url=sandbox.bot_base_url,
            telegram_file_url=sandbox.bot_base_file_url,
            store_url=f"http://127.0.0.1:{port}",
            store_token=token,
        )
    ).start()
    invites = Table("login", "send in the chat", title="邀请码 / invite codes (one-time, 72 h)")
    for login, code in codes.items():
        invites.add_row(login, f"/start {code}")
    console.print(invites)
    console.print(
        f"[bold]Chat[/bold]     {sandbox.url}/chat\n"
        "         打开后新建一个用户，发送上面的 /start 邀请码，再发 /tasks\n"
        f"         open it, create a user, send an invite, then /tasks ({len(places)} households today)\n"
        "Ctrl-C stops API, sandbox and bot."
    )
    try:
        while api_thread.is_alive():
            api_thread.join(0.5)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        bot.stop()
        sandbox.stop()
        api.should_exit = True
        api_thread.join(5)
