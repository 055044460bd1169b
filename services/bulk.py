"""Portable bulk upsert (INSERT .. ON CONFLICT) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
    chunk: int = 2000,
) -> None:
    """Inserts rows, updating the given columns where the key already exists; one statement per chunk."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    # SQLite caps bound parameters (32766); keep each statement below it
    per_row = max(len(rows[0]), 1)
    chunk = min(chunk, max(1, 30000 // per_row))
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(list(part))
        if update:
            stmt = ins.on_conflict_do_update(
                index_elements=list(key), set_={c: getattr(ins.excluded, c) for c in update}
            )
        else:
            stmt = ins.on_conflict_do_nothing(index_elements=list(key))
        session.execute(stmt)
