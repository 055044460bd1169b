"""The duplicate guard's shortcut: only updates an earlier process could have handled go to the database."""

from __future__ import annotations

from pathlib import Path

from bot.app import DuplicateGuard
from bot.db import BotDB


def test_fresh_only_above_the_mark_and_once(tmp_path: Path) -> None:
    db = BotDB(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    with db.tx() as conn:
        db.record_update(conn, 41, 7)
    guard = DuplicateGuard(db)
    assert not guard.fresh(41)  # handled by an earlier process: the database decides
    assert not guard.fresh(40)
    assert guard.fresh(42)
    assert not guard.fresh(42)  # delivered again in this process: the database decides


def test_forgetting_raises_the_mark(tmp_path: Path) -> None:
    guard = DuplicateGuard(BotDB(f"sqlite:///{tmp_path / 'bot.sqlite'}"))
    guard.KEEP = 3
    assert all(guard.fresh(i) for i in (1, 2, 3, 4))
    assert guard.floor == 4 and not guard.delivered
    assert not guard.fresh(2) and not guard.fresh(4) and guard.fresh(5)
