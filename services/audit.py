"""The audit log: every write and every read of personal data, chained by SHA-256.

A refused attempt is audited too. The service raises a `DomainError` carrying a `Refusal` (see
`refuse`); the edge's unit of work rolls back, then hands the error to `refused`, which writes the
event in a transaction of its own. One mechanism for every edge: the API's error handler and the
CLI's unit of work both call `keep_refusal`, the bot reaches the store through the API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.db import is_postgres
from models.types import utcnow
from services.context import Actor
from services.errors import DomainError, Refusal

log = logging.getLogger("feijian.audit")
E = TypeVar("E", bound=DomainError)
# Opens a unit of work of its own (commits on success): `lambda: unit_of_work(engine)` at the edges.
UnitOpener = Callable[[], AbstractContextManager[Session]]

GENESIS = "0" * 64
_LOCK_ID = 0x46454A49  # "FEJI": serialises chain appends across PostgreSQL connections


def _canonical(
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> bytes:
    body = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "details": details,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def event_hash(ev: AuditEvent) -> str:
    """The SHA-256 an event must carry given its fields and predecessor."""
    return hashlib.sha256(
        _canonical(ev.at, ev.actor, ev.action, ev.entity, ev.entity_id, ev.details, ev.prev_hash)
    ).hexdigest()


def record(
    session: Session,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: object | None = None,
    **details: Any,
) -> AuditEvent:
    """Appends one event to the chain inside the caller's transaction."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    clean = json.loads(json.dumps(details, ensure_ascii=False, default=str))
    ev = AuditEvent(
        at=utcnow(),
        actor=actor.label if isinstance(actor, Actor) else actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        details=clean,
        prev_hash=last or GENESIS,
        hash="",
    )
    ev.hash = event_hash(ev)
    session.add(ev)
    session.flush()
    return ev


_TABLE = AuditEvent.metadata.tables["audit_event"]
# The whole append in one statement once the lock is held: the predecessor's hash is read and the new
# hash computed in the database. The canonical body ends with `"prev":"<hash>"}` (keys sorted, "prev"
# last), so it is the prefix computed here, the predecessor's hash, and `"}`.
_APPEND = text(
    "INSERT INTO audit_event (at, actor, action, entity, entity_id, details, prev_hash, hash) "
    "SELECT :at, :actor, :action, :entity, :entity_id, :details, p.h, "
    "encode(sha256(convert_to(:prefix || p.h || '\"}', 'UTF8')), 'hex') "
    "FROM (SELECT coalesce((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1), :genesis) AS h) AS p"
).bindparams(
    bindparam("at", type_=_TABLE.c.at.type),
    bindparam("details", type_=_TABLE.c.details.type),
)


_CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


@dataclass
class _Waiting:
    """One event handed to a GroupAppender, and what became of it."""

    label: str
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any]
    done: bool = False
    error: BaseException | None = None


class GroupAppender:
    """Appends events from many threads with one transaction, one chain lock and one commit per batch.

    Every append to the chain is serialised (the chain lock is held until the commit), so one event
    per transaction allows at most one commit — one WAL flush — per event across all API workers. A
    caller here waits until its event is committed (nothing is acknowledged before its audit event
    is durable), and callers that arrive while a batch is being written are written together in the
    next one: the first of them leads, writes the batch in a unit of work of its own, and wakes the
    others (group commit, no background thread). A failed batch raises in every caller it held.
    """

    def __init__(self, open_unit: UnitOpener, max_batch: int = 500) -> None:
        self._open_unit = open_unit
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._busy = False

    def append(
        self, actor: Actor | str, action: str, entity: str, entity_id: object | None = None, **details: Any
    ) -> None:
        """Appends one event and returns once it is committed."""
        mine = _Waiting(
            _label(actor),
            action,
            entity,
            None if entity_id is None else str(entity_id),
            json.loads(json.dumps(details, ensure_ascii=False, default=str)),
        )
        with self._cond:
            self._queue.append(mine)
        while True:
            with self._cond:
                while not mine.done and self._busy:
                    self._cond.wait()
                if mine.done:
                    break
                self._busy = True  # this caller leads: it writes what has queued up (oldest first)
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            error: BaseException | None = None
            try:
                self._write(batch)
            except BaseException as exc:  # every caller of the batch gets it
                error = exc
            with self._cond:
                for w in batch:
                    w.done, w.error = True, error
                self._busy = False
                self._cond.notify_all()
        if mine.error is not None:
            raise mine.error

    def _write(self, batch: list[_Waiting]) -> None:
        with self._open_unit() as session:
            if not is_postgres(session):  # SQLite: one writer at a time anyway
                for w in batch:
                    record(session, w.label, w.action, w.entity, w.entity_id, **w.details)
                return
            conn = session.connection()  # Core: no ORM work per event
            conn.execute(_CHAIN_LOCK, {"k": _LOCK_ID})
            for w in batch:
                _append_pg(session, w.label, w.action, w.entity, w.entity_id, w.details)


_appenders: weakref.WeakKeyDictionary[UnitOpener, GroupAppender] = weakref.WeakKeyDictionary()
_appenders_lock = threading.Lock()


def append_committed(
    open_unit: UnitOpener,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: object | None = None,
    **details: Any,
) -> None:
    """Appends one event in a transaction of its own, batched with concurrent ones; returns once committed.

    For reads: the caller has nothing else to write, and answers only after this returns. One
    GroupAppender per unit opener (an API process has one: `app.state.session_factory`).
    """
    with _appenders_lock:
        appender = _appenders.get(open_unit)
        if appender is None:
            appender = _appenders[open_unit] = GroupAppender(open_unit)
    appender.append(actor, action, entity, entity_id, **details)


def _append_pg(
    session: Session, label: str, action: str, entity: str, eid: str | None, clean: dict[str, Any]
) -> None:
    """Appends one event under the chain lock the caller holds, in one statement."""
    at = utcnow()
    body = _canonical(at, label, action, entity, eid, clean, "").decode()
    if not body.endswith('"prev":""}'):  # cannot happen while "prev" sorts last; keep the slow path honest
        record(session, label, action, entity, eid, **clean)
        return
    session.connection().execute(
        _APPEND,
        {
            "at": at,
            "actor": label,
            "action": action,
            "entity": entity,
            "entity_id": eid,
            "details": clean,
            "prefix": body[:-2],
            "genesis": GENESIS,
        },
    )


def _label(actor: Actor | str) -> str:
    return actor.label if isinstance(actor, Actor) else actor


def refuse(
    error: E,
    actor: Actor | str,
    action: str,
    entity: str,
    entity_id: object | None = None,
    also: Callable[[Session], None] | None = None,
    **details: Any,
) -> E:
    """The error to raise for a refused attempt, carrying the event its edge keeps after the rollback."""
    refusal = Refusal(
        _label(actor), action, entity, None if entity_id is None else str(entity_id), details, also
    )
    return error.audited(refusal)


def refused(open_unit: UnitOpener, refusal: Refusal) -> AuditEvent:
    """Writes a refused attempt's event (and its `also` rows) in a transaction of its own.

    Call it after the refused request's unit of work has rolled back: on SQLite a second writer
    would wait for the first one's lock.
    """
    with open_unit() as session:
        if refusal.also is not None:
            refusal.also(session)
        return record(
            session, refusal.actor, refusal.action, refusal.entity, refusal.entity_id, **refusal.details
        )


def keep_refusal(open_unit: UnitOpener, exc: BaseException) -> None:
    """The edges' hook: audits the refusal an error carries; a failure to do so is logged, not raised."""
    refusal = exc.refusal if isinstance(exc, DomainError) else None
    if refusal is None:
        return
    try:
        refused(open_unit, refusal)
    except Exception:  # the caller still gets its refusal; the missing event is in the log
        log.exception("could not audit the refused attempt %s", refusal.action)


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: ok, or the first bad event and why."""

    count: int
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every event verified."""
        return self.first_bad_seq is None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Recomputes every hash in order and names the first event that does not match."""
    prev = GENESIS
    count = 0
    for ev in _iter_events(session, batch):
        count += 1
        if ev.prev_hash != prev:
            return ChainReport(
                count, ev.seq, "prev_hash does not match the previous event (deleted or reordered)"
            )
        if event_hash(ev) != ev.hash:
            return ChainReport(count, ev.seq, "content does not match its hash (edited)")
        prev = ev.hash
    return ChainReport(count)


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) > last).order_by(col(AuditEvent.seq)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq or last


def recent(
    session: Session, actor: Actor, limit: int = 100, entity_id: str | None = None
) -> list[AuditEvent]:
    """The latest events (admins and supervisors only)."""
    from models.user import Role

    actor.require(Role.supervisor)
    q = select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(min(max(limit, 1), 1000))
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(q).all())
