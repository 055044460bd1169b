"""The demo's applications: every stage present, one on notice, and the printed sample answers on /status."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from contracts.residents import ApplicationOutcome, Stage
from models.application import Application
from services import demo_residents, public_notice
from tests.factories import ensure_regions


def test_demo_applications_and_sample_lookup(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session, "150422100200")
    ensure_regions(session, "150422100201")
    sample = demo_residents.seed(session, date.today())
    assert sample is not None
    assert demo_residents.seed(session, date.today()) == sample  # idempotent, same sample
    session.commit()
    apps = session.exec(select(Application)).all()
    assert {a.stage for a in apps} == set(Stage)
    assert any(a.outcome == ApplicationOutcome.refused for a in apps)
    assert len(public_notice.current(session)) == 1
    r = client.post(
        "/api/v1/public/status",
        json={"number": sample.number, "id_number": sample.id_number, "name": sample.name},
    )
    assert r.status_code == 200 and r.json()["stage"] == "民主评议"


def test_demo_imports_a_12345_export_once(session: Session) -> None:
    from contracts.residents import CaseSource, CaseState
    from models.application import Case
    from tests.factories import make_household

    ensure_regions(session, "150422100200")
    make_household(session, "LB7001", head_name="包玉兰")
    demo_residents.seed(session, date.today())
    demo_residents.seed(session, date.today())  # idempotent: the same work orders
    imported = session.exec(select(Case).where(Case.source == CaseSource.hotline)).all()
    assert len(imported) == len(demo_residents.HOTLINE_TEXTS)
    assert {c.state for c in imported} == {CaseState.received, CaseState.answered}
    assert any(c.household_id is not None for c in imported)
