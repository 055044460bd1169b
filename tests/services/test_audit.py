from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from services import audit
from services.context import Actor


def test_chain_verifies_and_names_tampered_event(session: Session) -> None:
    actor = Actor.system("test")
    events = [audit.record(session, actor, "thing.do", "thing", i, n=i) for i in range(5)]
    assert audit.verify_chain(session).ok
    session.execute(
        text("UPDATE audit_event SET actor = 'admin:mallory' WHERE seq = :s"), {"s": events[2].seq}
    )
    session.expire_all()
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_seq == events[2].seq
    assert "edited" in (report.reason or "")


def test_deleted_event_breaks_the_chain(session: Session) -> None:
    actor = Actor.system("test")
    events = [audit.record(session, actor, "thing.do", "thing", i) for i in range(4)]
    session.execute(text("DELETE FROM audit_event WHERE seq = :s"), {"s": events[1].seq})
    session.expire_all()
    report = audit.verify_chain(session)
    assert report.first_bad_seq == events[2].seq


def test_appended_events_are_chained_in_one_statement(session: Session) -> None:
    """The batched path computes each hash in the database (PostgreSQL); it must be the same hash."""
    actor = Actor.system("test")
    first = audit.record(session, actor, "thing.do", "thing", 1)
    appender = audit.GroupAppender(lambda: nullcontext(session))
    appender.append(actor, "thing.read", "thing", 2, note='读取 "引号"', n=2)
    appender.append(actor, "thing.read", "thing", None)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "thing.read").order_by(col(AuditEvent.seq))
    ).all()
    assert [e.entity_id for e in events] == ["2", None]
    assert events[0].prev_hash == first.hash and events[1].prev_hash == events[0].hash
    assert events[0].details == {"note": '读取 "引号"', "n": 2}
    assert all(e.hash == audit.event_hash(e) for e in events)
    assert audit.verify_chain(session).ok


def test_concurrent_appends_share_transactions(session: Session) -> None:
    """Callers arriving while a batch is written are written together, and each returns after its commit."""
    opened: list[int] = []
    guard = threading.Lock()  # the test's one session, used by one leader at a time anyway

    @contextmanager
    def slow_unit() -> Iterator[Session]:
        with guard:
            opened.append(1)
            time.sleep(0.05)
            yield session

    appender = audit.GroupAppender(slow_unit)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: appender.append("test", "thing.seen", "thing", i), range(32)))
    seen = session.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "thing.seen")).all()
    assert sorted(seen, key=int) == [str(i) for i in range(32)]
    assert len(opened) < 32
    assert audit.verify_chain(session).ok


def test_a_failed_batch_raises_in_its_callers(session: Session) -> None:
    @contextmanager
    def broken() -> Iterator[Session]:
        raise RuntimeError("database gone")
        yield session  # pragma: no cover

    with pytest.raises(RuntimeError, match="database gone"):
        audit.GroupAppender(broken).append("test", "thing.lost", "thing", 1)
