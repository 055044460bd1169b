"""The public notice: only applications on notice, masked, by village; objections become linked cases."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import Session, select

from contracts.residents import Stage
from models.application import Case
from tests.residents.helpers import make_application


def _put_on_notice(session: Session, app, start: date) -> None:  # type: ignore[no-untyped-def]
    app.stage = Stage.public_notice
    app.notice_from = start
    session.add(app)
    session.commit()


def test_notice_lists_only_current_notices_masked(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    on = make_application(session, name="钱多多", seed=11)
    _put_on_notice(session, on.app, date.today() - timedelta(days=2))
    over = make_application(session, name="孙少少", seed=12)
    _put_on_notice(session, over.app, date.today() - timedelta(days=8))
    make_application(session, name="吴未到", seed=13)
    page = client.get("/notice")
    assert page.status_code == 200
    assert "钱**" in page.text and "钱多多" not in page.text and on.id_number not in page.text
    assert "孙**" not in page.text and "吴**" not in page.text
    assert "区划150422100200" in page.text and "0476-7822001" in page.text
    assert on.number not in page.text  # the lookup number stays private


def test_an_objection_becomes_a_case_linked_to_the_application(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    on = make_application(session, name="钱多多", seed=21)
    _put_on_notice(session, on.app, date.today())
    r = client.post(f"/notice/{on.app.id}/object", data={"text": "他家有两辆车", "anonymous": "1"})
    assert r.status_code == 201, r.text
    number = re.search(r'id="case-number">([^<]+)<', r.text)
    assert number
    case = session.exec(select(Case).where(Case.number == number.group(1))).one()
    assert case.category.value == "objection" and case.application_id == on.app.id
    assert case.village_code == on.app.village_code


def test_no_objection_outside_the_notice_period(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    early = make_application(session, seed=31)
    r = client.post(f"/notice/{early.app.id}/object", data={"text": "异议", "anonymous": "1"})
    assert r.status_code == 404
    assert client.get(f"/notice/{early.app.id}/object").status_code == 404
