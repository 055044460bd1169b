"""The inbox's queries (a part of `bot.db.BotDB`): raw updates stored, handled, dead-lettered, replayed."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from bot import tables as T

log = logging.getLogger("feijian.bot.inbox")
EPOCH_KEY = "inbox_epoch"
STORE_LOCK = 0x46_4A_49_4E  # "FJIN": advisory lock serialising inbox_store (numbering, epochs)


def utcnow() -> datetime:
    """The current time, aware in UTC."""
    return datetime.now(UTC)


class DuplicateUpdate(Exception):
    """This update_id was handled before: the handler must have no second effect."""


def raw_chat_id(raw: Any) -> int | None:
    """The chat a raw update came from, read without parsing it (None when there is none)."""
    if not isinstance(raw, dict):
        return None
    for key, value in raw.items():
        if not isinstance(value, dict) or key == "update_id":
            continue
        for holder in (value.get("message"), value):
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])  # a private chat's id is its user's
    return None


class InboxQueries(ABC):
    """The inbox and dead-letter tables behind named operations (BotDB provides engine and tx)."""

    engine: Engine

    @abstractmethod
    def tx(self) -> AbstractContextManager[Connection]:
        """One transaction (BotDB's)."""

    @abstractmethod
    def _insert_ignore(self, table: Any) -> Any:
        """An INSERT that skips rows whose key exists (BotDB's, per dialect)."""

    def inbox_store(self, raws: list[Any]) -> list[int]:
        """Stores raw updates in one transaction (before they are confirmed); returns the new row ids.

        A repeated update (same id and content, e.g. a webhook retry) is stored once. An update_id
        already used in this numbering epoch by other content, or lower than the last one, means
        Telegram (or the sandbox) restarted its numbering: a new epoch begins and it is new.
        """
        c = T.inbox.c
        out: list[int] = []
        with self.tx() as conn:
            if self.engine.dialect.name == "postgresql":  # one store at a time across bot processes
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORE_LOCK})
            epoch = int(
                conn.execute(select(T.bot_meta.c.value).where(T.bot_meta.c.key == EPOCH_KEY)).scalar() or 0
            )
            last = conn.execute(select(c.update_id, c.epoch).order_by(c.id.desc()).limit(1)).first()
            for raw in raws:
                uid = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(uid, int):
                    log.warning("update without an update_id ignored: %.200r", raw)
                    continue
                same = conn.execute(select(c.raw).where(c.update_id == uid, c.epoch == epoch)).first()
                if same is not None and same.raw == raw:
                    continue  # delivered again: stored already
                if same is not None or (last is not None and last.epoch == epoch and uid <= last.update_id):
                    epoch += 1
                    log.warning(
                        "update_id %d after %s: the numbering restarted; handled as new (epoch %d)",
                        uid,
                        last.update_id if last is not None else "-",
                        epoch,
                    )
                    self._set_meta(conn, EPOCH_KEY, str(epoch))
                res = conn.execute(
                    self._insert_ignore(T.inbox)
                    .values(
                        update_id=uid,
                        epoch=epoch,
                        chat_id=raw_chat_id(raw),
                        raw=raw,
                        status="pending",
                        attempts=0,
                        received_at=utcnow(),
                    )
                    .returning(c.id)
                )
                row_id = res.scalar()
                if row_id is not None:
                    out.append(int(row_id))
                last = conn.execute(select(c.update_id, c.epoch).where(c.id == row_id)).first() or last
        return out

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        res = conn.execute(update(T.bot_meta).where(T.bot_meta.c.key == key).values(value=value))
        if not res.rowcount:
            conn.execute(insert(T.bot_meta).values(key=key, value=value))

    def inbox_offset(self) -> int | None:
        """The getUpdates offset that confirms everything stored (None for an empty inbox)."""
        with self.engine.connect() as conn:
            last = conn.execute(select(T.inbox.c.update_id).order_by(T.inbox.c.id.desc()).limit(1)).scalar()
            return int(last) + 1 if last is not None else None

    def inbox_pending(self, after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """Stored updates not handled yet (with a row id above `after`), in the order they arrived."""
        c = T.inbox.c
        with self.engine.connect() as conn:
            q = select(c.id, c.update_id, c.chat_id, c.raw, c.attempts).where(
                c.status == "pending", c.id > after
            )
            return [dict(r._mapping) for r in conn.execute(q.order_by(c.id).limit(limit))]

    def inbox_waiting(self, chat_id: int, row_id: int) -> int:
        """How many other stored updates of the chat are still waiting to be handled."""
        c = T.inbox.c
        with self.engine.connect() as conn:
            q = select(func.count()).where(c.status == "pending", c.chat_id == chat_id, c.id != row_id)
            return int(conn.execute(q).scalar() or 0)

    def inbox_attempt(self, row_id: int) -> int:
        """Counts one more attempt at handling a stored update (a crash mid-handler counts too)."""
        c = T.inbox.c
        with self.tx() as conn:
            res = conn.execute(
                update(T.inbox).where(c.id == row_id).values(attempts=c.attempts + 1).returning(c.attempts)
            )
            return int(res.scalar() or 0)

    def inbox_done(self, conn: Connection, row_id: int) -> None:
        """Marks a stored update handled inside the handler's transaction; DuplicateUpdate if it was."""
        c = T.inbox.c
        res = conn.execute(
            update(T.inbox)
            .where(c.id == row_id, c.status == "pending")
            .values(status="done", done_at=utcnow())
        )
        if not res.rowcount:
            raise DuplicateUpdate(row_id)

    def inbox_finish(self, row_id: int) -> None:
        """Marks a stored update handled when its handler wrote nothing."""
        c = T.inbox.c
        with self.tx() as conn:
            conn.execute(
                update(T.inbox)
                .where(c.id == row_id, c.status == "pending")
                .values(status="done", done_at=utcnow())
            )

    def inbox_dead(self, row_id: int, error: str) -> int | None:
        """Moves a stored update to the dead letters with its error; returns the dead letter's id."""
        c = T.inbox.c
        with self.tx() as conn:
            row = conn.execute(select(T.inbox).where(c.id == row_id, c.status == "pending")).first()
            if row is None:
                return None
            conn.execute(update(T.inbox).where(c.id == row_id).values(status="dead", done_at=utcnow()))
            conn.execute(delete(T.dead_letter).where(T.dead_letter.c.inbox_id == row_id))
            res = conn.execute(
                insert(T.dead_letter)
                .values(
                    inbox_id=row_id,
                    update_id=row.update_id,
                    chat_id=row.chat_id,
                    raw=row.raw,
                    error=error[:500],
                    failed_at=utcnow(),
                )
                .returning(T.dead_letter.c.id)
            )
            return int(res.scalar_one())

    def dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        """The dead letters, oldest first (by default those not replayed yet)."""
        d = T.dead_letter.c
        q = select(T.dead_letter).order_by(d.id)
        if not include_replayed:
            q = q.where(d.replayed_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def dead_letter_replay(self, letter_id: int) -> bool:
        """Puts a dead letter's update back into the inbox to be handled again (False if unknown)."""
        d = T.dead_letter.c
        with self.tx() as conn:
            row = conn.execute(
                select(T.dead_letter).where(d.id == letter_id, d.replayed_at.is_(None))
            ).first()
            if row is None:
                return False
            conn.execute(update(T.dead_letter).where(d.id == letter_id).values(replayed_at=utcnow()))
            conn.execute(
                update(T.inbox)
                .where(T.inbox.c.id == row.inbox_id)
                .values(status="pending", attempts=0, done_at=None, claimed_by=None)
            )
            return True
