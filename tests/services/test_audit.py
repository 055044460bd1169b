from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

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
