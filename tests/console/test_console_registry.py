"""Console cadre registry, review due list and a closed round's estimates: pages, scope, CSRF, escaping."""

from __future__ import annotations

import io
import random

from openpyxl import load_workbook
from sqlmodel import Session, select

from contracts.cadres import CadreIn, RelativeIn
from contracts.vocab import Severity
from models.audit import AuditEvent
from models.round import RoundSample
from models.user import Role
from models.visit import Finding, Visit, VisitStatus
from services import cadres, rounds
from tests.console.test_console_pages import _csrf, _key, login
from tests.factories import VILLAGE, make_household, make_id, make_user
from tests.round_helpers import actor_of, drawn_round, populate, supervisor

C = "/console"


def _declare(session: Session, sup, relative: str, township: str = VILLAGE[:9], name: str = "赵干部") -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(name)
    cadres.declare(
        session,
        actor_of(sup),
        CadreIn(
            name=name,
            id_number=make_id(rng),
            unit="林东镇",
            post="村主任",
            township_code=township,
            relatives=[RelativeIn(name="赵兄", id_number=relative, relation="兄")],
        ),
    )


def test_cadres_page_table_xlsx_and_a_match_that_runs_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    relative = make_id(random.Random(9))
    make_household(session, "LBC01", id_number=relative)
    sup = supervisor(session)
    _declare(session, sup, relative, name='<script>alert("x")</script>')
    session.commit()
    login(client)
    page = client.get(f"{C}/cadres")
    assert page.status_code == 200 and "LBC01" in page.text and relative not in page.text
    assert f"{relative[:6]}********{relative[-4:]}" in page.text
    assert '<script>alert("x")</script>' not in page.text
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "cadre.list")).first()
    xlsx = client.get(f"{C}/cadres/table.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws.max_row == 3
    form = {"key": _key(page.text)}
    assert client.post(f"{C}/cadres/match", data=form).status_code == 403
    assert client.post(f"{C}/cadres/match", data=form | {"csrf_token": "x"}).status_code == 403
    form["csrf_token"] = _csrf(page.text)
    first = client.post(f"{C}/cadres/match", data=form)
    assert first.status_code == 200 and 'id="match-report"' in first.text
    runs = session.exec(select(AuditEvent).where(AuditEvent.action.startswith("cadre.match"))).all()  # type: ignore[attr-defined]
    assert len(runs) == 1
    again = client.post(f"{C}/cadres/match", data=form)
    assert again.status_code == 200 and 'id="match-report"' in again.text
    assert len(
        session.exec(select(AuditEvent).where(AuditEvent.action.startswith("cadre.match"))).all()
    ) == len(runs)  # type: ignore[attr-defined]


def test_cadres_of_another_region_are_not_shown_and_officers_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    relative = make_id(random.Random(10))
    make_household(session, "LBC02", id_number=relative)
    admin = make_user(session, "adm", Role.admin)
    _declare(session, admin, relative, name="远方干部")
    make_user(session, "far", Role.supervisor, scope_code="150423")
    make_user(session, "off", Role.officer, scope_code=VILLAGE[:9])
    session.commit()
    login(client, "far")
    assert "远方干部" not in client.get(f"{C}/cadres").text
    client.cookies.clear()
    login(client, "off")
    assert client.get(f"{C}/cadres").status_code == 403


def test_review_due_list_per_township_with_overdue_highlighted_and_paged(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for i in range(55):
        make_household(
            session, f"LBR{i:02d}", last_review_date=None, head_name="<b>王</b>" if i == 0 else "李四"
        )
    supervisor(session)
    make_user(session, "far", Role.supervisor, scope_code="150423")
    session.commit()
    login(client)
    page = client.get(f"{C}/reviews")
    assert page.status_code == 200 and 'class="overdue"' in page.text and "LBR00" in page.text
    assert "<b>王</b>" not in page.text
    assert page.text.count('<tr class="overdue">') == 50 and 'id="next-page"' in page.text
    second = client.get(f"{C}/reviews", params={"township": VILLAGE[:9], "page": 2})
    assert second.text.count('<tr class="overdue">') == 5 and "第 2 / 2 页" in second.text
    assert client.get(f"{C}/reviews", params={"township": "150423100"}).status_code == 404
    assert client.get(f"{C}/reviews", params={"horizon_days": 5000}).status_code == 422
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "reviews.due")).first()
    client.cookies.clear()
    login(client, "far")
    assert "LBR00" not in client.get(f"{C}/reviews").text


def test_closed_round_shows_estimates_with_a_chart(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session, per_village=4)
    sup = supervisor(session)
    r = drawn_round(session, actor_of(sup))
    samples = session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all()
    inspector = make_user(session, "ins-est", Role.inspector)
    for i, s in enumerate(samples):
        session.add(
            Visit(
                household_id=s.household_id,
                inspector_id=inspector.id,
                round_id=r.id,
                status=VisitStatus.submitted,
            )
        )
        if i % 3 == 0:
            session.add(
                Finding(
                    household_id=s.household_id,
                    round_id=r.id,
                    rule_id="income_over",
                    category="not_eligible",
                    severity=Severity.high,
                    message_zh="收入超标",
                    message_en="income over",
                )
            )
    session.flush()
    login(client)
    assert 'id="estimates"' not in client.get(f"{C}/rounds/{r.id}").text  # not closed yet
    rounds.close_round(session, actor_of(sup), r.id)
    session.commit()
    page = client.get(f"{C}/rounds/{r.id}")
    assert page.status_code == 200 and 'id="estimates"' in page.text and 'id="chart-estimates"' in page.text
    assert 'id="estimates-data"' in page.text and "estimates.js" in page.text and "<script>" not in page.text
    assert page.text.count("<tr") >= 6  # four townships and the county, plus the header
    make_user(session, "far", Role.supervisor, scope_code="150423")
    session.commit()
    client.cookies.clear()
    login(client, "far")
    assert client.get(f"{C}/rounds/{r.id}").status_code == 404


def test_the_new_pages_are_translated_in_both_languages(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    import re

    relative = make_id(random.Random(11))
    make_household(session, "LBT01", id_number=relative, last_review_date=None)
    sup = supervisor(session)
    _declare(session, sup, relative)
    session.commit()
    login(client)
    raw = re.compile(r">\s*(xc|xc_outcome|cadres|reviews|est|nav)\.[a-z_.]+\s*<")
    for lang, word in (("zh-CN", "交叉比对"), ("en", "Cross-checks")):
        client.cookies.set("fj_console_lang", lang, path="/console")
        for path in (f"{C}/crosschecks", f"{C}/cadres", f"{C}/reviews"):
            page = client.get(path)
            assert page.status_code == 200 and word in page.text, (lang, path)
            assert not raw.search(page.text), (lang, path, raw.search(page.text))
