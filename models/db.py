"""Engine and session factory for SQLite (WAL, foreign keys) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
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
    # A pooled connection the server dropped (restart, failover, terminated backend) is replaced at
    # checkout instead of failing the next request.
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)


# SQLite's answers when another writer still holds the lock after the busy timeout.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def connection_lost(exc: BaseException) -> bool:
    """Whether a database error broke the connection itself (server shutdown, network, terminated backend)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error is a passing unavailability a client should retry (not a bug, not bad input).

    That is a lost connection, any PostgreSQL operational error (admin shutdown, cannot connect,
    too many connections, serialization or deadlock rollback, statement timeout) and SQLite's
    "database is locked" after its busy timeout.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if connection_lost(exc) or isinstance(exc.orig, psycopg.OperationalError):
        return True
    orig = exc.orig
    return isinstance(orig, sqlite3.OperationalError) and str(orig).strip().lower().startswith(_SQLITE_BUSY)


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


def try_xact_lock(session: Session, key: int) -> bool:
    """Takes a PostgreSQL advisory lock held until the session's transaction ends; False when another
    transaction (any worker process) holds it. On SQLite it is always True: one process serves it,
    and BEGIN IMMEDIATE already serialises its writers."""
    if not is_postgres(session):
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


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
