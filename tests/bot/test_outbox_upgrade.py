"""A bot database made by the previous version (schema 1: `outbox` with paths, `visit_pending`) is
upgraded in place at start: its queued writes move into the one outbox and drain to the store."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from telegram.error import BadRequest

from bot import tables as T
from bot.db import BotDB
from bot.outbox import FILE_GONE_ATTEMPTS, OutboxDrainer
from bot.store_client import StoreClient

VISIT = "7d1e2f3a-0000-4000-8000-000000000001"
USER = 4242


def _old_schema(url: str) -> None:
    """The schema 1 tables as that version created them, with queued rows."""
    md = MetaData()
    meta = Table("bot_meta", md, Column("key", String(40), primary_key=True), Column("value", String(200)))
    outbox = Table(
        "outbox",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(200), nullable=False, unique=True),
        Column("telegram_user_id", BigInteger, nullable=True, index=True),
        Column("method", String(10), nullable=False),
        Column("path", String(300), nullable=False),
        Column("body", JSON, nullable=True),
        Column("label", String(60), nullable=False, default=""),
        Column("status", String(12), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, index=True),
        Column("last_error", String(500), nullable=True),
        Column("response", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("done_at", DateTime(timezone=True), nullable=True),
    )
    pending = Table(
        "visit_pending",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(200), nullable=False, unique=True),
        Column("kind", String(10), nullable=False),
        Column("telegram_user_id", BigInteger, nullable=False, index=True),
        Column("visit_id", String(36), nullable=False, index=True),
        Column("ref", String(40), nullable=True),
        Column("body", JSON, nullable=False),
        Column("status", String(12), nullable=False, index=True),
        Column("evidence", JSON, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("last_error", String(500), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    engine = create_engine(url)
    md.create_all(engine)
    t0 = datetime.now(UTC) - timedelta(minutes=5)

    def at(n: int) -> dict[str, Any]:
        return {"created_at": t0 + timedelta(seconds=n), "next_attempt_at": t0 + timedelta(seconds=n)}

    with engine.begin() as conn:
        conn.execute(insert(meta).values(key="schema", value="1"))
        common = {"telegram_user_id": USER, "status": "pending", "attempts": 2}
        conn.execute(
            insert(outbox).values(
                key="lang:1", method="PUT", path="/telegram/me/language", body={"language": "en"},
                label="language", **common, **at(0),
            )
        )  # fmt: skip
        events = {
            "events": [{"kind": "location", "lat": 43.98, "lon": 119.38, "at": "2026-01-01T00:00:00+00:00"}]
        }
        conn.execute(
            insert(outbox).values(
                key="loc:1", method="POST", path=f"/visits/{VISIT}/events", body=events,
                label="visit_events", **common, **at(1),
            )
        )  # fmt: skip
        conn.execute(
            insert(outbox).values(
                key="old-done", method="POST", path=f"/visits/{VISIT}/events", body=events,
                label="visit_events", **{**common, "status": "done"}, **at(2),
            )
        )  # fmt: skip
        photo = {"file_id": "F1", "file_name": "a.jpg", "mime": "image/jpeg", "source": "telegram_document",
                 "step_id": "entered", "forwarded": False}  # fmt: skip
        conn.execute(
            insert(pending).values(
                key=f"ev:{VISIT}:p7", kind="photo", visit_id=VISIT, ref="p7", body=photo, **common, **at(3)
            )
        )
        finish = {
            "answers": [{"step_id": "entered", "value": "yes", "evidence": ["p7"]}],
            "refs": ["p7"],
            "known": {},
            "client_findings": [],
            "finished_at": "2026-01-01T00:00:00+00:00",
        }
        conn.execute(
            insert(pending).values(
                key=f"finish:{VISIT}", kind="finish", visit_id=VISIT, body=finish, **common, **at(4)
            )
        )
    engine.dispose()


class _File:
    async def download_as_bytearray(self) -> bytearray:
        return bytearray(b"\xff\xd8jpeg")


class _Bot:
    async def get_file(self, file_id: str) -> _File:
        assert file_id == "F1"
        return _File()

    async def send_message(self, chat_id: int, text: str) -> None:
        return None


STAMP = "2026-01-01T00:00:00+00:00"
IDS = "00000000-0000-4000-8000-0000000000"


def _answer(path: str) -> dict[str, Any]:
    """What the store answers, in its contract's shape."""
    if path.endswith("/language"):
        return {"user_id": IDS + "01", "login": "li", "name": "李", "role": "inspector", "language": "en"}
    if path.endswith("/evidence"):
        return {
            "id": IDS + "07", "visit_id": VISIT, "step_id": "entered", "source": "telegram_document",
            "mime": "image/jpeg", "width": 1, "height": 1, "captured_at": None, "received_at": STAMP,
            "position_source": "none", "distance_m": None, "site": "on_site", "fresh": True,
            "reused": False, "edited": False, "forwarded": False, "accepted": True, "reasons": [],
            "reused_in": [],
        }  # fmt: skip
    return {
        "id": VISIT, "household_id": IDS + "02", "inspector_id": IDS + "03", "assignment_id": None,
        "round_id": None, "checklist_id": "home_visit", "checklist_version": 1, "status": "in_progress",
        "outcome": None, "participants": [], "answers": [], "step_seconds": {}, "track_points": 0,
        "checkin": {}, "flags": [], "core_proof": {}, "started_at": STAMP, "finished_at": None,
        "duration_s": None,
    }  # fmt: skip


def test_a_schema_1_database_is_upgraded_and_its_queue_drains(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _old_schema(url)
    db = BotDB(url)
    with db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(T.outbox).order_by(T.outbox.c.id))]
        version = conn.execute(select(T.bot_meta.c.value)).scalar()
    assert version == T.SCHEMA_VERSION
    assert [(r["key"], r["op"], r["target"]) for r in rows] == [
        ("lang:1", "language", None),
        ("loc:1", "visit_events", VISIT),
        (f"ev:{VISIT}:p7", "evidence_upload", VISIT),
        (f"finish:{VISIT}", "visit_finish", VISIT),
    ]
    assert all(r["status"] == "pending" for r in rows) and rows[2]["body"]["ref"] == "p7"
    assert BotDB(url).outbox_waiting(USER) == 4  # a second start changes nothing

    calls: list[tuple[str, str, str | None, Any]] = []

    def store(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        body = (
            json.loads(request.content) if request.headers.get("content-type") == "application/json" else None
        )
        calls.append((request.method, request.url.path, key, body))
        return httpx.Response(200, json=_answer(request.url.path))

    client = StoreClient("http://store", "token", transport=httpx.MockTransport(store))
    told: list[str] = []

    async def notify(user: int, text: str) -> None:
        told.append(text)

    drainer = OutboxDrainer(db, client, _Bot(), notify, lambda lang, ev, why: f"photo {ev}", interval=0.01)  # type: ignore[arg-type]
    assert asyncio.run(drainer.drain_once()) == 4
    assert [(m, p, k) for m, p, k, _ in calls] == [
        ("PUT", "/api/v1/telegram/me/language", "lang:1"),
        ("POST", f"/api/v1/visits/{VISIT}/events", "loc:1"),
        ("POST", f"/api/v1/visits/{VISIT}/evidence", f"ev:{VISIT}:p7"),
        ("POST", f"/api/v1/visits/{VISIT}/finish", f"finish:{VISIT}"),
    ]
    assert calls[3][3]["answers"] == [{"step_id": "entered", "value": "yes", "evidence": [IDS + "07"]}]
    assert db.outbox_waiting(USER) == 0 and asyncio.run(drainer.drain_once()) == 0  # sent once
    db.dispose()


class _GoneBot(_Bot):
    """Telegram no longer serves the photo's file_id."""

    async def get_file(self, file_id: str) -> _File:
        raise BadRequest("Wrong file_id or the file is temporarily unavailable")


def test_a_photo_telegram_no_longer_serves_is_refused_and_the_visit_still_finishes(tmp_path: Path) -> None:
    """Found by the fault campaign: one photo whose file_id is gone held the finish back for ever."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _old_schema(url)
    db = BotDB(url)
    calls: list[tuple[str, Any]] = []

    def store(request: httpx.Request) -> httpx.Response:
        body = (
            json.loads(request.content) if request.headers.get("content-type") == "application/json" else None
        )
        calls.append((request.url.path, body))
        return httpx.Response(200, json=_answer(request.url.path))

    client = StoreClient("http://store", "token", transport=httpx.MockTransport(store))
    told: list[str] = []

    async def notify(user: int, text: str) -> None:
        told.append(text)

    drainer = OutboxDrainer(
        db,
        client,
        _GoneBot(),  # type: ignore[arg-type]
        notify,
        lambda lang, ev, why: f"photo {ev}: {why}",
        interval=0.001,
        max_backoff=0.001,
    )

    async def drain_until_settled() -> None:
        for _ in range(3 * FILE_GONE_ATTEMPTS):  # a bounded number of passes
            await drainer.drain_once()
            if db.outbox_waiting(USER) == 0:
                return
            await asyncio.sleep(0.01)

    asyncio.run(drain_until_settled())
    assert db.outbox_waiting(USER) == 0  # nothing held back for ever
    (upload,) = db.outbox_uploads(VISIT)
    assert upload["status"] == "failed"
    finish = next(body for path, body in calls if path.endswith("/finish"))
    assert finish["answers"] == [{"step_id": "entered", "value": "yes", "evidence": []}]
    assert any("请重新发送" in text for text in told), told  # the inspector is asked to resend it
    db.dispose()
