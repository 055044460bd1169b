"""The bot started while the Bot API (here the sandbox) is down: it waits for it instead of exiting."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.app import open_db
from bot.db import BotDB
from bot.runner import BotThread
from sandbox import SandboxClient, SandboxServer, make_token
from tests.bot.conftest import World, _free_port
from tests.conftest import IN_CI, PG_ADMIN_URL


def test_a_bot_started_before_the_bot_api_waits_for_it_then_answers(world: World) -> None:
    port = _free_port()
    token = make_token()
    base = f"http://127.0.0.1:{port}"
    settings = world.settings.model_copy(
        update={
            "telegram_token": token,
            "telegram_api_url": f"{base}/bot",
            "telegram_file_url": f"{base}/file/bot",
        }
    )
    bot = BotThread(settings, BotDB(world.db_url))
    started: list[BotThread] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            started.append(bot.start(timeout=60))
        except BaseException as exc:
            failed.append(exc)

    waiter = threading.Thread(target=run, daemon=True)
    waiter.start()
    time.sleep(2.0)
    assert failed == [] and waiter.is_alive(), "the bot gave up while the Bot API was down"
    try:
        with SandboxServer(port=port) as server:
            server.sandbox.register_bot(token)
            waiter.join(40)
            assert failed == [] and started, failed
            with SandboxClient(server.url, bot=token) as client:
                uid = client.user(first_name="刘").id
                client.send_text(uid, "/help")
                reply = client.wait_for_message(uid, None, timeout=20)
                assert reply.text
    finally:
        if started:
            bot.stop()


def test_the_bot_waits_for_its_own_database_to_come_up(caplog: pytest.LogCaptureFixture) -> None:
    """Its PostgreSQL database is not there yet when the bot starts (here: not yet created); the bot
    waits and opens it once it is, instead of exiting."""
    name = f"feijian_bot_late_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with pytest.raises(OperationalError):
        open_db(url, attempts=2)  # gives up when told to

    def create_later() -> None:
        time.sleep(1.5)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

    maker = threading.Thread(target=create_later, daemon=True)
    maker.start()
    try:
        with caplog.at_level(logging.WARNING, logger="feijian.bot"):
            db = open_db(url, attempts=40)
        assert any("not reachable" in r.getMessage() for r in caplog.records)
        with db.tx() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        db.engine.dispose()
    finally:
        maker.join(10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
