from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from docx import Document
from pypdf import PdfReader
from sqlmodel import Session

from contracts.ledger import LedgerState
from contracts.vocab import FindingCategory
from models.user import Role
from services import findings_review, ledger_notice, ledger_summary
from services.context import Actor
from services.errors import NotFound
from services.rounds import local_today
from tests.factories import make_household, make_user
from tests.ledger_helpers import cast, finding


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\n", "")


def _docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_notice_lists_the_units_open_items_as_pdf_and_docx(session: Session) -> None:
    c = cast(session, "LBN1")
    h = make_household(session, "LBN1b", head_name="李四")
    open_item = findings_review.confirm(session, c.sup, finding(session, c.sup, h).id)
    closed = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    closed.state = LedgerState.closed
    session.flush()
    unit = open_item.responsible_region_code
    data = ledger_notice.gather(session, c.sup, unit)
    assert [r.number for r in data.items] == [open_item.number]
    pdf = io.BytesIO()
    ledger_notice.write_pdf(data, pdf)
    text = _pdf_text(pdf.getvalue())
    assert "整改通知书" in text and f"区划{unit}" in text and "李四" in text and "收入超标" in text
    assert "张三" not in text  # the closed item's household
    assert open_item.deadline.isoformat() in text
    doc = io.BytesIO()
    ledger_notice.write_docx(data, doc)
    words = _docx_text(doc.getvalue())
    assert "整改通知书" in words and "李四" in words and "不符合条件" in words and "待整改" in words
    assert "张三" not in words


def test_notice_in_english_and_with_nothing_to_fix(session: Session) -> None:
    c = cast(session, "LBN2")
    unit = c.household.village_code
    data = ledger_notice.gather(session, c.sup, unit, lang="en")
    assert data.items == []
    pdf = io.BytesIO()
    ledger_notice.write_pdf(data, pdf)
    assert "Rectification notice" in _pdf_text(pdf.getvalue())
    assert "no problems" in _pdf_text(pdf.getvalue())


def test_notice_to_an_unknown_or_foreign_unit_is_not_found(session: Session) -> None:
    c = cast(session, "LBN3")
    with pytest.raises(NotFound):
        ledger_notice.gather(session, c.sup, "999999999")
    far = Actor.of(make_user(session, "sup-far-n", Role.supervisor, scope_code="110101"))
    with pytest.raises(NotFound):
        ledger_notice.gather(session, far, c.household.village_code)


def test_summary_counts_findings_items_overdue_and_money(session: Session) -> None:
    c = cast(session, "LBN4")
    today = local_today()
    a = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    h2 = make_household(session, "LBN4b")
    b = findings_review.confirm(
        session, c.sup, finding(session, c.sup, h2, category=FindingCategory.FUNDS_MISUSE).id
    )
    finding(session, c.sup, h2, category=FindingCategory.PRIVACY)  # pending: a finding, no item yet
    dismissed = finding(session, c.sup, h2, category=FindingCategory.OTHER)
    findings_review.dismiss(session, c.sup, dismissed.id, "重复")
    a.deadline = today - timedelta(days=1)
    b.state = LedgerState.closed
    b.deadline = today - timedelta(days=5)  # closed: never overdue
    b.money_to_recover, b.money_recovered = Decimal("1200.00"), Decimal("800.50")
    session.flush()
    s = ledger_summary.summary(session, c.sup, today=today)
    assert s.items_total == 2 and s.overdue == 1
    assert s.items_by_state == {LedgerState.open: 1, LedgerState.closed: 1}
    assert s.items_by_category == {FindingCategory.NOT_ELIGIBLE: 1, FindingCategory.FUNDS_MISUSE: 1}
    assert s.findings_by_category == {
        FindingCategory.NOT_ELIGIBLE: 1,
        FindingCategory.FUNDS_MISUSE: 1,
        FindingCategory.PRIVACY: 1,
    }
    assert s.money_to_recover == Decimal("1200.00") and s.money_recovered == Decimal("800.50")
    far = Actor.of(make_user(session, "sup-far-s", Role.supervisor, scope_code="110101"))
    empty = ledger_summary.summary(session, far, today=today)
    assert empty.items_total == 0 and empty.findings_by_category == {} and empty.money_to_recover == 0
