"""The bot's database: engine, one transaction per handled update, and the queries handlers need.

Calls are synchronous on purpose: they are short (SQLite WAL or a local PostgreSQL) and run on the
event loop thread, which makes each handler's transaction a single uninterrupted step: no other
update can interleave between "state written" and "update recorded".
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot import tables as T
from bot import upgrade
from bot.claims import InboxClaims
from bot.inbox_db import DuplicateUpdate as DuplicateUpdate
from bot.inbox_db import InboxQueries
from bot.inbox_db import utcnow as utcnow
from bot.store_calls import UPLOAD_OP

if TYPE_CHECKING:
    from bot.outbox import Job


class SchemaMismatch(RuntimeError):
    """The bot database was made by another version of the bot."""


def make_engine(url: str) -> Engine:
    """An engine with WAL and real transactions on SQLite, pre-ping on PostgreSQL."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class BotDB(InboxQueries, InboxClaims):
    """The bot's tables behind small, named operations."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._dialect = self.engine.dialect.name
        with self.tx() as conn:
            found = upgrade.schema_version(conn)
            if found not in (None, T.SCHEMA_VERSION, *upgrade.PREVIOUS):
                raise SchemaMismatch(
                    f"bot database schema {found} != {T.SCHEMA_VERSION}; drain the outbox, then remove it"
                )
            if found in upgrade.PREVIOUS:
                upgrade.upgrade(conn, found)  # in place, queued store writes kept
            T.metadata.create_all(conn)
            if found is None:
                conn.execute(insert(T.bot_meta).values(key="schema", value=T.SCHEMA_VERSION))

    def dispose(self) -> None:
        """Closes every pooled connection (and leaves the inbox workers)."""
        self.inbox_leave()
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction: commits on success, rolls back on error."""
        with self.engine.begin() as conn:
            yield conn

    def _insert_ignore(self, table: Any) -> Any:
        ins = postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table)
        return ins.on_conflict_do_nothing()

    # ---- handled updates
    def seen(self, update_id: int) -> bool:
        """Whether this update was handled already."""
        with self.engine.connect() as conn:
            q = select(T.processed_update.c.update_id).where(T.processed_update.c.update_id == update_id)
            return conn.execute(q).first() is not None

    def record_update(self, conn: Connection, update_id: int, telegram_user_id: int | None) -> None:
        """Records the update inside the handler's transaction; DuplicateUpdate when already there."""
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(T.processed_update).values(
                        update_id=update_id, telegram_user_id=telegram_user_id, handled_at=utcnow()
                    )
                )
        except IntegrityError as exc:
            raise DuplicateUpdate(update_id) from exc

    def prune_updates(self, older_than: timedelta = timedelta(days=3)) -> int:
        """Forgets handled updates older than Telegram would ever redeliver (24 h); the inbox keeps
        its last row, which holds the offset and the numbering epoch."""
        cutoff = utcnow() - older_than
        c = T.inbox.c
        with self.tx() as conn:
            res = conn.execute(delete(T.processed_update).where(T.processed_update.c.handled_at < cutoff))
            last = conn.execute(select(func.max(c.id))).scalar()
            gone = conn.execute(
                delete(T.inbox).where(c.status == "done", c.received_at < cutoff, c.id != (last or 0))
            )
            return int(res.rowcount or 0) + int(gone.rowcount or 0)

    def turn_state(
        self, update_id: int, telegram_user_id: int, inbox_id: int | None = None
    ) -> tuple[bool, dict[str, Any] | None, list[dict[str, Any]]]:
        """What one update needs, in one connection: handled before?, the user, their conversations.

        An update from the inbox is handled when its row is no longer pending; any other (handed
        straight to the Application) is looked up by its update_id."""
        with self.engine.connect() as conn:
            if inbox_id is not None:
                q = select(T.inbox.c.id).where(T.inbox.c.id == inbox_id, T.inbox.c.status != "pending")
            else:
                q = select(T.processed_update.c.update_id).where(T.processed_update.c.update_id == update_id)
            if conn.execute(q).first() is not None:
                return True, None, []
            user = conn.execute(
                select(T.bot_user).where(T.bot_user.c.telegram_user_id == telegram_user_id)
            ).first()
            convs = conn.execute(
                select(T.conversation).where(T.conversation.c.telegram_user_id == telegram_user_id)
            ).all()
            return False, dict(user._mapping) if user else None, [dict(r._mapping) for r in convs]

    # ---- users
    def user(self, telegram_user_id: int) -> dict[str, Any] | None:
        """The bot's record of a Telegram user."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(T.bot_user).where(T.bot_user.c.telegram_user_id == telegram_user_id)
            ).first()
            return dict(row._mapping) if row else None

    def save_user(self, conn: Connection, telegram_user_id: int, chat_id: int, **fields: Any) -> None:
        """Creates or changes the bot's record of a user."""
        fields["updated_at"] = utcnow()
        res = conn.execute(
            update(T.bot_user).where(T.bot_user.c.telegram_user_id == telegram_user_id).values(**fields)
        )
        if not res.rowcount:
            conn.execute(
                insert(T.bot_user).values(telegram_user_id=telegram_user_id, chat_id=chat_id, **fields)
            )

    # ---- outbox
    def outbox_add(self, conn: Connection, telegram_user_id: int | None, job: Job) -> None:
        """Queues a write for the store (a repeated key is ignored)."""
        now = utcnow()
        conn.execute(
            self._insert_ignore(T.outbox).values(
                key=job.key,
                telegram_user_id=telegram_user_id,
                op=job.op,
                target=job.target,
                body=job.body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def outbox_uploads(self, target: str, status: str | None = None) -> list[dict[str, Any]]:
        """The photo uploads queued for a visit (all, or those in one status)."""
        c = T.outbox.c
        q = select(T.outbox).where(c.target == target, c.op == UPLOAD_OP)
        if status is not None:
            q = q.where(c.status == status)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(c.id))]

    def outbox_waiting(self, telegram_user_id: int) -> int:
        """How many of the user's writes are not yet in the store."""
        with self.engine.connect() as conn:
            q = (
                select(func.count())
                .select_from(T.outbox)
                .where(T.outbox.c.telegram_user_id == telegram_user_id, T.outbox.c.status == "pending")
            )
            return int(conn.execute(q).scalar() or 0)

    def outbox_due(self, limit: int = 100) -> list[dict[str, Any]]:
        """Pending writes in order; a user's later writes are returned even if not due (callers skip)."""
        with self.engine.connect() as conn:
            q = select(T.outbox).where(T.outbox.c.status == "pending").order_by(T.outbox.c.id).limit(limit)
            return [dict(r._mapping) for r in conn.execute(q)]

    def outbox_finish(self, row_id: int, status: str, response: Any = None, error: str | None = None) -> None:
        """Marks a write done or failed."""
        with self.tx() as conn:
            conn.execute(
                update(T.outbox)
                .where(T.outbox.c.id == row_id)
                .values(
                    status=status,
                    response=response,
                    last_error=error[:500] if error else None,
                    done_at=utcnow(),
                    attempts=T.outbox.c.attempts + 1,
                )
            )

    def outbox_retry(self, row_id: int, attempts: int, base: float, cap: float, error: str) -> None:
        """Schedules another attempt with exponential backoff and jitter."""
        delay = min(cap, base * (2 ** min(attempts, 16))) * random.uniform(0.8, 1.2)
        with self.tx() as conn:
            conn.execute(
                update(T.outbox)
                .where(T.outbox.c.id == row_id)
                .values(
                    attempts=attempts + 1,
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                    last_error=error[:500],
                )
            )

    # ---- notices
    def notices_add(self, rows: list[dict[str, Any]]) -> None:
        """Queues notices; one per notice and recipient whatever the number of polls."""
        if not rows:
            return
        now = utcnow()
        with self.tx() as conn:
            for r in rows:
                conn.execute(
                    self._insert_ignore(T.outgoing_notice).values(
                        status="pending", attempts=0, not_before=now, created_at=now, **r
                    )
                )

    def notices_due(self, limit: int = 30) -> list[dict[str, Any]]:
        """Pending notices whose time has come, oldest first."""
        with self.engine.connect() as conn:
            q = (
                select(T.outgoing_notice)
                .where(T.outgoing_notice.c.status == "pending", T.outgoing_notice.c.not_before <= utcnow())
                .order_by(T.outgoing_notice.c.id)
                .limit(limit)
            )
            return [dict(r._mapping) for r in conn.execute(q)]

    def notice_set(self, row_id: int, **fields: Any) -> None:
        """Changes a notice's delivery state."""
        with self.tx() as conn:
            conn.execute(update(T.outgoing_notice).where(T.outgoing_notice.c.id == row_id).values(**fields))

    def notices_recover(self) -> int:
        """Before a send pass: a notice caught mid-send by a stop may have arrived; never sent twice."""
        with self.tx() as conn:
            res = conn.execute(
                update(T.outgoing_notice)
                .where(T.outgoing_notice.c.status == "sending")
                .values(status="uncertain", error="bot stopped while sending")
            )
            return int(res.rowcount or 0)

    def notices_by_status(self) -> dict[str, int]:
        """Counts of notices per delivery state."""
        with self.engine.connect() as conn:
            q = select(T.outgoing_notice.c.status, func.count()).group_by(T.outgoing_notice.c.status)
            return {str(s): int(n) for s, n in conn.execute(q)}

    # ---- conversations
    def conversation(self, telegram_user_id: int, name: str) -> dict[str, Any] | None:
        """A conversation in progress, or None."""
        with self.engine.connect() as conn:
            c = T.conversation.c
            row = conn.execute(
                select(T.conversation).where(c.telegram_user_id == telegram_user_id, c.name == name)
            ).first()
            return dict(row._mapping) if row else None

    def save_conversation(
        self, conn: Connection, telegram_user_id: int, name: str, state: str, data: Any, nonce: str
    ) -> None:
        """Writes where a conversation stands (inside the handler's transaction)."""
        c = T.conversation.c
        values = {"state": state, "data": data, "nonce": nonce, "updated_at": utcnow()}
        res = conn.execute(
            update(T.conversation)
            .where(c.telegram_user_id == telegram_user_id, c.name == name)
            .values(**values)
        )
        if not res.rowcount:
            conn.execute(
                insert(T.conversation).values(telegram_user_id=telegram_user_id, name=name, **values)
            )

    def end_conversation(self, conn: Connection, telegram_user_id: int, name: str | None = None) -> int:
        """Ends one (or every) conversation of a user."""
        q = delete(T.conversation).where(T.conversation.c.telegram_user_id == telegram_user_id)
        if name is not None:
            q = q.where(T.conversation.c.name == name)
        return int(conn.execute(q).rowcount or 0)
