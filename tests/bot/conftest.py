"""End-to-end fixtures: the store API (uvicorn, a real database), the sandbox, and the real bot.

The store runs in a thread on a free port against its own database (a SQLite file, or a fresh
PostgreSQL database under the same rules as tests/conftest.py); tests write through real commits,
so these databases are separate from the rolled-back one the other tests share.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.db import BotDB
from bot.runner import BotThread
from bot.settings import BotSettings
from models.db import make_engine, unit_of_work
from models.migrate import upgrade
from models.round import Assignment, AssignmentStatus, InspectionRound, RoundStatus, RoundTeam, TeamMember
from models.types import utcnow
from models.user import Role, User
from sandbox import SandboxClient, SandboxServer, make_token
from services import invites, telegram
from services.config import Settings
from services.context import Actor
from tests.conftest import IN_CI, PG_ADMIN_URL
from tests.factories import make_household, make_user

# Per process, so that two test runs on one machine do not drop each other's databases.
PG_BOT_DB = f"feijian_bot_e2e_{os.getpid()}"
PG_BOT_STATE_DB = f"feijian_bot_state_{os.getpid()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoreServer:
    """The store API served by uvicorn in a thread; stop() makes it unreachable, start() brings it back."""

    def __init__(self, engine: Engine) -> None:
        from api.app import create_app

        self.engine = engine
        self.port = _free_port()
        self.app = create_app(Settings(env="test"), engine=engine)
        self._server: uvicorn.Server | None = None
        self.kind = "sqlite"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the store."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StoreServer:
        """Serves until stop()."""
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="feijian-store")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("store did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stops serving (connections are refused afterwards)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None


def _store_engine(kind: str) -> Engine:
    if kind == "sqlite":
        return make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='feijian-bot-e2e-')}/store.sqlite")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_BOT_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_BOT_DB}"'))
    except OperationalError as exc:
        msg = f"PostgreSQL pass skipped: cannot reach {PG_ADMIN_URL} ({type(exc).__name__})"
        if IN_CI:
            pytest.fail(msg + " — under CI the PostgreSQL pass is required", pytrace=False)
        pytest.skip(msg)
    finally:
        admin.dispose()
    return make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BOT_DB}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[StoreServer]:
    """A migrated store database of each kind, served over HTTP for the module."""
    engine = _store_engine(request.param)
    upgrade(str(engine.url.render_as_string(hide_password=False)))
    server = StoreServer(engine).start()
    server.kind = request.param
    yield server
    server.stop()
    engine.dispose()
    if request.param == "postgresql":
        _drop_pg(PG_BOT_DB)


def _drop_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def bot_state_pg() -> Iterator[str]:
    """A PostgreSQL database for the bot's own tables (emptied by each test that uses it)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_BOT_STATE_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_BOT_STATE_DB}"'))
    admin.dispose()
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BOT_STATE_DB}"
    _drop_pg(PG_BOT_STATE_DB)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    """The local Bot API sandbox for the module."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def bot_token(store: StoreServer) -> str:
    """A service token for the bot's account in this store."""
    with unit_of_work(store.engine) as s:
        token, _ = telegram.issue_bot_token(s, Actor.system())
    return token


@dataclass
class World:
    """Everything a bot test touches."""

    store: StoreServer
    sandbox: SandboxServer
    client: SandboxClient
    settings: BotSettings
    db_url: str

    def session(self) -> Any:
        """A committing unit of work on the store."""
        return unit_of_work(self.store.engine)

    def bot(self) -> BotThread:
        """A fresh bot process on this world's bot database (start it with `with`)."""
        return BotThread(self.settings, BotDB(self.db_url))

    def staff(self, login: str, role: Role = Role.inspector, **kw: Any) -> User:
        """A staff user in the store."""
        with self.session() as s:
            return make_user(s, login, role, **kw)

    def invite(self, login: str, ttl_hours: int = 72) -> str:
        """An invite code for the user, made by an admin."""
        with self.session() as s:
            return invites.create_invite(s, Actor.system(), login=login, ttl_hours=ttl_hours).code

    def user_say(self, user_id: int, text: str, predicate: Callable[[Any], bool] | None = None) -> Any:
        """The user sends text; returns the bot's first matching reply."""
        self.client.send_text(user_id, text)
        return self.client.wait_for_message(user_id, predicate, timeout=10)

    def release(self, inspector: User, register_nos: list[str], day: date | None = None) -> list[uuid.UUID]:
        """Dispatched assignments for the inspector's team (written as dispatch leaves them)."""
        day = day or date.today()
        now = utcnow()
        with self.session() as s:
            r = InspectionRound(
                name="2026年第一轮飞行检查",
                type="flying",  # type: ignore[arg-type]
                scope_code="150422",
                window_start=day,
                window_end=day + timedelta(days=3),
                created_by="admin:test",
                status=RoundStatus.dispatched,
            )
            s.add(r)
            s.flush()
            team = RoundTeam(round_id=r.id, number=1, label="第1组")
            s.add(team)
            s.flush()
            s.add(TeamMember(team_id=team.id, user_id=inspector.id))
            ids = []
            for n, reg in enumerate(register_nos):
                h = make_household(s, reg, head_name="王秀英", address=f"林东镇{n + 1}号")
                a = Assignment(
                    round_id=r.id,
                    team_id=team.id,
                    household_id=h.id,
                    visit_date=day + timedelta(days=n),
                    route_order=n,
                    status=AssignmentStatus.released,
                    released_at=now,
                )
                s.add(a)
                s.flush()
                ids.append(a.id)
            return ids


@pytest.fixture
def world(
    store: StoreServer,
    sandbox_server: SandboxServer,
    bot_token: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    """A fresh bot token, bot database and sandbox client over the module's store and sandbox."""
    token = make_token()
    sandbox_server.sandbox.register_bot(token)
    db_url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    if store.kind == "postgresql":
        # The bot's own tables on PostgreSQL too, emptied for each test.
        db_url = request.getfixturevalue("bot_state_pg")
        from bot import tables

        eng = create_engine(db_url)
        tables.metadata.drop_all(eng)
        eng.dispose()
    settings = BotSettings(
        telegram_token=token,
        telegram_api_url=sandbox_server.bot_base_url,
        telegram_file_url=sandbox_server.bot_base_file_url,
        store_url=store.url,
        store_token=bot_token,
        store_timeout=3.0,
        bot_database_url=db_url,
        outbox_interval=0.2,
        outbox_max_backoff=1.0,
        notice_poll_interval=0.3,
        telegram_rate=0,
    )
    with SandboxClient(sandbox_server.url, bot=token) as client:
        yield World(store, sandbox_server, client, settings, settings.bot_database_url)


def session_of(world: World) -> Session:
    """A plain session on the store (callers commit)."""
    return Session(world.store.engine, expire_on_commit=False)
