from __future__ import annotations

from sqlmodel import Session, select

from contracts.ledger import LedgerState
from models.household import Household, HouseholdStatus
from models.ledger import LedgerEvent, LedgerItem
from services import demo, demo_ledger, ledger, ledger_queries
from services.config import Settings
from services.context import Actor
from services.rounds import local_today


def test_demo_seeds_an_earlier_round_with_items_in_every_state(session: Session, settings: Settings) -> None:
    demo.seed(session, households=400, inspectors=4, seed_value=7)
    report = demo_ledger.seed_ledger(session, settings, local_today())
    assert report.items >= 9 and len(report.officers) >= 2
    assert set(report.states) == {s.value for s in LedgerState}, report.states
    items = session.exec(select(LedgerItem)).all()
    assert all(i.responsible_user_id is not None for i in items)
    overdue, _ = ledger_queries.list_items(session, Actor.system(), ledger_queries.LedgerFilter(overdue=True))
    assert len(overdue) >= 2
    closed = [i for i in items if i.state is LedgerState.closed]
    for item in closed:
        verify = session.exec(
            select(LedgerEvent).where(LedgerEvent.item_id == item.id, LedgerEvent.action == "verify")
        ).one()
        assert verify.evidence_ids  # closed on the visit's photo
        h = session.get(Household, item.household_id)
        assert h is not None
        assert (h.status is HouseholdStatus.exited) is (item.outcome.get("change") == "exit")
    assert any(i.outcome.get("change") == "exit" for i in closed)
    assert not any(ledger.is_overdue(i) for i in closed)
    # the current round is still seeded after it
    assert demo.seed_round(session, local_today()).sample >= 1


def test_demo_death_file_finds_its_matches_once(session: Session, settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from contracts.crosschecks import MatchOutcome
    from services import crosschecks, demo_crosschecks

    demo.seed(session, households=400, inspectors=4, seed_value=7)
    demo_ledger.seed_ledger(session, settings, local_today())
    report = demo_crosschecks.seed(session, local_today(), tmp_path)
    assert report.matched == 3 and report.ledger_items == 2 and report.findings == 3 and report.errors == 1
    assert report.path is not None and report.path.exists()
    outcomes = [m.outcome for m in crosschecks.list_matches(session, Actor.system(), period=report.month)]
    assert sorted(outcomes) == sorted(
        [MatchOutcome.paid_after_death, MatchOutcome.paid_after_death, MatchOutcome.household_size_changed]
    )
    again = crosschecks.import_file(session, Actor.system(), "deaths", report.path, report.month)
    assert again.new_matches == 0
