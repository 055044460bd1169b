"""What every CLI command shares: settings, the engine, one unit of work, errors as clear lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlmodel import Session

from models.db import make_engine, unit_of_work
from services import audit
from services.config import Settings, SettingsError, get_settings
from services.errors import DomainError

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    """The settings, or a clear error line and exit code 2."""
    try:
        return get_settings()
    except (ValueError, SettingsError) as exc:
        err_console.print(f"[red]配置错误 / settings error:[/red] {exc}")
        raise typer.Exit(2) from exc


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The store's engine for this process."""
    return make_engine(settings().database_url)


@contextmanager
def work() -> Iterator[Session]:
    """A unit of work that turns domain and settings errors into one red line and exit code 1.

    A refused attempt is audited as from the API: after the rollback, in a transaction of its own.
    """
    try:
        with unit_of_work(engine()) as session:
            yield session
    except DomainError as exc:
        audit.keep_refusal(lambda: unit_of_work(engine()), exc)
        err_console.print(f"[red]{exc.message(settings().default_language)}[/red]")
        raise typer.Exit(1) from exc
    except SettingsError as exc:
        err_console.print(f"[red]配置错误 / settings error:[/red] {exc}")
        raise typer.Exit(2) from exc


def check_target(out: Path) -> None:
    """Refuses, before any work, an output file whose folder does not exist or that is a folder (exit 2)."""
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir() or not parent.is_dir():
        err_console.print(
            f"[red]无法写入 / cannot write {escape(str(out))}: "
            "目录不存在或目标是目录 / no such folder, or the target is a folder[/red]"
        )
        raise typer.Exit(2)


def fail(message: str, code: int = 1) -> None:
    """Prints an error line and exits."""
    err_console.print(f"[red]{message}[/red]")
    sys.exit(code)
