"""Console residents' applications: the list in the user's region with filters, one application,
moving it on and refusing it with CSRF and one-time keys, the import form, escaping; and recording a
review from the reviews page."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import Session, select

from contracts.residents import ApplicationOutcome, Stage
from models.application import Application
from models.review import HouseholdReview
from models.user import Role
from services.errors import ValidationFailed
from services.pii import id_number_problem
from services.rounds import local_today
from tests.console.test_console_pages import C, _csrf, _key, login
from tests.factories import VILLAGE, ensure_regions, make_household, make_id, make_user
from tests.residents.helpers import make_application

FAR_VILLAGE = "150423100200"
SCRIPT = '<script>alert("x")</script>'


def _numbers(html: str, *apps: Application) -> list[bool]:
    return [a.number in html for a in apps]


def test_list_filters_detail_move_and_refuse(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    ensure_regions(session, FAR_VILLAGE)
    a = make_application(session, name="李四", seed=1)
    b = make_application(session, name="王小五", seed=2)
    far = make_application(session, name="赵六", seed=3, village=FAR_VILLAGE)
    login(client)

    listed = client.get(f"{C}/applications")
    assert listed.status_code == 200
    assert _numbers(listed.text, a.app, b.app, far.app) == [True, True, False]  # another county's not shown
    assert "李*" in listed.text and "王**" in listed.text and "李四" not in listed.text
    assert a.id_number not in listed.text and "申请" in listed.text
    assert f'href="{C}/applications"' in listed.text  # the nav link
    assert client.get(f"{C}/applications", params={"region": "abc"}).status_code == 422
    assert client.get(f"{C}/applications", params={"stage": "bogus"}).status_code == 422
    assert client.get(f"{C}/applications", params={"region": "150423"}).status_code == 403

    page = client.get(f"{C}/applications/{a.app.id}")
    assert page.status_code == 200 and a.number in page.text and "李*" in page.text
    assert a.id_number not in page.text and a.id_number[-4:] in page.text and a.phone not in page.text
    assert 'id="move-form"' in page.text and 'id="refuse-form"' in page.text and "乡镇审核" in page.text
    on = (local_today() - timedelta(days=10)).isoformat()
    move = {"key": _key(page.text), "to": "township_review", "on": on, "deciding_unit": "林东镇人民政府"}
    assert client.post(f"{C}/applications/{a.app.id}/move", data=move).status_code == 403  # no CSRF
    session.refresh(a.app)
    assert a.app.stage == Stage.applied
    move["csrf_token"] = _csrf(page.text)
    r = client.post(f"{C}/applications/{a.app.id}/move", data=move, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{C}/applications/{a.app.id}"
    again = client.post(f"{C}/applications/{a.app.id}/move", data=move, follow_redirects=False)
    assert again.status_code == 303  # the same form sent twice moves once
    session.refresh(a.app)
    assert a.app.stage == Stage.township_review and a.app.deciding_unit == "林东镇人民政府"
    assert a.app.township_reviewed_on is not None and a.app.township_reviewed_on.isoformat() == on
    page = client.get(f"{C}/applications/{a.app.id}")
    assert on in page.text and "林东镇人民政府" in page.text and "民主评议" in page.text

    only = client.get(f"{C}/applications", params={"stage": "township_review"})
    assert _numbers(only.text, a.app, b.app) == [True, False]
    first = client.get(f"{C}/applications", params={"stage": "applied", "region": VILLAGE[:9]})
    assert _numbers(first.text, a.app, b.app) == [False, True]

    # a reason of spaces only is no reason; the application stays pending
    page = client.get(f"{C}/applications/{b.app.id}")
    blank = {"csrf_token": _csrf(page.text), "key": _key(page.text), "reason": "   "}
    assert client.post(f"{C}/applications/{b.app.id}/refuse", data=blank).status_code == 422
    session.refresh(b.app)
    assert b.app.outcome == ApplicationOutcome.pending and b.app.stage == Stage.applied

    page = client.get(f"{C}/applications/{a.app.id}")
    refuse = {"csrf_token": _csrf(page.text), "key": _key(page.text), "reason": "家庭收入超过标准" + SCRIPT}
    assert client.post(f"{C}/applications/{a.app.id}/refuse", data=refuse).status_code == 200
    session.refresh(a.app)
    assert a.app.outcome == ApplicationOutcome.refused and a.app.refusal_reason == "家庭收入超过标准" + SCRIPT
    page = client.get(f"{C}/applications/{a.app.id}")
    assert "不予批准" in page.text and "家庭收入超过标准" in page.text
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text
    assert 'id="move-form"' not in page.text and 'id="refuse-form"' not in page.text
    forged = {"csrf_token": _csrf(page.text), "key": "forged-key-1", "to": "democratic_review"}
    r = client.post(f"{C}/applications/{a.app.id}/move", data=forged)
    assert r.status_code == 409 and "已办结" in r.text
    session.refresh(a.app)
    assert a.app.stage == Stage.township_review and a.app.outcome == ApplicationOutcome.refused

    assert client.get(f"{C}/applications/{far.app.id}").status_code == 403


def test_a_stale_page_does_not_skip_a_stage(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    a = make_application(session)
    login(client)
    page = client.get(f"{C}/applications/{a.app.id}")
    form = {"csrf_token": _csrf(page.text), "key": _key(page.text), "to": "township_review"}
    assert client.post(f"{C}/applications/{a.app.id}/move", data=form).status_code == 200
    form["key"] = "another-key"  # the same old page submitted again under a new key
    assert client.post(f"{C}/applications/{a.app.id}/move", data=form).status_code == 422
    session.refresh(a.app)
    assert a.app.stage == Stage.township_review


def test_import_form_reports_rows_and_shows_names_escaped(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session, VILLAGE)
    ensure_regions(session, FAR_VILLAGE)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    session.commit()
    good = make_id(random.Random(7))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    other = make_id(random.Random(8))
    csv = (
        "申请人姓名,身份证号,联系电话,村居代码,家庭人口,申请日期\n"
        f"{SCRIPT},{good},13700000000,{VILLAGE},2,2026-11-02\n"
        f"赵六,{bad},,{VILLAGE},1,2026-11-03\n"
        f"钱七,{other},,{FAR_VILLAGE},1,2026-11-03\n"
    ).encode("gb18030")
    files = {"file": ("申请.csv", csv, "text/csv")}
    login(client)
    page = client.get(f"{C}/applications")
    assert (
        client.post(f"{C}/applications/import", data={"key": _key(page.text)}, files=files).status_code == 403
    )
    assert session.exec(select(Application)).all() == []

    form = {"csrf_token": _csrf(page.text), "key": _key(page.text)}
    r = client.post(f"{C}/applications/import", data=form, files=files)
    assert r.status_code == 200
    created = session.exec(select(Application)).all()
    assert len(created) == 1 and created[0].household_size == 2
    assert created[0].number in r.text and "新建 1 件申请，2 行未导入" in r.text
    problem = id_number_problem(bad)
    assert problem and ValidationFailed(problem).message("zh-CN") in r.text
    assert '<td class="num">3</td>' in r.text and '<td class="num">4</td>' in r.text
    assert "<script" not in r.text.split("</header>", 1)[1]

    twice = client.post(f"{C}/applications/import", data=form, files=files)
    assert twice.status_code == 200 and created[0].number in twice.text  # the first result again
    assert len(session.exec(select(Application)).all()) == 1

    listed = client.get(f"{C}/applications")
    assert created[0].number in listed.text and "&lt;*" in listed.text
    assert "<*" not in listed.text and SCRIPT not in listed.text
    detail = client.get(f"{C}/applications/{created[0].id}")
    assert "&lt;*" in detail.text and "<*" not in detail.text and good not in detail.text


def test_recording_a_review_from_the_reviews_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    today = local_today()
    h = make_household(session, "LBR01", last_review_date=today - timedelta(days=350))
    far = make_household(session, "LBR02", village=FAR_VILLAGE, last_review_date=None)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    session.commit()
    login(client)
    page = client.get(f"{C}/reviews", params={"horizon_days": 40})
    assert (
        page.status_code == 200 and "LBR01" in page.text and 'action="/console/reviews/record"' in page.text
    )
    assert f'name="reviewed_on" value="{today}"' in page.text
    on = today - timedelta(days=340)
    form = {
        "key": _key(page.text),
        "household_id": str(h.id),
        "reviewed_on": on.isoformat(),
        "note": "入户复核，情况属实",
        "township": VILLAGE[:9],
        "horizon_days": "40",
        "page": "1",
    }
    assert client.post(f"{C}/reviews/record", data=form).status_code == 403  # no CSRF
    form["csrf_token"] = _csrf(page.text)
    r = client.post(f"{C}/reviews/record", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert (
        r.headers["location"].startswith(f"{C}/reviews?")
        and f"township={VILLAGE[:9]}" in r.headers["location"]
    )
    assert "horizon_days=40" in r.headers["location"] and "page=1" in r.headers["location"]
    # the same form sent again (a double click), even with another date, records once
    form["reviewed_on"] = (today - timedelta(days=330)).isoformat()
    assert client.post(f"{C}/reviews/record", data=form, follow_redirects=False).status_code == 303
    session.refresh(h)
    assert h.last_review_date == on
    reviews = session.exec(select(HouseholdReview).where(HouseholdReview.household_id == h.id)).all()
    assert len(reviews) == 1 and reviews[0].note == "入户复核，情况属实"
    shown = client.get(r.headers["location"])
    assert shown.status_code == 200 and "复核已记录" in shown.text
    row = shown.text.split("LBR01", 1)[1].split("</tr>", 1)[0]
    assert f"<td>{on}</td>" in row  # the due list shows the new last review

    # a household of another county is not found for this supervisor
    page = client.get(f"{C}/reviews")
    other = dict(form, key=_key(page.text), household_id=str(far.id), reviewed_on=today.isoformat())
    assert client.post(f"{C}/reviews/record", data=other).status_code == 404
    assert session.exec(select(HouseholdReview).where(HouseholdReview.household_id == far.id)).all() == []
    session.refresh(far)
    assert far.last_review_date is None
