"""Photos and submissions that could not reach the store at once, and the job that sends them later.

A photo is uploaded from the handler when the store answers (its verdict is shown right away);
when it does not, the photo's Telegram file id is queued here, in the handler's transaction, and
uploaded later with the same idempotency key. A visit submitted while one of its photos is still
queued waits here too: once every photo has its store id, the finish is written to the outbox (the
foundation's drainer sends it with its idempotency key), in the same transaction that closes the
row, so it is sent exactly once.

The JSON outbox cannot carry a multipart upload, hence this small queue of its own.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)
from telegram import Bot

from bot import tables as T
from bot.db import BotDB, utcnow
from bot.store_client import StoreClient, StoreError, StoreUnavailable
from bot.visit_flow import finish_answers

log = logging.getLogger("feijian.bot.visits")

# One row per queued photo or waiting submission; unique keys make a repeat a no-op.
visit_pending = Table(
    "visit_pending",
    T.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # photo | finish
    Column("telegram_user_id", BigInteger, nullable=False, index=True),
    Column("visit_id", String(36), nullable=False, index=True),
    Column("ref", String(40), nullable=True),
    Column("body", T.JSONType, nullable=False),
    Column("status", String(12), nullable=False, index=True),  # pending | done | failed
    Column("evidence", T.JSONType, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", T.AwareDateTime(), nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("created_at", T.AwareDateTime(), nullable=False),
)

Notify = Callable[[int, dict[str, Any] | None, str], Awaitable[None]]


def ensure_table(db: BotDB) -> None:
    """Creates the queue table in the bot's database when it is missing."""
    visit_pending.create(db.engine, checkfirst=True)


def evidence_path(visit_id: str) -> str:
    """The store's upload path for a visit."""
    return f"/visits/{visit_id}/evidence"


def upload_form(body: dict[str, Any]) -> dict[str, str]:
    """The multipart form fields of an evidence upload."""
    form = {"source": str(body["source"]), "forwarded": "true" if body.get("forwarded") else "false"}
    if body.get("step_id"):
        form["step_id"] = str(body["step_id"])
    return form


def queue_photo(conn: Connection, key: str, uid: int, visit_id: str, ref: str, body: dict[str, Any]) -> None:
    """Queues a photo (file id, source, step) for a later upload."""
    now = utcnow()
    conn.execute(
        insert(visit_pending).values(
            key=key,
            kind="photo",
            telegram_user_id=uid,
            visit_id=visit_id,
            ref=ref,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def queue_finish(conn: Connection, key: str, uid: int, visit_id: str, body: dict[str, Any]) -> None:
    """Parks a submission until its queued photos have store ids."""
    now = utcnow()
    conn.execute(
        insert(visit_pending).values(
            key=key,
            kind="finish",
            telegram_user_id=uid,
            visit_id=visit_id,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def pending_count(db: BotDB, uid: int) -> int:
    """How many of the user's photos and submissions wait here."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(visit_pending.c.id).where(
                visit_pending.c.telegram_user_id == uid, visit_pending.c.status == "pending"
            )
        ).all()
        return len(rows)


class VisitSync:
    """Uploads queued photos, then releases waiting submissions to the outbox."""

    def __init__(
        self,
        db: BotDB,
        store: StoreClient,
        bot: Bot,
        notify: Notify,
        wake_outbox: Callable[[], None],
        max_backoff: float = 60.0,
    ) -> None:
        self.db = db
        self.store = store
        self.bot = bot
        self.notify = notify
        self.wake_outbox = wake_outbox
        self.max_backoff = max_backoff
        self.busy = False

    def _due(self) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            q = (
                select(visit_pending)
                .where(visit_pending.c.status == "pending")
                .order_by(visit_pending.c.id)
                .limit(200)
            )
            return [dict(r._mapping) for r in conn.execute(q)]

    def _set(self, row_id: int, **values: Any) -> None:
        with self.db.tx() as conn:
            conn.execute(update(visit_pending).where(visit_pending.c.id == row_id).values(**values))

    def _retry(self, row: dict[str, Any], error: str) -> None:
        delay = min(self.max_backoff, 1.0 * (2 ** min(row["attempts"], 10))) * random.uniform(0.8, 1.2)
        self._set(
            row["id"],
            attempts=row["attempts"] + 1,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            last_error=error[:500],
        )

    async def drain_once(self) -> int:
        """One pass: uploads due photos, releases ready submissions; returns how much moved."""
        if self.busy:
            return 0
        self.busy = True
        try:
            return await self._drain()
        finally:
            self.busy = False

    async def _drain(self) -> int:
        moved = 0
        now = utcnow()
        blocked: set[int] = set()
        rows = self._due()
        log.debug("visit sync: %d rows waiting", len(rows))
        for row in rows:
            if row["kind"] != "photo" or row["telegram_user_id"] in blocked:
                continue
            if row["next_attempt_at"] > now:
                blocked.add(row["telegram_user_id"])
                continue
            moved += await self._upload(row, blocked)
        for row in rows:
            if row["kind"] == "finish":
                moved += self._release(row)
        return moved

    async def _upload(self, row: dict[str, Any], blocked: set[int]) -> int:
        body = row["body"]
        uid = row["telegram_user_id"]
        try:
            tg_file = await self.bot.get_file(body["file_id"])
            data = bytes(await tg_file.download_as_bytearray())
            ev = await self.store.upload(
                evidence_path(row["visit_id"]),
                files={
                    "file": (body.get("file_name") or "photo.jpg", data, body.get("mime") or "image/jpeg")
                },
                data=upload_form(body),
                telegram_user_id=uid,
                idempotency_key=row["key"],
            )
        except StoreUnavailable as exc:
            blocked.add(uid)
            self._retry(row, str(exc))
            return 0
        except StoreError as exc:
            self._set(row["id"], status="failed", last_error=f"{exc.code}: {exc.detail}"[:500])
            await self._say(uid, None, exc.detail)
            return 0
        except Exception as exc:  # Telegram download failed: try again later
            blocked.add(uid)
            self._retry(row, f"{type(exc).__name__}: {exc}")
            return 0
        self._set(row["id"], status="done", evidence=ev)
        await self._say(uid, {"ref": row["ref"], "visit_id": row["visit_id"], "evidence": ev}, "")
        return 1

    def _release(self, row: dict[str, Any]) -> int:
        body = row["body"]
        with self.db.tx() as conn:
            photos = conn.execute(
                select(visit_pending.c.ref, visit_pending.c.status, visit_pending.c.evidence).where(
                    visit_pending.c.visit_id == row["visit_id"], visit_pending.c.kind == "photo"
                )
            ).all()
            ids = dict(body.get("known") or {})
            for ref, status, ev in photos:
                if status == "done" and ev:
                    ids[ref] = str(ev["id"])
            refs = set(body.get("refs") or [])
            failed = {ref for ref, status, _ in photos if status == "failed"}
            # A photo the store refused is dropped from the answers rather than blocking the visit.
            answers = finish_answers(_without(body["answers"], failed), refs - failed, ids)
            if answers is None:
                return 0
            finish = {
                "answers": answers,
                "client_findings": body.get("client_findings") or [],
                "finished_at": body.get("finished_at"),
            }
            self.db.outbox_add(
                conn,
                f"finish:{row['visit_id']}",
                row["telegram_user_id"],
                "POST",
                f"/visits/{row['visit_id']}/finish",
                finish,
                label="visit_finish",
            )
            conn.execute(update(visit_pending).where(visit_pending.c.id == row["id"]).values(status="done"))
        self.wake_outbox()
        return 1

    async def _say(self, uid: int, photo: dict[str, Any] | None, text: str) -> None:
        try:
            await self.notify(uid, photo, text)
        except Exception:  # a courtesy message; the sync itself is done
            log.warning("could not tell user %s about a synced photo", uid, exc_info=True)


def _without(answers: list[dict[str, Any]], failed: set[str]) -> list[dict[str, Any]]:
    if not failed:
        return answers
    out = []
    for a in answers:
        a = dict(a)
        a["evidence"] = [r for r in a.get("evidence") or [] if r not in failed]
        if isinstance(a.get("value"), list):
            a["value"] = [v for v in a["value"] if v not in failed]
        out.append(a)
    return out
