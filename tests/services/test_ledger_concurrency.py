"""Concurrent verify and return of one item on PostgreSQL: one wins, the other gets 409.

Runs in a database of its own (committed data in two real sessions), dropped afterwards.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from contracts.ledger import FixIn, LedgerState, VerifyIn
from models.db import make_engine
from models.ledger import LedgerItem
from models.migrate import upgrade
from services import findings_review, ledger
from services.errors import Conflict
from tests.conftest import PG_ADMIN_URL
from tests.ledger_helpers import cast, evidence_of, finding

DB = f"feijian_test_{os.getpid()}_ledger_cc"


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DB}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    eng = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}")
    upgrade(str(eng.url.render_as_string(hide_password=False)))
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
    admin.dispose()


def test_concurrent_verify_and_return_one_wins(pg: Engine) -> None:
    with Session(pg, expire_on_commit=False) as s:
        c = cast(s, "LBCC1")
        item = findings_review.confirm(s, c.sup, finding(s, c.sup, c.household).id)
        ledger.submit_fix(s, c.officer, item.id, FixIn(note="已整改"))
        ev = evidence_of(s, c.household)
        s.commit()
        item_id, version, ev_id = item.id, item.version, ev.id
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def run(name: str) -> None:
        with Session(pg, expire_on_commit=False) as s:
            try:
                s.get(LedgerItem, item_id)  # both have read the item before either moves it
                barrier.wait(timeout=30)
                if name == "verify":
                    ledger.verify(s, c.sup, item_id, VerifyIn(evidence_ids=[ev_id], version=version))
                else:
                    ledger.return_fix(s, c.sup2, item_id, "整改不到位", version=version)
                s.commit()
                results[name] = "ok"
            except Conflict as exc:
                s.rollback()
                results[name] = exc.code

    threads = [threading.Thread(target=run, args=(n,)) for n in ("verify", "return")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == ["ledger_changed", "ok"], results
    with Session(pg) as s:
        final = s.get(LedgerItem, item_id)
        assert final is not None and final.version == version + 1
        winner = "verify" if results["verify"] == "ok" else "return"
        assert final.state is (LedgerState.closed if winner == "verify" else LedgerState.returned)


def test_concurrent_confirms_of_one_problem_file_one_item(pg: Engine) -> None:
    with Session(pg, expire_on_commit=False) as s:
        c = cast(s, "LBCC2")
        first = finding(s, c.sup, c.household)
        second = finding(s, c.sup2, c.household)
        s.commit()
    barrier = threading.Barrier(2)
    filed: dict[str, object] = {}

    def run(name: str, finding_id: object, actor: object) -> None:
        with Session(pg, expire_on_commit=False) as s:
            barrier.wait(timeout=30)
            item = findings_review.confirm(s, actor, finding_id)  # type: ignore[arg-type]
            s.commit()
            filed[name] = (item.id, item.number)

    threads = [
        threading.Thread(target=run, args=("a", first.id, c.sup)),
        threading.Thread(target=run, args=("b", second.id, c.sup2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(filed) == 2 and filed["a"] == filed["b"], filed
