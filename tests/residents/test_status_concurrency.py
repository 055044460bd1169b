"""Status lookups in parallel, on real units of work: every lookup audited, the chain still verifies."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from contracts.residents import StatusQuery
from models.application import StatusAttempt
from models.audit import AuditEvent
from models.db import unit_of_work
from services import audit, public_status
from services.context import Actor
from services.errors import DomainError
from tests.factories import make_id
from tests.residents.helpers import Applicant, make_application
from tests.services.test_refusals import own_engine  # noqa: F401  (the fixture)

N = 24


def _lookup(opener: audit.UnitOpener, query: StatusQuery, client: str) -> str:
    """One lookup on real units of work, as the API runs it (one opener per process, as there)."""
    try:
        public_status.lookup(opener, query, client)
        return "ok"
    except DomainError as exc:
        return exc.code


def _opener(engine: Engine) -> audit.UnitOpener:
    return lambda: unit_of_work(engine)


def _count(s: Session, action: str) -> int:
    return s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).one()


def test_parallel_lookups_leave_one_event_each_and_a_verifying_chain(own_engine: Engine) -> None:  # noqa: F811
    with Session(own_engine) as s:
        people: list[Applicant] = [make_application(s, name=f"测试{i}", seed=i) for i in range(6)]
    opener = _opener(own_engine)
    queries = [
        StatusQuery(number=p.number, id_number=p.id_number, name=p.name)
        for p in people
        for _ in range(N // 6)
    ]

    # other writers append to the same chain at the same time, through the lock-at-once path
    def other(i: int) -> str:
        with Session(own_engine) as s:
            audit.record(s, Actor.system("test"), "thing.do", "thing", i)
            s.commit()
        return "other"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda q: _lookup(opener, q[1], f"10.1.0.{q[0]}"), enumerate(queries)))
        others = list(pool.map(other, range(6)))
    assert results == ["ok"] * N and len(others) == 6
    with Session(own_engine) as s:
        assert _count(s, "application.status_read") == N
        assert _count(s, "thing.do") == 6
        report = audit.verify_chain(s)
        assert report.ok, report


def test_a_parallel_flood_from_one_address_is_audited_and_then_refused(own_engine: Engine) -> None:  # noqa: F811
    """Twenty wrong guesses at once from one address: five are answered, all audited, the rest refused."""
    with Session(own_engine) as s:
        a = make_application(s)
    rng = random.Random(5)
    opener = _opener(own_engine)
    guesses = [StatusQuery(number=a.number, id_number=make_id(rng), name=a.name) for _ in range(20)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda q: _lookup(opener, q, "203.0.113.9"), guesses))
    assert set(codes) <= {"status_not_found", "status_throttled"}
    assert codes.count("status_not_found") == 5  # exactly five guesses answered, however many at once
    right = StatusQuery(number=a.number, id_number=a.id_number, name=a.name)
    assert _lookup(opener, right, "203.0.113.9") == "status_throttled"
    with Session(own_engine) as s:
        failed = _count(s, "application.status_failed")
        throttled = _count(s, "application.status_throttled")
        assert failed == codes.count("status_not_found")
        assert throttled == codes.count("status_throttled") + 1
        attempts = s.exec(select(StatusAttempt).where(col(StatusAttempt.ok).is_(False))).all()
        assert len(attempts) == failed
        assert audit.verify_chain(s).ok
