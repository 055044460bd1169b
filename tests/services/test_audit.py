from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session, select

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


def test_an_event_recorded_on_commit_is_chained_at_the_commit(session: Session) -> None:
    actor = Actor.system("test")
    first = audit.record(session, actor, "thing.do", "thing", 1)
    audit.record_on_commit(session, actor, "thing.read", "thing", 2, note="读取", n=2)
    assert audit.pending_count(session) == 1
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "thing.read")).first() is None
    session.commit()
    assert audit.pending_count(session) == 0
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "thing.read")).one()
    assert ev.prev_hash == first.hash and ev.details == {"note": "读取", "n": 2}
    assert ev.hash == audit.event_hash(ev)
    assert audit.verify_chain(session).ok


def test_an_event_recorded_on_commit_is_dropped_with_a_rollback(engine: Engine) -> None:
    with Session(engine) as s:
        audit.record_on_commit(s, Actor.system("test"), "thing.gone", "thing", 1)
        s.rollback()
        assert audit.pending_count(s) == 0
        s.commit()
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "thing.gone")).first() is None
