"""Several inbox workers on one bot database: a chat's updates strictly in order, chats in parallel,
a failing update holding back only its own chat (SQLite: one worker; PostgreSQL: two)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update
from telegram import Bot, Update

from bot import inbox as inbox_mod
from bot import tables as T
from bot.db import BotDB
from bot.inbox import Inbox
from bot.processor import PerChatUpdateProcessor
from bot.settings import SANDBOX_TOKEN


@pytest.fixture(params=["sqlite", "postgresql"])
def bot_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty bot database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite'}"
        return
    url = request.getfixturevalue("bot_state_pg")
    eng = create_engine(url)
    T.metadata.drop_all(eng)
    eng.dispose()
    yield url


def _msg(update_id: int, chat: int | None) -> dict[str, Any]:
    if chat is None:
        return {"update_id": update_id, "poll": {"id": str(update_id), "question": "?"}}
    who = {"id": chat, "is_bot": False, "first_name": f"c{chat}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private", "first_name": f"c{chat}"},
            "from": who,
            "text": f"m{update_id}",
        },
    }


def _claimed(db: BotDB, busy: set[int] | None = None) -> list[int]:
    return [r["update_id"] for r in db.inbox_claim(10, busy or set())]


def test_a_chats_next_update_is_handed_out_only_after_the_earlier_one(bot_url: str) -> None:
    db = BotDB(bot_url)
    try:
        rows = db.inbox_store([_msg(1, 100), _msg(2, 200), _msg(3, 100), _msg(4, None), _msg(5, 200)])
        first = _claimed(db)
        assert first == [1, 2, 4]  # the oldest of each chat; an update without a chat any time
        assert _claimed(db, set(rows)) == []  # 3 and 5 wait while 1 and 2 are in progress
        db.inbox_attempt(rows[0])  # update 1 fails: it stays pending, so chat 100 stays held
        db.inbox_finish(rows[1])
        assert _claimed(db, {rows[0], rows[3]}) == [5]  # chat 200 goes on
        assert db.inbox_dead(rows[0], "failed 3 times") is not None
        assert _claimed(db, {rows[3], rows[4]}) == [3]  # dead-lettered: chat 100's next update comes
    finally:
        db.dispose()


def test_a_dead_workers_claims_are_taken_over_and_a_live_ones_are_not(bot_url: str) -> None:
    if bot_url.startswith("sqlite"):
        pytest.skip("SQLite is served by one bot process; its restart takes every claim (covered above)")
    one, two = BotDB(bot_url), BotDB(bot_url)
    try:
        one.inbox_store([_msg(1, 100), _msg(2, 200), _msg(3, 100)])
        assert _claimed(one) == [1, 2]
        assert _claimed(two) == []  # held by a live worker, and chat 100's 3 waits for 1
        one.dispose()  # the process dies: its connection, lock and claims go
        assert _claimed(two) == [1, 2]
    finally:
        one.dispose()
        two.dispose()


@dataclass
class Recorder:
    """What the handlers of every worker did, in the order it happened."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    events: list[tuple[str, int, int, int]] = field(default_factory=list)  # kind, worker, chat, update
    running: dict[int, int] = field(default_factory=dict)  # chat -> update in progress
    overlaps: list[tuple[int, int, int]] = field(default_factory=list)
    most_at_once: int = 0
    failures: dict[int, int] = field(default_factory=dict)

    def start(self, worker: int, chat: int, uid: int) -> None:
        with self.lock:
            if chat in self.running:
                self.overlaps.append((chat, self.running[chat], uid))
            self.running[chat] = uid
            self.most_at_once = max(self.most_at_once, len(self.running))
            self.events.append(("start", worker, chat, uid))

    def end(self, worker: int, chat: int, uid: int, kind: str) -> None:
        with self.lock:
            self.running.pop(chat, None)
            self.events.append((kind, worker, chat, uid))


class FakeApp:
    """The part of a PTB Application the inbox uses; the handler records and may fail."""

    def __init__(self, worker: int, rec: Recorder, fail: dict[int, int]) -> None:
        self.worker = worker
        self.rec = rec
        self.fail = fail  # update_id -> how many attempts fail (99: always)
        self.bot = Bot(SANDBOX_TOKEN, base_url="http://127.0.0.1:9/bot")  # nothing listens: no network
        self.update_processor = PerChatUpdateProcessor(4)

    async def process_update(self, update: Update) -> None:
        chat = update.effective_chat.id if update.effective_chat else 0
        uid = update.update_id
        self.rec.start(self.worker, chat, uid)
        await asyncio.sleep(0.02)
        with self.rec.lock:
            failed = self.rec.failures.get(uid, 0)
            failing = failed < self.fail.get(uid, 0)
            if failing:
                self.rec.failures[uid] = failed + 1
        self.rec.end(self.worker, chat, uid, "fail" if failing else "done")
        if failing:
            inbox_mod.handler_failed(RuntimeError(f"update {uid} fails"))


def _worker(url: str, worker: int, rec: Recorder, fail: dict[int, int], stop: threading.Event) -> None:
    async def main() -> None:
        db = BotDB(url)
        inbox = Inbox(FakeApp(worker, rec, fail), db)  # type: ignore[arg-type]
        task = asyncio.create_task(inbox.work())
        while not stop.is_set():
            await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        db.dispose()

    asyncio.run(main())


def test_inbox_workers_keep_each_chats_order_and_a_failure_holds_back_only_its_chat(bot_url: str) -> None:
    workers = 1 if bot_url.startswith("sqlite") else 2  # SQLite: one bot process
    chats = [101, 102, 103, 104, 105, 106]
    raws, uid = [], 0
    for _ in range(5):
        for chat in chats:
            uid += 1
            raws.append(_msg(uid, chat))
    fail = {1: 2, 2: 99}  # chat 101's first update fails twice then works; chat 102's never does
    db = BotDB(bot_url)
    db.inbox_store(raws)
    rec, stop = Recorder(), threading.Event()
    threads = [
        threading.Thread(target=_worker, args=(bot_url, w, rec, fail, stop), daemon=True)
        for w in range(workers)
    ]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            with db.engine.connect() as conn:
                left = conn.execute(select(T.inbox.c.id).where(T.inbox.c.status == "pending")).all()
            if not left:
                break
            assert time.monotonic() < deadline, f"{len(left)} updates never handled: {rec.events[-10:]}"
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    try:
        assert rec.overlaps == []  # never two updates of one chat at once, in any worker
        for chat in chats:
            done = [u for kind, _, c, u in rec.events if c == chat and kind == "done"]
            starts = [u for kind, _, c, u in rec.events if c == chat and kind == "start"]
            expected = [r["update_id"] for r in raws if r["message"]["chat"]["id"] == chat]
            assert starts == sorted(starts)  # strictly in order, retries included
            assert done == (expected[1:] if chat == 102 else expected)
        assert [d["update_id"] for d in db.dead_letters()] == [2]
        # While update 1 waited for its retries, other chats went on.
        first_fail = rec.events.index(("fail", *_at(rec, "fail", 1)[1:]))
        success = rec.events.index(("done", *_at(rec, "done", 1)[1:]))
        assert any(c not in (101, 102) and k == "done" for k, _, c, _ in rec.events[first_fail:success])
        if workers == 2:
            assert {w for _, w, _, _ in rec.events} == {0, 1}  # both workers handled updates
            assert rec.most_at_once >= 2  # different chats in parallel
    finally:
        db.dispose()


def _at(rec: Recorder, kind: str, uid: int) -> tuple[str, int, int, int]:
    return next(e for e in rec.events if e[0] == kind and e[3] == uid)


def test_a_schema_3_bot_database_gets_the_claim_column_and_keeps_its_inbox(bot_url: str) -> None:
    db = BotDB(bot_url)
    db.inbox_store([_msg(1, 100)])
    with db.tx() as conn:  # as schema 3 left it
        conn.execute(text("ALTER TABLE inbox DROP COLUMN claimed_by"))
        conn.execute(update(T.bot_meta).where(T.bot_meta.c.key == "schema").values(value="3"))
    db.dispose()
    db = BotDB(bot_url)
    try:
        assert _claimed(db) == [1]
        with db.engine.connect() as conn:
            q = select(T.bot_meta.c.value).where(T.bot_meta.c.key == "schema")
            assert conn.execute(q).scalar() == "4"
    finally:
        db.dispose()


def test_one_bot_process_at_a_time_drains_the_outbox(bot_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import outbox as outbox_mod
    from bot.outbox import Job, OutboxDrainer

    sent: list[str] = []

    async def fake_call(store: Any, op: str, target: Any, body: Any, user: Any, key: str) -> dict[str, str]:
        sent.append(key)
        return {"ok": key}

    monkeypatch.setattr(outbox_mod, "call", fake_call)
    one, two = BotDB(bot_url), BotDB(bot_url)
    try:
        with two.tx() as conn:
            two.outbox_add(conn, None, Job(op="visit_events", key="k1", target="v1", body={"events": []}))
        drainer = OutboxDrainer(two, None, None, None, None)  # type: ignore[arg-type]
        with one.exclusive("outbox") as mine:
            assert mine
            if bot_url.startswith("postgresql"):  # another process is draining: this one waits
                assert asyncio.run(drainer.drain_once()) == 0 and sent == []
                with two.exclusive("outbox") as theirs:
                    assert not theirs
        assert asyncio.run(drainer.drain_once()) == 1 and sent == ["k1"]
    finally:
        one.dispose()
        two.dispose()
