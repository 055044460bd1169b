"""Several API workers on one PostgreSQL store: the release timer releases once; SQLite refuses workers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.app import _release_once, create_app
from cli.main import app as cli_app
from models.audit import AuditEvent
from models.db import make_engine, unit_of_work
from models.migrate import upgrade
from models.round import Assignment
from services import round_dispatch, round_teams
from services.config import Settings
from services.rounds import local_today
from tests.conftest import IN_CI, PG_ADMIN_URL
from tests.round_helpers import actor_of, drawn_round, inspectors, populate, supervisor

PG_WORKERS_DB = f"feijian_workers_{os.getpid()}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL store that two workers (two engines) share with real commits."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_WORKERS_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_WORKERS_DB}"'))
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL pass skipped: cannot reach {PG_ADMIN_URL}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_WORKERS_DB}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_WORKERS_DB}" WITH (FORCE)'))
    admin.dispose()


def _seed_due_round(engine: Engine) -> int:
    """A dispatched round that started yesterday: today's assignments wait for the release timer."""
    with unit_of_work(engine) as session:
        populate(session)
        sup = actor_of(supervisor(session))
        inspectors(session, 4)
        start = local_today() - timedelta(days=1)
        r = drawn_round(session, sup, start=start, ratio=1.0)
        round_teams.assign_round(session, sup, r.id, visits_per_day=1)
        round_dispatch.dispatch(session, sup, r.id, day=start)
        due = session.exec(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.round_id == r.id, col(Assignment.released_at).is_(None))
            .where(col(Assignment.visit_date) <= local_today())
        ).one()
    assert due > 0
    return int(due)


def _release_events(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "round.release")).all()
        return [dict(r.details) for r in rows]


def test_two_workers_running_the_release_timer_release_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(env="test", release_every_s=0)
    workers = [create_app(settings, engine=make_engine(pg_url)) for _ in range(2)]
    due = _seed_due_round(workers[0].state.engine)
    # Worker 0's pass stops half-way (assignments read and changed, not committed) while worker 1's
    # timer fires: without the lock both would release the same assignments and audit it twice.
    inside, go_on = threading.Event(), threading.Event()
    original = round_dispatch._release

    def slow_release(*args: Any, **kw: Any) -> list[Assignment]:
        out = original(*args, **kw)
        if threading.current_thread().name == "worker-0":
            inside.set()
            go_on.wait(30)
        return out

    monkeypatch.setattr(round_dispatch, "_release", slow_release)
    results: dict[str, bool] = {}

    def run(i: int) -> None:
        results[f"worker-{i}"] = _release_once(workers[i])

    first = threading.Thread(target=run, args=(0,), name="worker-0")
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=run, args=(1,), name="worker-1")
    second.start()
    second.join(30)  # with the lock it skips at once; without it, it blocks or releases
    go_on.set()
    first.join(30)
    second.join(30)
    assert results == {"worker-0": True, "worker-1": False}
    events = _release_events(workers[0].state.engine)
    assert [e["released"] for e in events] == [due]
    # The next tick of either worker finds nothing left to release.
    assert _release_once(workers[1]) is True
    assert len(_release_events(workers[1].state.engine)) == 1
    for w in workers:
        w.state.engine.dispose()


def test_serve_refuses_several_workers_on_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from services.config import get_settings

    monkeypatch.setenv("FEIJIAN_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" not in cmd:
                out.append(int(entry.name))
    return out


def test_serve_with_two_workers_on_postgresql_answers_from_both(pg_url: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, "FEIJIAN_DATABASE_URL": pg_url, "FEIJIAN_MEDIA_DIR": str(tmp_path / "media")}
    feijian = str(Path(sys.executable).parent / "feijian")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [feijian, "serve", "--workers", "2", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200 and len(_children(proc.pid)) == 2:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        log_text = ""
        for _ in range(200):  # the kernel spreads connections over both workers' accepts
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
            log_text = (tmp_path / "serve.log").read_text()
            if len(set(re.findall(r"\[(\d+)\]", log_text))) >= 3:  # supervisor + two workers
                break
        started = set(re.findall(r"Started server process \[(\d+)\]", log_text))
        assert {int(p) for p in started} == set(_children(proc.pid))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
