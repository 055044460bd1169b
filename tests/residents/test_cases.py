"""Cases: the web complaint form, photo checks, follow-up by number + code only, staff answers, escaping."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlmodel import Session, select

from models.application import Case, CaseAttachment
from models.audit import AuditEvent
from models.user import Role
from services.residents_codes import new_number
from tests.conftest import auth_headers
from tests.factories import make_user

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _jpeg() -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    Image.new("RGB", (640, 480), (200, 40, 40)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _complain(client, text: str = "低保金被扣", files=None, **data):  # type: ignore[no-untyped-def]
    form = {"category": "payment", "text": text, "anonymous": "1"} | data
    return client.post("/complain", data=form, files=files or [])


def _created(r) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    number = re.search(r'id="case-number">([^<]+)<', r.text)
    code = re.search(r'id="case-code">([^<]+)<', r.text)
    assert number and code, r.text
    return number.group(1), code.group(1)


def test_an_anonymous_complaint_with_a_photo_becomes_a_case(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = _complain(client, files=[("photos", ("a.jpg", _jpeg(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    number, code = _created(r)
    case = session.exec(select(Case).where(Case.number == number)).one()
    assert case.anonymous and case.contact_enc is None and case.code_hash and code not in case.code_hash
    assert case.state.value == "received" and case.due_on > case.received_at.date()
    att = session.exec(select(CaseAttachment).where(CaseAttachment.case_id == case.id)).one()
    assert att.width == 640 and att.mime == "image/jpeg"
    follow = client.post("/case", data={"number": number.lower(), "code": code})
    assert follow.status_code == 200 and "低保金被扣" in follow.text and "已受理" in follow.text


def test_a_complaint_with_contact_keeps_it_encrypted(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/complain", data={"category": "conduct", "text": "态度差", "contact": "13912345678"})
    assert r.status_code == 201, r.text
    case = session.exec(select(Case).where(Case.number == _created(r)[0])).one()
    assert not case.anonymous and case.contact_enc and "13912345678" not in case.contact_enc
    missing = client.post("/complain", data={"category": "conduct", "text": "态度差"})
    assert missing.status_code == 422 and "联系电话" in missing.text


def test_oversized_and_non_image_uploads_are_refused_clearly(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    before = len(session.exec(select(Case)).all())
    big = _complain(client, files=[("photos", ("big.jpg", b"\xff\xd8" + b"0" * (21 << 20), "image/jpeg"))])
    assert big.status_code == 413 and "20 MB" in big.text
    text = _complain(client, files=[("photos", ("note.jpg", b"%PDF-1.4 not a photo", "image/jpeg"))])
    assert text.status_code == 422 and "照片" in text.text
    empty = _complain(client, text="   ")
    assert empty.status_code == 422 and "请写下" in empty.text
    assert len(session.exec(select(Case)).all()) == before


def test_another_case_number_or_a_wrong_code_gets_one_refusal(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    mine_number, mine_code = _created(_complain(client, text="我的问题"))
    other_number, _ = _created(_complain(client, text="别人的问题"))
    other = client.post("/case", data={"number": other_number, "code": mine_code})
    unknown = client.post("/case", data={"number": new_number("AJ"), "code": mine_code})
    assert other.status_code == unknown.status_code == 404
    assert "别人的问题" not in other.text
    assert re.sub(r'value="[^"]*"', "", other.text) == re.sub(r'value="[^"]*"', "", unknown.text)
    fails = session.exec(select(AuditEvent).where(AuditEvent.action == "case.lookup_failed")).all()
    assert len(fails) == 2
    assert "我的问题" in client.post("/case", data={"number": mine_number, "code": mine_code}).text


def test_script_in_complaint_text_is_escaped_on_every_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = _complain(client, text=SCRIPT)
    assert SCRIPT not in r.text
    number, code = _created(r)
    shown = client.post("/case", data={"number": number, "code": code})
    assert SCRIPT not in shown.text and "<script>" not in shown.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown.text
    refused = _complain(client, text=SCRIPT + "x" * 2001)  # echoed back in the form on refusal
    assert refused.status_code == 422 and "<script>alert" not in refused.text


def test_staff_list_and_answer_and_the_resident_sees_the_answer(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-c", Role.supervisor, scope_code="150422")
    session.commit()
    number, code = _created(_complain(client, text="村干部优亲厚友"))
    h = auth_headers(client, "sup-c")
    listed = client.get("/api/v1/cases", headers=h).json()
    case = next(c for c in listed if c["number"] == number)
    r = client.post(
        f"/api/v1/cases/{case['id']}/answer", json={"answer": "经核查，已取消其低保。"}, headers=h
    )
    assert r.status_code == 200 and r.json()["state"] == "answered"
    seen = client.post("/case", data={"number": number, "code": code})
    assert "经核查，已取消其低保。" in seen.text and "已答复" in seen.text
    assert make_user(session, "insp-c", Role.inspector).id
    assert client.get("/api/v1/cases", headers=auth_headers(client, "insp-c")).status_code == 403


def test_the_resident_rates_the_answer_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-s", Role.supervisor, scope_code="150422")
    session.commit()
    number, code = _created(_complain(client, text="低保金晚发"))
    early = client.post("/case/rate", data={"number": number, "code": code, "score": "5"})
    assert early.status_code == 409  # nothing to rate before the answer
    case = session.exec(select(Case).where(Case.number == number)).one()
    h = auth_headers(client, "sup-s")
    assert (
        client.post(f"/api/v1/cases/{case.id}/answer", json={"answer": "已补发。"}, headers=h).status_code
        == 200
    )
    page = client.post("/case", data={"number": number, "code": code})
    assert 'action="/case/rate' in page.text
    rated = client.post("/case/rate", data={"number": number, "code": code, "score": "5"})
    assert rated.status_code == 200 and "5 / 5" in rated.text
    again = client.post("/case/rate", data={"number": number, "code": code, "score": "1"})
    assert again.status_code == 409
    wrong = client.post("/case/rate", data={"number": number, "code": "WRONGCODE", "score": "1"})
    assert wrong.status_code == 404
    session.refresh(case)
    assert case.satisfaction == 5


def test_a_flood_of_complaints_from_one_address_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from services import cases

    for i in range(cases.MAX_SUBMITS):
        assert _complain(client, text=f"第{i}条").status_code == 201
    flood = _complain(client, text="再来一条")
    assert flood.status_code == 429 and flood.headers["Retry-After"] == "3600"
    assert "再来一条" not in [c.text for c in session.exec(select(Case)).all()]
    refused = session.exec(select(AuditEvent).where(AuditEvent.action == "case.flood_refused")).all()
    assert len(refused) == 1
