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
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str], update: Sequence[str]
) -> None:
    """Inserts rows, updating the given columns where the key exists.

    One statement compiled once and executed as executemany: SQLAlchemy batches it into multi-row
    INSERTs ("insertmanyvalues") without compiling a bind parameter per value in Python.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    if update:
        stmt = ins.on_conflict_do_update(index_elements=list(key), set_={c: ins.excluded[c] for c in update})
    else:
        stmt = ins.on_conflict_do_nothing(index_elements=list(key))
    session.connection().execute(stmt, list(rows))
