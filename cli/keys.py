"""Key commands: fresh keys, and rotating the personal-data key (`keys rotate`, `keys status`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli.common import console, engine, err_console, settings, work
from models.db import unit_of_work
from services import key_rotation
from services.cipher import keyring_from
from services.config import SettingsError, new_key
from services.context import Actor
from services.pii import PiiError, PiiKeyring

app = typer.Typer(help="密钥 / keys: new keys, personal-data key rotation")


@app.callback(invoke_without_command=True)
def keys(ctx: typer.Context) -> None:
    """Prints fresh keys for FEIJIAN_SECRET_KEY, FEIJIAN_PII_KEY and FEIJIAN_MEDIA_KEY (with no
    sub-command)."""
    if ctx.invoked_subcommand is None:
        console.print(
            f"FEIJIAN_SECRET_KEY={new_key()}\nFEIJIAN_PII_KEY={new_key()}\nFEIJIAN_MEDIA_KEY={new_key()}",
            highlight=False,
        )


def _keyring() -> PiiKeyring:
    try:
        return keyring_from(settings())
    except SettingsError as exc:
        err_console.print(f"[red]配置错误 / settings error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _print_status(st: key_rotation.KeyStatus) -> None:
    console.print(f"current key id {st.key_id}; old key ids: {', '.join(st.old_key_ids) or '—'}")
    table = Table("table", "rows under old keys")
    for name, count in st.remaining.items():
        table.add_row(name, str(count))
    console.print(table)
    for login, n in st.unmatched_relatives.items():
        console.print(
            f"[yellow]{login}: {n} declared relative(s) not in the register cannot be re-keyed — "
            "declare them again, or rotate with --drop-unmatched-relatives[/yellow]"
        )


@app.command("status")
def keys_status() -> None:
    """How many rows remain under old keys (0 everywhere: FEIJIAN_PII_OLD_KEYS can be removed)."""
    keyring = _keyring()
    try:
        with work() as session:
            st = key_rotation.status(session, keyring)
    except PiiError as exc:
        err_console.print(f"[red]密钥错误 / key error:[/red] {exc}")
        raise typer.Exit(1) from exc
    _print_status(st)
    if st.total == 0:
        console.print("[green]✓[/green] 轮换完成 / rotation complete: FEIJIAN_PII_OLD_KEYS can be removed")


@app.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="rows per committed batch")] = 1000,
    drop_unmatched_relatives: Annotated[
        bool, typer.Option(help="forget declared relatives that name nobody in the register")
    ] = False,
) -> None:
    """Re-encrypts every personal identifier under FEIJIAN_PII_KEY (resumable; old keys read)."""
    keyring = _keyring()
    eng = engine()
    try:
        with work() as session:
            before = key_rotation.status(session, keyring)
    except PiiError as exc:
        err_console.print(f"[red]密钥错误 / key error:[/red] {exc}")
        raise typer.Exit(1) from exc
    try:
        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task("轮换 / rotating", total=before.total or None)
            report = key_rotation.rotate(
                lambda: unit_of_work(eng),
                Actor.system("cli"),
                keyring,
                batch_size=batch_size,
                progress=lambda _table, n: bar.advance(task, n),
                drop_unmatched=drop_unmatched_relatives,
            )
    except (key_rotation.RotationError, PiiError) as exc:
        err_console.print(
            f"[red]密钥错误 / key error:[/red] {exc}\n"
            "finished batches are kept; set the missing key in FEIJIAN_PII_OLD_KEYS and run again"
        )
        raise typer.Exit(1) from exc
    for name, count in report.rotated.items():
        console.print(f"{name}: {count} re-encrypted")
    if report.dropped_relatives:
        console.print(f"dropped {report.dropped_relatives} declared relative(s) not in the register")
    with work() as session:
        after = key_rotation.status(session, keyring)
    _print_status(after)
    if after.total == 0:
        console.print("[green]✓[/green] 轮换完成 / rotation complete: FEIJIAN_PII_OLD_KEYS can be removed")
    else:
        raise typer.Exit(1)
