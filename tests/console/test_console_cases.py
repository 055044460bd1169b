"""Console complaints: list with filters and time-limit status, detail with history, the handling
forms with CSRF, script in a case's text shown as text, another region's case refused."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from models.application import Case
from models.user import Role
from services import case_import
from services.config import Settings
from services.context import Actor
from tests.console.test_console_pages import C, _csrf, _key, login
from tests.factories import make_user
from tests.services.test_cases_handling import _households

DATA = Path(__file__).resolve().parents[1] / "data" / "hotline"
SCRIPT = '<script>alert("x")</script>'


def test_list_detail_and_the_handling_forms(client, session: Session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    _households(session)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    make_user(session, "sup-far", Role.supervisor, scope_code="150423")
    case_import.import_cases(session, settings, Actor.system("t"), (DATA / "orders_utf8.csv").read_bytes())
    far = case_import.import_cases(
        session, settings, Actor.system("t"), (DATA / "orders_bad.csv").read_bytes()
    )
    paid = session.exec(select(Case).where(Case.external_number == "GD20261102000101")).one()
    paid.text = SCRIPT + paid.text
    session.add(paid)
    session.commit()
    assert far.created >= 1
    login(client)
    listed = client.get(f"{C}/cases")
    assert listed.status_code == 200 and "GD20261102000101" in listed.text and "投诉案件" in listed.text
    assert SCRIPT not in listed.text
    assert "南河村" not in listed.text and "GD20261120000007" not in listed.text  # another county's case
    only = client.get(f"{C}/cases", params={"unconfirmed": "true"})
    assert "GD20261103000207" in only.text and "GD20261102000101" not in only.text
    page = client.get(f"{C}/cases/{paid.id}")
    assert page.status_code == 200 and SCRIPT not in page.text and "&lt;script&gt;" in page.text
    assert "姓名+村匹配" in page.text and "导入" in page.text
    no_csrf = client.post(
        f"{C}/cases/{paid.id}/assign", data={"unit": "林东镇民政所", "key": _key(page.text)}
    )
    assert no_csrf.status_code == 403
    form = {"csrf_token": _csrf(page.text), "key": _key(page.text), "unit": "林东镇民政所"}
    assert client.post(f"{C}/cases/{paid.id}/assign", data=form).status_code == 200
    page = client.get(f"{C}/cases/{paid.id}")
    answer = {"csrf_token": _csrf(page.text), "key": _key(page.text), "text": "已补发。"}
    assert client.post(f"{C}/cases/{paid.id}/answer", data=answer).status_code == 200
    page = client.get(f"{C}/cases/{paid.id}")
    assert "已补发。" in page.text and "交办" in page.text and "已答复" in page.text
    closing = {"csrf_token": _csrf(page.text), "key": _key(page.text)}
    assert client.post(f"{C}/cases/{paid.id}/close", data=closing).status_code == 200
    # the closed case offers no close again; a forged one is refused with 409
    page = client.get(f"{C}/cases/{paid.id}")
    assert f'{paid.id}/close"' not in page.text
    again = client.post(
        f"{C}/cases/{paid.id}/close", data={"csrf_token": _csrf(page.text), "key": _key(page.text)}
    )
    assert again.status_code == 409
    other = session.exec(select(Case).where(Case.external_number == "GD20261120000007")).one()
    assert client.get(f"{C}/cases/{other.id}").status_code == 403


def test_import_from_the_console_and_the_reply_export(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _households(session)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    session.commit()
    login(client)
    page = client.get(f"{C}/cases")
    files = {"file": ("12345.csv", (DATA / "orders_gbk.csv").read_bytes(), "text/csv")}
    r = client.post(
        f"{C}/cases/import", data={"csrf_token": _csrf(page.text)}, files=files, follow_redirects=True
    )
    assert r.status_code == 200 and "受理坐席" in r.text and "待确认家庭" in r.text
    assert "GD20261102000101" in client.get(f"{C}/cases").text
    x = client.get(f"{C}/cases/replies.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    forged = client.post(f"{C}/cases/import", data={"csrf_token": "x"}, files=files)
    assert forged.status_code == 403
