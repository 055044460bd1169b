from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import Session, select

from contracts.ledger import ItemUpdateIn, LedgerState
from contracts.vocab import FindingCategory, Severity
from models.audit import AuditEvent
from models.ledger import LedgerItem
from models.user import Role
from services import findings_review, ledger, ledger_export, ledger_queries
from services.context import Actor
from services.ledger_queries import LedgerFilter
from services.rounds import local_today
from tests.factories import VILLAGE, make_household, make_id, make_user
from tests.ledger_helpers import cast, finding


def _sheet(data: bytes) -> list[list[object]]:
    wb = load_workbook(io.BytesIO(data))
    return [list(r) for r in wb.active.iter_rows(values_only=True)]


def _items(session: Session, c, n: int, prefix: str) -> list[LedgerItem]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        h = make_household(session, f"{prefix}{i:03d}", head_name=f"王{i}")
        f = finding(session, c.sup, h)
        out.append(findings_review.confirm(session, c.sup, f.id))
    return out


def test_export_layout_masked_numbers_and_formula_escape(session: Session) -> None:
    c = cast(session, "LBX1")
    idn = make_id()
    h = make_household(session, "LBX1a", id_number=idn, head_name='=HYPERLINK("http://x")')
    f = finding(session, c.sup, h, category=FindingCategory.FUNDS_MISUSE, severity=Severity.high)
    item = findings_review.confirm(session, c.sup, f.id)
    ledger.update_item(session, c.sup, item.id, ItemUpdateIn(measures="@SUM(A1)\t清退"))
    item.money_to_recover = Decimal("1234.50")
    session.flush()
    buf = io.BytesIO()
    n = ledger_export.export_xlsx(session, c.sup, LedgerFilter(), buf)
    assert n == 1
    rows = _sheet(buf.getvalue())
    assert rows[0][:4] == ["序号", "问题类别", "问题描述", "所属乡镇/村"]
    assert (
        "户主" in rows[0] and "整改时限" in rows[0] and "销号日期" in rows[0] and "追回资金（元）" in rows[0]
    )
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["序号"] == item.number
    assert row["问题类别"] == "资金违规"
    assert row["问题描述"] == "收入超标"
    assert row["户主"] == '\'=HYPERLINK("http://x")'
    assert row["整改措施"] == "'@SUM(A1)\t清退"
    assert row["身份证号"] == idn[:6] + "********" + idn[-4:]
    assert idn not in [str(v) for r in rows for v in r]
    assert row["整改状态"] == "待整改" and row["是否逾期"] == "否"
    assert row["应追回资金（元）"] == 1234.5
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.export")).first() is not None


def test_escape_cell_covers_every_formula_start() -> None:
    for value in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert ledger_export.escape_cell(value) == "'" + value
    assert ledger_export.escape_cell("正常文本") == "正常文本"
    assert ledger_export.escape_cell(-5) == -5


def test_export_of_no_rows_is_a_header_only_sheet(session: Session) -> None:
    c = cast(session, "LBX2")
    buf = io.BytesIO()
    assert (
        ledger_export.export_xlsx(session, c.sup, LedgerFilter(state=LedgerState.closed), buf, lang="en") == 0
    )
    rows = _sheet(buf.getvalue())
    assert len(rows) == 1 and rows[0][0] == "No." and "Deadline" in rows[0]


def test_export_walks_keyset_batches_in_list_order_with_the_list_filters(session: Session) -> None:
    c = cast(session, "LBX3")
    items = _items(session, c, 11, "LBX3")
    today = local_today()
    for i, item in enumerate(items):  # spread the deadlines, some in the past (overdue)
        item.deadline = today + timedelta(days=(i % 4) - 2)
    session.flush()
    progress: list[int] = []
    buf = io.BytesIO()
    n = ledger_export.export_xlsx(
        session, c.sup, LedgerFilter(), buf, today=today, on_progress=progress.append, batch=3
    )
    assert n == 11 and progress == [3, 3, 3, 2]
    rows = _sheet(buf.getvalue())[1:]
    expected = sorted(items, key=lambda i: (i.deadline, i.id))
    assert [r[0] for r in rows] == [i.number for i in expected]
    buf = io.BytesIO()
    overdue = ledger_export.export_xlsx(session, c.sup, LedgerFilter(overdue=True), buf, today=today, batch=2)
    assert overdue == sum(1 for i in items if i.deadline < today)
    assert {r[13] for r in _sheet(buf.getvalue())[1:]} == {"是"}
    assert ledger_export.count_items(session, c.sup, LedgerFilter(overdue=True), today) == overdue


def test_export_keeps_to_the_actors_region(session: Session) -> None:
    c = cast(session, "LBX4")
    _items(session, c, 2, "LBX4")
    elsewhere = make_user(session, "sup-far", Role.supervisor, scope_code="110101")
    buf = io.BytesIO()
    assert ledger_export.export_xlsx(session, Actor.of(elsewhere), LedgerFilter(), buf) == 0


def test_region_subtree_is_a_range_the_scope_index_serves(session: Session) -> None:
    assert ledger_queries._next_prefix("150102") == "150103"
    assert ledger_queries._next_prefix("1599") == "16"
    assert ledger_queries._next_prefix("99") is None
    c = cast(session, "LBX5")
    _items(session, c, 1, "LBX5")
    for region, n in (("15", 1), ("150422", 1), (VILLAGE, 1), ("150421", 0), ("150423", 0), ("1504221", 1)):
        assert ledger_export.count_items(session, c.sup, LedgerFilter(region=region)) == n, region
    q = ledger_queries.scoped_query(Actor.system("t"), LedgerFilter(region="150422"), local_today())
    sql = str(q.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN "
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))
    else:
        explain += "QUERY PLAN "
    plan = "\n".join(str(r[-1]) for r in session.execute(text(explain + sql)))
    assert "ix_ledger_item_scope" in plan, plan


def test_overdue_with_a_state_filter(session: Session) -> None:
    c = cast(session, "LBX6")
    late_open, late_closed, on_time = _items(session, c, 3, "LBX6")
    today = local_today()
    late_open.deadline = late_closed.deadline = today - timedelta(days=3)
    late_closed.state = LedgerState.closed
    on_time.deadline = today + timedelta(days=3)
    session.flush()

    def numbers(**kw: object) -> set[int]:
        rows = ledger_export.iter_items(session, c.sup, LedgerFilter(**kw), today=today)  # type: ignore[arg-type]
        return {r.number for batch in rows for r in batch}

    assert numbers(state=LedgerState.open, overdue=True) == {late_open.number}
    assert numbers(state=LedgerState.open, overdue=False) == {on_time.number}
    assert numbers(state=LedgerState.closed, overdue=True) == set()
    assert numbers(state=LedgerState.closed, overdue=False) == {late_closed.number}
    assert numbers(overdue=True) == {late_open.number}


def test_export_cells_keep_markup_whitespace_and_dates(session: Session) -> None:
    c = cast(session, "LBX7")
    h = make_household(session, "LBX7a", head_name=" 李<四>&\x07 ")
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, h).id)
    buf = io.BytesIO()
    assert ledger_export.export_xlsx(session, c.sup, LedgerFilter(), buf) == 1
    rows = _sheet(buf.getvalue())
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["户主"] == " 李<四>& "  # markup kept as text, a control character dropped
    assert row["整改时限"].date() == item.deadline  # type: ignore[attr-defined]
    assert row["销号日期"] is None


def test_row_xml_writes_what_openpyxl_would() -> None:
    xml = ledger_export.row_xml(3, [7, "", None, date(2026, 1, 2), Decimal("1.50"), "=1", "a\tb "], 5)
    assert xml == (
        '<row r="3"><c r="A3"><v>7</v></c><c r="D3" s="5"><v>46024</v></c>'
        '<c r="E3"><v>1.50</v></c><c r="F3" t="inlineStr"><is><t>\'=1</t></is></c>'
        '<c r="G3" t="inlineStr"><is><t xml:space="preserve">a\tb </t></is></c></row>'
    )


def test_overdue_by_township_counts_open_late_items_from_the_partial_index(session: Session) -> None:
    c = cast(session, "LBX8")
    late, closed_late, on_time = _items(session, c, 3, "LBX8")
    today = local_today()
    late.deadline = closed_late.deadline = today - timedelta(days=2)
    closed_late.state = LedgerState.closed
    on_time.deadline = today + timedelta(days=2)
    session.flush()
    assert ledger_queries.overdue_by_township(session, c.sup, today=today) == {VILLAGE[:9]: 1}
    assert ledger_queries.overdue_by_township(session, c.sup, region="150421", today=today) == {}
    if session.get_bind().dialect.name == "postgresql":
        flt = LedgerFilter(overdue=True)
        q = select(LedgerItem.village_code).where(*ledger_queries._conditions(Actor.system("t"), flt, today))
        sql = str(q.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = "\n".join(str(r[0]) for r in session.execute(text("EXPLAIN " + sql)))
        assert "ix_ledger_item_open_village_deadline" in plan, plan


def test_an_export_failing_midway_leaves_no_writer_to_complain(session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gc
    import sys

    import pytest

    c = cast(session, "LBX9")
    _items(session, c, 2, "LBX9h")

    def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("a row that cannot be read")

    monkeypatch.setattr(ledger_export, "_sheet_cells", broken)
    complaints: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", complaints.append)
    with pytest.raises(RuntimeError):
        ledger_export.export_xlsx(session, c.sup, LedgerFilter(), io.BytesIO())
    gc.collect()
    assert complaints == []
