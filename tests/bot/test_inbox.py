"""Issue 12, problems 1-3: the bot's own inbox (nothing confirmed before it is stored), poison
updates as dead letters, and update numbering that restarts (sandbox restart, Telegram's gaps)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.app import build_application
from bot.db import BotDB
from bot.inbox import Inbox
from bot.runtime import runtime_of
from bot.settings import BotSettings, get_bot_settings
from bot.webhook import SECRET_HEADER, webhook_app
from cli.main import app as cli_app
from sandbox import SandboxServer, make_token
from tests.bot.conftest import World

ROOT = Path(__file__).resolve().parents[2]
BOT_SCRIPT = "import logging; logging.basicConfig(level=logging.INFO)\nfrom bot.app import run; run()\n"


class BlackHole:
    """A 'store' that accepts requests and never answers: the handler waiting on it is mid-flight."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = int(self.sock.getsockname()[1])
        self.seen = b""
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.seen += data

    def close(self) -> None:
        """Stops accepting and drops every connection."""
        self.sock.close()
        for conn in self._conns:
            conn.close()


def _spawn(world: World, tmp_path: Path, store_url: str, name: str) -> subprocess.Popen[bytes]:
    s = world.settings
    env = {
        **os.environ,
        "FEIJIAN_TELEGRAM_TOKEN": s.token,
        "FEIJIAN_TELEGRAM_API_URL": world.sandbox.bot_base_url,
        "FEIJIAN_TELEGRAM_FILE_URL": world.sandbox.bot_base_file_url,
        "FEIJIAN_TELEGRAM_REQUEST": "lean",
        "FEIJIAN_TELEGRAM_RATE": "0",
        "FEIJIAN_STORE_URL": store_url,
        "FEIJIAN_STORE_TOKEN": s.store_token or "",
        "FEIJIAN_STORE_TIMEOUT": "30",
        "FEIJIAN_BOT_DATABASE_URL": s.bot_database_url,
        "FEIJIAN_NOTICE_POLL_INTERVAL": "60",
        "FEIJIAN_OUTBOX_INTERVAL": "0.2",
    }
    script = tmp_path / "run_bot.py"
    script.write_text(BOT_SCRIPT)
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=log, stderr=log)


def test_an_update_in_flight_when_the_bot_is_killed_is_handled_once_after_the_restart(
    world: World, tmp_path: Path
) -> None:
    """Problem 1: kill -9 while the handler waits on the store; the restarted bot binds and answers."""
    world.staff("kill9")
    code = world.invite("kill9")
    uid = world.client.user("被杀").id
    hole = BlackHole()
    proc = _spawn(world, tmp_path, f"http://127.0.0.1:{hole.port}", "first")
    try:
        world.client.send_text(uid, f"/start {code}")
        deadline = time.monotonic() + 20
        while b"/telegram/bind" not in hole.seen:
            assert time.monotonic() < deadline, "the bot never called the store"
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            time.sleep(0.05)
        time.sleep(0.5)  # long enough for a getUpdates that would confirm the update
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hole.close()
    assert world.client.messages(uid) == []  # killed mid-handler: nothing was answered
    proc = _spawn(world, tmp_path, world.store.url, "second")
    try:
        reply = world.client.wait_for_message(uid, timeout=20)
        assert "kill9" in reply.text
        time.sleep(1.0)
        assert len(world.client.messages(uid)) == 1  # answered once
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    db = BotDB(world.db_url)
    try:
        user = db.user(uid)
        assert user is not None and user["bound"]
    finally:
        db.dispose()


POISON_POLL = {"poll": {"id": "77", "question": "今天几号？"}}  # no fields PTB now requires


def _poison_message(uid: int) -> dict[str, Any]:
    return {
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": uid, "type": "private", "first_name": "坏消息"},
            "from": {"id": uid, "is_bot": False, "first_name": "坏消息"},
            "poll": {"id": "78", "question": "？"},
        }
    }


def test_unreadable_updates_become_dead_letters_and_everyone_else_is_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Problem 2: an update PTB cannot parse is a dead letter (one log line, 请重试 to its chat)."""
    poisoned = world.client.user("坏消息").id
    other = world.client.user("正常").id
    caplog.set_level(logging.WARNING)
    with world.bot() as bot:
        world.client.inject(POISON_POLL)
        world.client.inject(_poison_message(poisoned))
        reply = world.user_say(other, "/start")
        assert "/status" in reply.text  # a stranger is answered (the resident menu)
        retry = world.client.wait_for_message(poisoned, timeout=10)
        assert "请重试" in retry.text
        letters = bot.runtime.db.dead_letters()
    assert [d["chat_id"] for d in letters] == [None, poisoned]
    assert all("unparseable" in d["error"] for d in letters)
    lines = [r for r in caplog.records if r.name == "feijian.bot.inbox" and r.levelno >= logging.ERROR]
    assert len(lines) == 2  # one line per dead letter, not a loop
    assert len(caplog.records) < 20


def test_dead_letters_are_listed_and_replayed_from_the_command_line(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feijian bot dead-letters` lists them; `--replay ID` hands one to the bot again."""
    uid = world.client.user("重放").id
    db = BotDB(world.db_url)
    (row,) = db.inbox_store([{"update_id": 4242, **_poison_message(uid)}])
    letter = db.inbox_dead(row, "handler failed 3 times: RuntimeError('boom')")
    monkeypatch.setenv("FEIJIAN_BOT_DATABASE_URL", world.db_url)
    get_bot_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(cli_app, ["bot", "dead-letters"])
        assert listed.exit_code == 0, listed.output
        assert f"{letter}  update 4242  chat {uid}" in listed.output
        assert "RuntimeError('boom')" in listed.output
        replayed = runner.invoke(cli_app, ["bot", "dead-letters", "--replay", str(letter)])
        assert replayed.exit_code == 0, replayed.output
        assert [r["id"] for r in db.inbox_pending()] == [row]
        assert "no dead letters" in runner.invoke(cli_app, ["bot", "dead-letters"]).output
        again = runner.invoke(cli_app, ["bot", "dead-letters", "--replay", str(letter)])
        assert again.exit_code == 1
    finally:
        get_bot_settings.cache_clear()
        db.dispose()


def test_a_lower_update_id_after_the_numbering_restarted_is_answered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Problem 3: update ids start again at a lower number; those updates are new, not duplicates."""
    uid = world.client.user("重启").id
    caplog.set_level(logging.WARNING, logger="feijian.bot.inbox")
    with world.bot():
        for n in (1, 2):
            world.client.inject({"update_id": n, **_text(uid, 10 * n, "/start")})
            _wait_for_replies(world, uid, n)
        # The other side restarted its numbering: update 1 again, with a new message in it.
        world.client.inject({"update_id": 1, **_text(uid, 30, "/help")})
        _wait_for_replies(world, uid, 3)
    assert any("numbering restarted" in r.getMessage() for r in caplog.records)


def _wait_for_replies(world: World, uid: int, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(world.client.messages(uid)) < count:
        assert time.monotonic() < deadline, f"reply {count} never came: the update was dropped"
        time.sleep(0.05)


def _text(uid: int, message_id: int, text: str) -> dict[str, Any]:
    sender = {"id": uid, "is_bot": False, "first_name": "重启", "language_code": "zh-hans"}
    msg: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": uid, "type": "private", "first_name": "重启"},
        "from": sender,
        "text": text,
    }
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": msg}


def test_a_repeated_update_is_stored_once(tmp_path: Path) -> None:
    """A redelivery (same id, same content) is not new; other content under a used id is."""
    db = BotDB(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    first = {"update_id": 7, **_text(5, 1, "hello")}
    assert len(db.inbox_store([first])) == 1
    assert db.inbox_store([first]) == []
    assert len(db.inbox_store([{"update_id": 7, **_text(5, 2, "again")}])) == 1
    assert db.inbox_offset() == 8
    db.dispose()


def test_the_sandbox_keeps_its_update_numbering_across_restarts(tmp_path: Path) -> None:
    """Problem 3: a restarted sandbox (with its state file) goes on numbering where it stopped."""
    state = str(tmp_path / "sandbox.sqlite")
    token = make_token()
    with SandboxServer(state_file=state) as first:
        first.sandbox.register_bot(token)
        user = first.sandbox.create_user(first_name="老用户")
        bot = first.sandbox.bots[token]
        ids = [first.sandbox.act_text(bot, user["id"], f"第{n}条")["update_id"] for n in range(3)]
    with SandboxServer(state_file=state) as second:
        bot = second.sandbox.bots[token]
        assert user["id"] in second.sandbox.users and user["id"] in bot.chats
        again = second.sandbox.act_text(bot, user["id"], "重启后")
    assert again["update_id"] > max(ids)


def test_the_webhook_answers_200_only_once_the_update_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Problem 1, webhook side: Telegram hears 200 only for an update already in the inbox."""
    settings = BotSettings(
        bot_database_url=f"sqlite:///{tmp_path / 'bot.sqlite'}", webhook_url="http://127.0.0.1:9/hook"
    )
    app = build_application(settings)
    rt = runtime_of(app)
    rt.inbox = Inbox(app, rt.db)
    client = TestClient(webhook_app(app, "/hook", "s3cret"), raise_server_exceptions=False)
    headers = {SECRET_HEADER: "s3cret"}
    raw = {"update_id": 9, **_text(5, 1, "你好")}
    assert client.post("/hook", json=raw, headers=headers).status_code == 200
    assert client.post("/hook", json=raw, headers=headers).status_code == 200  # a retry: stored once
    assert [(r["update_id"], r["raw"]) for r in rt.db.inbox_pending()] == [(9, raw)]
    assert client.post("/hook", json=raw, headers={SECRET_HEADER: "wrong"}).status_code == 403

    def broken(raws: list[Any]) -> list[int]:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(rt.inbox, "store", broken)
    lost = {"update_id": 10, **_text(5, 2, "再见")}
    assert client.post("/hook", json=lost, headers=headers).status_code >= 500  # Telegram retries it
    rt.db.dispose()
