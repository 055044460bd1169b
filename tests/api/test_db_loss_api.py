"""The store under database loss: a lost connection answers a retryable 503, reads survive it, and a
retried keyed write after a 503 applies exactly once."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool
from sqlmodel import select

from api.app import create_app
from models.audit import AuditEvent
from models.db import make_engine, unit_of_work
from models.evidence import Evidence
from models.job import IdempotencyRecord
from models.migrate import upgrade
from models.user import Role
from services import access, households, idempotency
from services.config import Settings
from tests.conftest import IN_CI, PG_ADMIN_URL, PG_DB, auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

API = "/api/v1"
KILL = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


# --- the mapping, with raised errors (no database needed) ---------------------------------------


def _raising(exc: BaseException, calls: list[str]) -> Callable[[], None]:
    def route() -> None:
        calls.append("called")
        raise exc

    return route


def _invalidated() -> InterfaceError:
    err = InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is lost"))
    err.connection_invalidated = True
    return err


@pytest.fixture
def raising_app(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, list[str]]]]:
    """An app with routes that raise database errors, and how often each was called."""
    app: FastAPI = create_app(settings, engine=make_engine(f"sqlite:///{tmp_path}/unused.sqlite"))
    errors: dict[str, BaseException] = {
        "admin_shutdown": OperationalError(
            "SELECT 1",
            {},
            psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        ),
        "locked": OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
        "lost": _invalidated(),
        "no_table": OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x")),
        "programming": ProgrammingError("SELEC", {}, psycopg.ProgrammingError("syntax error")),
        "pool_timeout": PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out"),
    }
    calls: dict[str, list[str]] = {name: [] for name in errors}
    for name, exc in errors.items():
        for method in ("GET", "POST"):
            app.add_api_route(f"/boom/{name}", _raising(exc, calls[name]), methods=[method])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, calls


@pytest.mark.parametrize("name", ["admin_shutdown", "locked", "lost", "pool_timeout"])
def test_an_unavailable_database_answers_a_retryable_503(
    raising_app: tuple[TestClient, dict[str, list[str]]], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = raising_app
    with caplog.at_level(logging.INFO, logger="feijian.api"):
        r = client.post(f"/boom/{name}")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["Retry-After"]) > 0
    body = r.json()
    assert body["code"] == "db_unavailable" and body["status"] == 503
    assert body["title"] == "服务暂时不可用" and body["detail"] == "数据库暂时不可用，请稍后重试。"
    # one log line, without a traceback
    lines = [rec for rec in caplog.records if rec.name == "feijian.api"]
    assert len(lines) == 1 and lines[0].exc_info is None and lines[0].levelno == logging.WARNING
    en = client.post(f"/boom/{name}", headers={"Accept-Language": "en"}).json()
    assert en["title"] == "Service temporarily unavailable"
    assert en["detail"] == "The database is briefly unavailable; please try again shortly."


@pytest.mark.parametrize("name", ["no_table", "programming"])
def test_other_database_errors_stay_500(
    raising_app: tuple[TestClient, dict[str, list[str]]], name: str
) -> None:
    client, calls = raising_app
    for method in ("GET", "POST"):
        r = client.request(method, f"/boom/{name}")
        assert r.status_code == 500 and r.json()["code"] == "internal" and "Retry-After" not in r.headers
    assert len(calls[name]) == 2  # an error that is not a lost connection is never retried


def test_a_read_is_retried_once_on_a_lost_connection_a_write_never(
    raising_app: tuple[TestClient, dict[str, list[str]]],
) -> None:
    client, calls = raising_app
    assert client.get("/boom/lost").status_code == 503
    assert len(calls["lost"]) == 2
    assert client.post("/boom/lost").status_code == 503
    assert len(calls["lost"]) == 3
    # locked is unavailable but the connection stands: a read is not run again
    assert client.get("/boom/locked").status_code == 503
    assert len(calls["locked"]) == 1


# --- real connection loss on PostgreSQL -------------------------------------------------------------


@pytest.fixture(scope="module")
def lossy_url(engine: Engine) -> Iterator[str]:
    """A database of its own (its connections get terminated), migrated; PostgreSQL only."""
    if engine.dialect.name != "postgresql":
        pytest.skip("terminating the store's connections needs PostgreSQL (pg_terminate_backend)")
    name = f"{PG_DB}_loss"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:  # pragma: no cover - the engine fixture reached it just now
        if IN_CI:
            pytest.fail(f"cannot create {name}: {exc}", pytrace=False)
        pytest.skip(f"cannot create {name}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def lossy(lossy_url: str, settings: Settings) -> Iterator[tuple[TestClient, Engine, Callable[[], int]]]:
    """A client on the real per-request units of work, the store's engine, and a connection killer."""
    store_engine = make_engine(lossy_url)
    killer = create_engine(lossy_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def kill() -> int:
        with killer.connect() as conn:
            return len(conn.execute(text(KILL)).all())

    app = create_app(settings, engine=store_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store_engine, kill
    store_engine.dispose()
    killer.dispose()


def _count(engine: Engine, stmt: Any) -> int:
    with unit_of_work(engine) as s:
        return int(s.exec(stmt).one())


def test_evidence_upload_cut_off_answers_503_and_its_retry_applies_once(
    lossy: tuple[TestClient, Engine, Callable[[], int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store, kill = lossy
    with unit_of_work(store) as s:
        ins = make_user(s, "loss-insp", Role.inspector)
        h = make_household(s, "LOSS-1")
        a = released_assignment(s, h, [ins])
        aid = a.id
    hdr = auth_headers(client, "loss-insp")
    started = client.post(f"{API}/visits", json={"assignment_id": str(aid)}, headers=hdr)
    assert started.status_code == 201, started.text
    vid = started.json()["id"]
    remember = idempotency.remember
    killed: list[int] = []

    def cut_off(*args: Any, **kw: Any) -> None:
        # the evidence row is written (flushed) by now: the connection dies before the key is kept
        if not killed:
            killed.append(kill())
        remember(*args, **kw)

    monkeypatch.setattr(idempotency, "remember", cut_off)
    files = {"file": ("a.jpg", jpeg_with_gps(43.98, 119.38, seed=11), "image/jpeg")}
    key = {"Idempotency-Key": f"loss-{uuid.uuid4()}"}
    form = {"source": "telegram_document"}
    r = client.post(f"{API}/visits/{vid}/evidence", files=files, data=form, headers=hdr | key)
    assert killed and killed[0] >= 1
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["Retry-After"].isdigit() and r.json()["code"] == "db_unavailable"
    # nothing half-written stays, and the 503 is not the key's stored answer
    assert _count(store, select(func.count()).select_from(Evidence)) == 0
    keyed = (
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.key == key["Idempotency-Key"])
    )
    assert _count(store, keyed) == 0
    again = client.post(f"{API}/visits/{vid}/evidence", files=files, data=form, headers=hdr | key)
    assert again.status_code == 201, again.text
    replay = client.post(f"{API}/visits/{vid}/evidence", files=files, data=form, headers=hdr | key)
    assert replay.status_code == 201 and replay.json()["id"] == again.json()["id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert _count(store, select(func.count()).select_from(Evidence)) == 1
    assert _count(store, keyed) == 1


def test_reads_survive_a_lost_connection(
    lossy: tuple[TestClient, Engine, Callable[[], int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store, kill = lossy
    with unit_of_work(store) as s:
        make_user(s, "loss-sup", Role.supervisor, scope_code="150422")
        hid = make_household(s, "LOSS-2").id
    hdr = auth_headers(client, "loss-sup")
    url = f"{API}/households/{hid}"
    assert client.get(url, headers=hdr).status_code == 200
    # killed between requests: the pool's pre-ping replaces the dead connection
    assert kill() >= 1
    assert client.get(url, headers=hdr).status_code == 200
    # killed in the middle of a read, before anything committed: run once more on a fresh connection
    original = access.household_for_actor
    calls: list[int] = []

    def cut_off(*args: Any, **kw: Any) -> Any:
        calls.append(kill() if not calls else 0)
        return original(*args, **kw)

    monkeypatch.setattr(access, "household_for_actor", cut_off)
    reads_before = _count(
        store, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "household.read")
    )
    r = client.get(url, headers=hdr)
    assert r.status_code == 200, r.text
    assert len(calls) == 2 and calls[0] >= 1
    reads_after = _count(
        store, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "household.read")
    )
    assert reads_after == reads_before + 1  # the lost run's audit event rolled back with it


def test_a_read_cut_off_during_its_commit_is_not_repeated(
    lossy: tuple[TestClient, Engine, Callable[[], int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store, kill = lossy
    with unit_of_work(store) as s:
        make_user(s, "loss-sup2", Role.supervisor, scope_code="150422")
        hid = make_household(s, "LOSS-3").id
    hdr = auth_headers(client, "loss-sup2")
    original = households.get_household
    calls: list[int] = []

    def then_cut_off(*args: Any, **kw: Any) -> Any:
        result = original(*args, **kw)
        calls.append(kill())
        return result

    monkeypatch.setattr(households, "get_household", then_cut_off)
    r = client.get(f"{API}/households/{hid}", headers=hdr)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"].isdigit() and r.json()["code"] == "db_unavailable"
    assert len(calls) == 1
    monkeypatch.undo()
    assert client.get(f"{API}/households/{hid}", headers=hdr).status_code == 200
