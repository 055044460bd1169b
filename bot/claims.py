"""Several bot processes on one bot database: inbox rows handed out per chat in order, and jobs that
only one process may run at a time (a part of `bot.db.BotDB`).

An inbox worker joins with a random id. On PostgreSQL it holds that id as a session advisory lock on
a connection of its own for as long as it lives: a process that dies (even `kill -9`) loses its
connection, its lock, and so its claims, which any other worker takes over at once. SQLite is served
by one bot process: there, every claim is this process's own or left over from a stopped one.

The rule (`inbox_claim`): a pending row is handed out only when no earlier row of its chat is still
pending, whether waiting, in progress or waiting for a retry, and nobody alive holds it. So one
chat's updates are handled strictly in order by whichever worker gets them, different chats in
parallel, and a failing update holds back only its own chat until it succeeds or is dead-lettered.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select, text, update

from bot import tables as T

log = logging.getLogger("feijian.bot.claims")

# Live workers: the bigint advisory locks held in this database (high half in classid, low in objid).
_CLAIM_PG = text(
    """
    WITH alive AS (
        SELECT (l.classid::bigint << 32) | l.objid::bigint AS worker
        FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    )
    SELECT i.id FROM inbox i
    WHERE i.status = 'pending'
      AND i.id <> ALL(:busy)
      AND (i.claimed_by IS NULL OR i.claimed_by = :me OR i.claimed_by NOT IN (SELECT worker FROM alive))
      AND NOT EXISTS (
          SELECT 1 FROM inbox e WHERE e.chat_id = i.chat_id AND e.status = 'pending' AND e.id < i.id
      )
    ORDER BY i.id
    LIMIT :n
    FOR UPDATE OF i SKIP LOCKED
    """
)


def lock_key(name: str) -> int:
    """A stable advisory lock key for a named job (63-bit, positive)."""
    return int.from_bytes(hashlib.sha256(f"feijian-bot:{name}".encode()).digest()[:8], "big") >> 1


class InboxClaims(ABC):
    """Claims of inbox rows by inbox workers, and exclusive jobs (BotDB provides engine and tx)."""

    engine: Engine
    worker: int | None = None
    _alive: Connection | None = None

    @abstractmethod
    def tx(self) -> AbstractContextManager[Connection]:
        """One transaction (BotDB's)."""

    @property
    def _on_pg(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def inbox_join(self) -> int:
        """Makes this process an inbox worker (once); returns its id."""
        if self.worker is not None:
            return self.worker
        worker = secrets.randbelow(2**62 - 1) + 1
        if self._on_pg:
            conn = self.engine.connect()
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": worker})
            conn.commit()  # the lock is the session's; no transaction stays open
            self._alive = conn
        self.worker = worker
        return worker

    def inbox_leave(self) -> None:
        """Stops being an inbox worker: this process's claims go to whoever claims next."""
        if self._alive is not None:
            try:
                # Unlock before closing: a closed socket frees the lock only once the server's
                # backend has noticed, and another worker may claim in between.
                self._alive.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.worker})
                self._alive.commit()
                self._alive.invalidate()  # never back to the pool, so no session state lingers
            except Exception:  # the connection may be gone already, which releases the lock too
                log.debug("closing the inbox worker's connection failed", exc_info=True)
            try:
                self._alive.close()
            except Exception:
                log.debug("closing the inbox worker's connection failed", exc_info=True)
        self._alive = None
        self.worker = None

    def inbox_claim(self, limit: int, busy: Collection[int] = ()) -> list[dict[str, Any]]:
        """Hands this worker up to `limit` rows, each the oldest pending one of its chat that no
        other live worker holds, oldest first, leaving out those it is handling (`busy`)."""
        me = self.inbox_join()
        if limit <= 0:
            return []
        c = T.inbox.c
        with self.tx() as conn:
            if self._on_pg:
                params = {"n": limit, "me": me, "busy": list(busy)}
                ids = [int(r[0]) for r in conn.execute(_CLAIM_PG, params)]
            else:
                e = T.inbox.alias("e")
                earlier = (
                    select(e.c.id)
                    .where(e.c.chat_id == c.chat_id, e.c.status == "pending", e.c.id < c.id)
                    .exists()
                )
                q = (
                    select(c.id)
                    .where(c.status == "pending", c.id.not_in(list(busy)), ~earlier)
                    .order_by(c.id)
                    .limit(limit)
                )
                ids = [int(r[0]) for r in conn.execute(q)]
            if not ids:
                return []
            conn.execute(update(T.inbox).where(c.id.in_(ids)).values(claimed_by=me))
            q = select(c.id, c.update_id, c.chat_id, c.raw, c.attempts).where(c.id.in_(ids)).order_by(c.id)
            return [dict(r._mapping) for r in conn.execute(q)]

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this process runs the named job now, alone among the bot's processes (a PostgreSQL
        advisory lock held for the block; SQLite has one bot process, so always)."""
        if not self._on_pg:
            yield True
            return
        key = lock_key(name)
        with self.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        conn.commit()
                    except Exception:  # a broken connection has released it already
                        log.debug("advisory unlock of %s failed", name, exc_info=True)
