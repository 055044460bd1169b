from __future__ import annotations

import io

from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from models.audit import AuditEvent
from services import findings_review
from tests.conftest import auth_headers
from tests.ledger_helpers import cast, finding

API = "/api/v1/ledger"


def test_export_notice_and_summary_over_http(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LBH1")
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    sup = auth_headers(client, "sup1LBH1")
    r = client.get(f"{API}/export.xlsx", headers=sup)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "序号" and rows[1][0] == item.number and len(rows) == 2
    r = client.get(f"{API}/export.xlsx", params={"state": "closed"}, headers={**sup, "Accept-Language": "en"})
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 and rows[0][0] == "No."
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.export")).first() is not None

    unit = item.responsible_region_code
    r = client.get(f"{API}/notice.pdf", params={"unit": unit}, headers=sup)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "整改通知书" in text and "收入超标" in text
    r = client.get(f"{API}/notice.docx", params={"unit": unit}, headers=sup)
    assert r.status_code == 200, r.text
    doc = Document(io.BytesIO(r.content))
    assert doc.paragraphs[0].text == "整改通知书"

    r = client.get(f"{API}/summary", headers=sup)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items_total"] == 1 and body["items_by_state"] == {"open": 1}
    assert body["findings_by_category"] == {"not_eligible": 1}


def test_bad_export_and_notice_requests_are_problems(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    cast(session, "LBH2")
    sup = auth_headers(client, "sup1LBH2")
    for path, params, status in (
        ("export.xlsx", {"state": "nonsense"}, 422),
        ("notice.pdf", {}, 422),
        ("notice.pdf", {"unit": "999999999"}, 404),
        ("notice.txt", {"unit": "150422100"}, 422),
        ("summary", {"round_id": "not-a-uuid"}, 422),
    ):
        r = client.get(f"{API}/{path}", params=params, headers=sup)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/export.xlsx").status_code == 401
