"""Engine and session factory for SQLite (WAL, foreign keys) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session


def make_engine(url: str, **kw: Any) -> Engine:
    """Creates an engine with the pragmas and pool settings each database needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)
        _sqlite_setup(engine)
        return engine
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)


def _sqlite_setup(engine: Engine) -> None:
    """WAL and foreign keys on every connection; explicit BEGIN (IMMEDIATE) so SAVEPOINTs work (pysqlite)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads, then writes
        # after another connection committed, fails at once with "database is locked" (the busy
        # timeout does not apply to that upgrade). Nearly every request writes (audit events), so
        # only connections marked read-only (health checks) begin deferred.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def is_postgres(engine_or_session: Engine | Session) -> bool:
    """Whether the bound database is PostgreSQL."""
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
