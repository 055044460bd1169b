"""The staff case API: entry, the moves as endpoints (409 problem+json on an illegal move), scope,
the 12345 import as a job with its row report, the reply export."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.services.test_cases_handling import _places

DATA = Path(__file__).resolve().parents[1] / "data" / "hotline"
URL = "/api/v1/cases"


def _setup(client, session: Session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _places(session)
    make_household(session, "LB0002", head_name="包玉兰")
    make_household(session, "LB0009", village="150423100200", head_name="孙七")
    make_user(session, "sup-a", Role.supervisor, scope_code="150422")
    make_user(session, "sup-b", Role.supervisor, scope_code="150423")
    session.commit()
    return auth_headers(client, "sup-a")


def test_entry_and_the_moves_through_the_api(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = _setup(client, session)
    body = {"source": "信访", "category": "payment", "text": "来信反映低保金被扣", "register_no": "LB0002"}
    r = client.post(URL, json=body, headers=h)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "received" and case["household_register_no"] == "LB0002"
    assert case["first_responder"] == "supervisor:sup-a" and case["limit_status"] in ("on_time", "due_soon")
    cid = case["id"]
    assert client.get(f"{URL}/{cid}", headers=h).json()["source"] == "信访"
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "case.read")).all()
    assert [r.entity_id for r in reads] == [cid]
    illegal = client.post(f"{URL}/{cid}/close", json={}, headers=h)
    assert illegal.status_code == 409
    assert illegal.headers["content-type"].startswith("application/problem+json")
    assert "不能" in illegal.json()["detail"]
    assert client.post(f"{URL}/{cid}/assign", json={"unit": "  "}, headers=h).status_code == 422
    assert (
        client.post(f"{URL}/{cid}/assign", json={"unit": "林东镇民政所"}, headers=h).json()["state"]
        == "assigned"
    )
    assert client.post(f"{URL}/{cid}/investigate", json={}, headers=h).json()["state"] == "investigating"
    answered = client.post(f"{URL}/{cid}/answer", json={"answer": "已补发。"}, headers=h).json()
    assert answered["state"] == "answered" and answered["answer"] == "已补发。"
    assert (
        client.post(f"{URL}/{cid}/close", json={"note": "来信人认可"}, headers=h).json()["state"] == "closed"
    )
    assert client.post(f"{URL}/{cid}/reopen", json={}, headers=h).json()["state"] == "reopened"
    steps = client.get(f"{URL}/{cid}/history", headers=h).json()
    assert [s["action"] for s in steps] == ["create", "assign", "investigate", "answer", "close", "reopen"]
    # another county's supervisor: refused, as every scoped record is
    other = auth_headers(client, "sup-b")
    assert client.get(f"{URL}/{cid}", headers=other).status_code == 403
    assert client.post(f"{URL}/{cid}/assign", json={"unit": "x"}, headers=other).status_code == 403
    about_other = {"source": "staff", "text": "反映孙七家问题", "register_no": "LB0009"}
    assert client.post(URL, json=about_other, headers=h).status_code == 403
    assert client.post(URL, json={"source": "staff", "text": ""}, headers=h).status_code == 422


def test_import_as_a_job_with_row_report_and_the_reply_export(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = _setup(client, session)
    files = {"file": ("orders.csv", (DATA / "orders_gbk.csv").read_bytes(), "text/csv")}
    r = client.post(f"{URL}/import", files=files, headers=h)
    assert r.status_code == 202, r.text
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=h).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["created"] == 3 and job["result"]["unknown_columns"] == ["受理坐席", "回访要求"]
    bad = {"file": ("bad.csv", (DATA / "orders_bad.csv").read_bytes(), "text/csv")}
    report = client.get(
        f"/api/v1/jobs/{client.post(f'{URL}/import', files=bad, headers=h).json()['id']}", headers=h
    ).json()["result"]
    assert [e["row"] for e in report["errors"]] == [3, 4, 5, 6, 7, 8]
    no_bom = (DATA / "orders_utf8.csv").read_text(encoding="utf-8").encode("utf-16-le")  # no byte-order mark
    enc = {"file": ("u16.csv", no_bom, "text/csv")}
    failed = client.get(
        f"/api/v1/jobs/{client.post(f'{URL}/import', files=enc, headers=h).json()['id']}", headers=h
    ).json()
    assert failed["status"] == "failed" and failed["result"]["code"] in ("import_encoding", "import_format")
    huge = {"file": ("big.csv", b"x" * (33 << 20), "text/csv")}
    too_big = client.post(f"{URL}/import", files=huge, headers=h)
    assert too_big.status_code == 413 and "MB" in too_big.json()["detail"]
    listed = client.get(URL, params={"source": "12345"}, headers=h).json()
    assert len(listed) == 4
    target = next(c for c in listed if c["external_number"] == "GD20261102000101")
    assert target["reporter"] == "包**" and target["contact"] == "139****1111"
    client.post(f"{URL}/{target['id']}/answer", json={"answer": "已补发两个月低保金。"}, headers=h)
    x = client.get(f"{URL}/replies.xlsx", headers=h)
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == "GD20261102000101" and rows[1][5] == "已补发两个月低保金。"
    inspector = make_user(session, "insp-q", Role.inspector)
    session.commit()
    assert inspector.id
    assert client.get(f"{URL}/replies.xlsx", headers=auth_headers(client, "insp-q")).status_code == 403


def test_a_50_mb_photo_is_refused_clearly(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    big = [("photos", ("big.jpg", b"\xff\xd8" + b"0" * (50 << 20), "image/jpeg"))]
    r = client.post(
        "/complain", data={"category": "payment", "text": "低保金被扣", "anonymous": "1"}, files=big
    )
    assert r.status_code == 413 and "20 MB" in r.text


def test_staff_attach_a_photo_through_the_evidence_checks(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from tests.residents.test_cases import _jpeg

    h = _setup(client, session)
    cid = client.post(URL, json={"source": "信访", "text": "来信附照片"}, headers=h).json()["id"]
    ok = client.post(f"{URL}/{cid}/attachments", files={"photo": ("a.jpg", _jpeg(), "image/jpeg")}, headers=h)
    assert ok.status_code == 201 and ok.json()["attachments"] == 1, ok.text
    big = {"photo": ("big.jpg", b"\xff\xd8" + b"0" * (50 << 20), "image/jpeg")}
    too_big = client.post(f"{URL}/{cid}/attachments", files=big, headers=h)
    assert too_big.status_code == 413 and "20 MB" in too_big.json()["detail"]
    text = client.post(
        f"{URL}/{cid}/attachments", files={"photo": ("n.jpg", b"%PDF-1.4", "image/jpeg")}, headers=h
    )
    assert text.status_code == 422
