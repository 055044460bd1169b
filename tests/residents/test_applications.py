"""Applications: unguessable numbers, stages in order, refusal, scope, audit, import."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel import Session, select

from models.application import Application
from models.audit import AuditEvent
from models.user import Role
from services import applications
from services.residents_codes import canonical, check_char, is_valid, new_number
from tests.conftest import auth_headers
from tests.factories import VILLAGE, ensure_regions, make_id, make_user
from tests.residents.helpers import make_application

URL = "/api/v1/applications"


def test_numbers_are_random_and_carry_a_check_character() -> None:
    numbers = {new_number("SQ") for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(is_valid("SQ", n) for n in numbers)
    one = sorted(numbers)[0]
    body = one[3:].replace("-", "")
    # any single changed character is caught by the check character
    for i in range(len(body)):
        for ch in "ABCDE":
            if ch != body[i]:
                typo = body[:i] + ch + body[i + 1 :]
                assert not is_valid("SQ", canonical("SQ", typo)) or check_char(typo[:-1]) == typo[-1]
    assert canonical("SQ", one.lower().replace("-", " ")) == one


def test_stages_move_in_order_and_are_audited(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-a", Role.supervisor, scope_code="150422")
    a = make_application(session)
    h = auth_headers(client, "sup-a")
    r = client.post(f"{URL}/{a.app.id}/stage", json={"to": "民主评议"}, headers=h)
    assert r.status_code == 422, r.text
    day = date.today() - timedelta(days=30)
    for i, stage in enumerate(["乡镇审核", "民主评议", "县级审批", "公示"]):
        r = client.post(
            f"{URL}/{a.app.id}/stage",
            json={
                "to": stage,
                "on": (day + timedelta(days=i)).isoformat(),
                "deciding_unit": "林东镇人民政府",
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == stage
    assert r.json()["notice_until"] == (day + timedelta(days=3 + 6)).isoformat()
    early = client.post(
        f"{URL}/{a.app.id}/stage", json={"on": (day + timedelta(days=5)).isoformat()}, headers=h
    )
    assert early.status_code == 422 and early.json()["code"] == "notice_not_over"
    paid = client.post(f"{URL}/{a.app.id}/stage", json={"on": date.today().isoformat()}, headers=h)
    assert paid.status_code == 200
    assert paid.json()["outcome"] == "approved"
    assert paid.json()["dates"][-1]["on"] == date.today().replace(day=1).isoformat()
    assert client.post(f"{URL}/{a.app.id}/stage", json={}, headers=h).status_code == 409
    moves = session.exec(select(AuditEvent).where(AuditEvent.action == "application.move")).all()
    assert len(moves) == 5
    # the staff view masks the applicant
    got = client.get(f"{URL}/{a.app.id}", headers=h).json()
    assert got["applicant_name"] == "李*" and a.id_number not in str(got)


def test_refusal_keeps_the_reason(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-r", Role.supervisor, scope_code="150422")
    a = make_application(session)
    h = auth_headers(client, "sup-r")
    for blank in ("", "   "):  # a refusal without a reason is neither a refusal nor a move
        r = client.post(f"{URL}/{a.app.id}/stage", json={"refuse_reason": blank}, headers=h)
        assert r.status_code == 422 and r.json()["code"] == "refusal_reason_blank", r.text
    r = client.post(f"{URL}/{a.app.id}/stage", json={"refuse_reason": "家庭收入超过标准"}, headers=h)
    assert r.status_code == 200
    assert r.json()["outcome"] == "refused" and r.json()["refusal_reason"] == "家庭收入超过标准"
    assert client.post(f"{URL}/{a.app.id}/stage", json={}, headers=h).status_code == 409


def test_staff_outside_the_region_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session, "150423100200")
    make_user(session, "sup-other", Role.supervisor, scope_code="150423")
    a = make_application(session)
    h = auth_headers(client, "sup-other")
    assert client.get(f"{URL}/{a.app.id}", headers=h).status_code == 403
    assert client.post(f"{URL}/{a.app.id}/stage", json={}, headers=h).status_code == 403
    assert client.get(URL, headers=h).json() == []
    inspector = make_user(session, "insp-x", Role.inspector)
    assert inspector.id
    assert client.get(URL, headers=auth_headers(client, "insp-x")).status_code == 403


def test_import_csv_creates_and_reports_bad_rows(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session, VILLAGE)
    make_user(session, "sup-i", Role.supervisor, scope_code="150422")
    session.commit()
    good = make_id(random.Random(7))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    csv = (
        "申请人姓名,身份证号,联系电话,村居代码,家庭人口,申请日期\n"
        f"王五,{good},13700000000,{VILLAGE},2,2026-11-02\n"
        f"赵六,{bad},,{VILLAGE},1,2026-11-03\n"
    ).encode("gb18030")
    r = client.post(
        f"{URL}/import", files={"file": ("申请.csv", csv, "text/csv")}, headers=auth_headers(client, "sup-i")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["created"]) == 1 and body["errors"][0]["row"] == 3
    app = session.exec(select(Application).where(Application.number == body["created"][0])).one()
    assert app.household_size == 2 and app.applied_on == date(2026, 11, 2)
    assert "王五" not in app.name_enc and good not in app.id_enc


def test_import_xlsx(session: Session) -> None:
    import io

    from openpyxl import Workbook

    from services.context import Actor

    ensure_regions(session, VILLAGE)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "身份证号码", "区划代码"])
    ws.append(["孙七", make_id(random.Random(9)), VILLAGE])
    buf = io.BytesIO()
    wb.save(buf)
    result = applications.import_file(session, Actor.system("t"), buf.getvalue(), "a.xlsx")
    assert len(result.created) == 1 and result.errors == []
