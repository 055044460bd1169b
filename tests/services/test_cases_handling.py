"""Case handling in the store: the moves and their 409s, history and audit, time limits on the
official calendar, the household match, the 12345 import (encodings, headers, bad rows, re-import),
and the reply export. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from contracts.cases import CaseEntry
from contracts.residents import CaseCategory, CaseSource, CaseState
from models.application import Case
from models.audit import AuditEvent
from models.case import ResidentNotice
from models.region import Region
from models.user import Role
from services import case_flow, case_import, case_replies, cases, workdays
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, DomainError, Forbidden, ValidationFailed
from tests.factories import VILLAGE, ensure_regions, make_household, make_id, make_user

DATA = Path(__file__).resolve().parents[1] / "data" / "hotline"
OTHER_VILLAGE = "150423100200"  # another county


def _places(session: Session) -> None:
    ensure_regions(session, VILLAGE)
    ensure_regions(session, OTHER_VILLAGE)
    for code, name in ((VILLAGE, "东升村"), (OTHER_VILLAGE, "南河村")):
        region = session.get(Region, code)
        assert region is not None
        region.name = name
        session.add(region)
    session.flush()


def _households(session: Session) -> None:
    _places(session)
    make_household(session, "LB0001", head_name="张三")
    make_household(session, "LB0002", head_name="包玉兰")
    make_household(session, "LB0009", village=OTHER_VILLAGE, head_name="孙七")


def _sup(session: Session, scope: str = "150422") -> Actor:
    return Actor.of(make_user(session, f"sup-{scope}", Role.supervisor, scope_code=scope))


def _entry(session: Session, settings: Settings, actor: Actor, **kw: object) -> Case:
    data = CaseEntry(
        source=CaseSource.petition, category=CaseCategory.payment, text="来信反映低保金被扣", **kw
    )  # type: ignore[arg-type]
    return case_flow.enter(session, settings, actor, data)


def test_the_moves_in_order_with_history_and_audit(session: Session, settings: Settings) -> None:
    _households(session)
    sup = _sup(session)
    case = _entry(session, settings, sup, register_no="LB0002", reporter_name="包玉兰", contact="13904761111")
    assert case.first_responder == sup.label and case.match_confirmed and case.village_code == VILLAGE
    assert case_flow.allowed(case) == ["assign", "answer"]
    with pytest.raises(Conflict) as refused:
        case_flow.close(session, sup, case.id)
    assert refused.value.status == 409 and refused.value.code == "case_illegal_move"
    case_flow.assign(session, sup, case.id, "林东镇民政所")
    case_flow.investigate(session, sup, case.id, "入户核查")
    case_flow.answer(session, sup, case.id, "经核查，已补发九月、十月低保金。")
    with pytest.raises(Conflict):
        case_flow.investigate(session, sup, case.id)
    case_flow.close(session, sup, case.id)
    case_flow.reopen(session, sup, case.id, "来信人不认可")
    assert case.state == CaseState.reopened and case.reopen_count == 1 and case.closed_at is None
    steps = [(e.action, e.to_state) for e in cases.history(session, case)]
    assert steps == [
        ("create", "received"),
        ("assign", "assigned"),
        ("investigate", "investigating"),
        ("answer", "answered"),
        ("close", "closed"),
        ("reopen", "reopened"),
    ]
    actions = {a for a in session.exec(select(AuditEvent.action)).all()}
    assert {
        "case.create",
        "case.assign",
        "case.investigate",
        "case.answer",
        "case.close",
        "case.reopen",
    } <= actions
    # staff cases have no Telegram chat: nothing queued for the bot
    assert session.exec(select(ResidentNotice)).all() == []


def test_time_limits_follow_the_official_calendar_and_the_category(settings: Settings) -> None:
    # 2026-09-30 + 7 working days: the National Day week is off, 10-10 (Saturday) is a make-up day
    assert cases.due_date(settings, CaseCategory.objection, date(2026, 9, 30)) == date(2026, 10, 15)
    custom = Settings(env="test", case_days={"conduct": 3}, case_days_default=20)
    assert cases.time_limit_days(custom, CaseCategory.conduct) == 3
    assert cases.time_limit_days(custom, CaseCategory.other) == 20
    assert cases.due_date(custom, CaseCategory.conduct, date(2026, 9, 30)) == workdays.add_working_days(
        date(2026, 9, 30), 3
    )


def test_region_scope_and_manual_match_confirm(session: Session, settings: Settings) -> None:
    _households(session)
    township = _sup(session, "150422100")
    elsewhere = _sup(session, "150423")
    case = _entry(session, settings, township, reporter_name="张三丰", place="林东镇东升村三组")
    assert case.match_method == "name" and not case.match_confirmed  # 张三丰 ≈ 张三: a person decides
    assert case.match_confidence is not None and 0.6 <= case.match_confidence < settings.case_match_threshold
    with pytest.raises(Forbidden):
        case_flow.assign(session, elsewhere, case.id, "林西县民政局")
    assert case.id not in [c.id for c in cases.list_for(session, elsewhere, None)]
    assert [c.id for c in cases.list_for(session, township, None, unconfirmed=True)] == [case.id]
    with pytest.raises(Forbidden):  # a household outside the confirmer's region
        case_flow.confirm_match(session, township, case.id, "LB0009")
    case_flow.confirm_match(session, township, case.id, "LB0001")
    assert case.match_confirmed and case.match_confidence == 1.0
    with pytest.raises(Forbidden):  # entering a case about a household in another region
        _entry(session, settings, township, register_no="LB0009")


def test_bad_staff_entries_are_refused(session: Session, settings: Settings) -> None:
    sup = _sup(session)
    with pytest.raises(ValidationFailed):
        case_flow.enter(session, settings, sup, CaseEntry(source=CaseSource.staff, text="   "))
    with pytest.raises(ValidationFailed):
        case_flow.enter(session, settings, sup, CaseEntry(source=CaseSource.web, text="网上来的"))
    _entry(session, settings, sup, external_number="XF-2026-001")
    with pytest.raises(Conflict):
        _entry(session, settings, sup, external_number="XF-2026-001")
    inspector = Actor.of(make_user(session, "insp-x", Role.inspector))
    with pytest.raises(Forbidden):
        _entry(session, settings, inspector)


@pytest.mark.parametrize("name", ["orders_utf8.csv", "orders_gbk.csv", "orders_bom.csv"])
def test_import_of_three_encodings_matches_households_and_is_idempotent(
    session: Session, settings: Settings, name: str
) -> None:
    _households(session)
    sup = _sup(session)
    data = (DATA / name).read_bytes()
    seen: list[tuple[int, int]] = []
    first = case_import.import_cases(
        session, settings, sup, data, name, progress=lambda d, t: seen.append((d, t))
    )
    assert (first.rows, first.created, first.unchanged, first.errors) == (3, 3, 0, [])
    assert seen[-1] == (3, 3)
    assert first.matched == 1 and first.to_confirm == 1
    if name != "orders_bom.csv":
        assert first.unknown_columns == ["受理坐席", "回访要求"]
    by_number = {
        c.external_number: c
        for c in case_import.imported(session, ["GD20261102000101", "GD20261103000207", "GD20261105000318"])
    }
    paid = by_number["GD20261102000101"]
    assert paid.source == CaseSource.hotline and paid.category == CaseCategory.payment
    assert paid.match_method == "name" and paid.match_confirmed and paid.village_code == VILLAGE
    assert paid.reporter_enc and "包玉兰" not in paid.reporter_enc and paid.contact_enc
    assert paid.received_at.date() == date(2026, 11, 2)
    assert paid.due_on == workdays.add_working_days(date(2026, 11, 2), settings.case_days["payment"])
    assert by_number["GD20261103000207"].category == CaseCategory.eligibility
    anon = by_number["GD20261105000318"]
    assert anon.anonymous and anon.village_code is None and anon.category == CaseCategory.conduct
    again = case_import.import_cases(session, settings, sup, data, name)
    assert (again.created, again.unchanged) == (0, 3)
    assert len(session.exec(select(Case)).all()) == 3


def test_import_reports_bad_rows_by_number_and_imports_the_rest(session: Session, settings: Settings) -> None:
    _households(session)
    sup = _sup(session, "150422")
    result = case_import.import_cases(session, settings, sup, (DATA / "orders_bad.csv").read_bytes())
    assert result.created == 1
    assert [(e.row, e.code) for e in result.errors] == [
        (3, "row_required"),
        (4, "case_text_empty"),
        (5, "case_row_duplicate"),
        (6, "row_bad_date"),
        (7, "row_bad_phone"),
        (8, "case_row_out_of_scope"),
    ]
    assert all(e.message and e.message != e.code for e in result.errors)


def test_import_refuses_wrong_encoding_missing_columns_and_empty_files(
    session: Session, settings: Settings
) -> None:
    sup = _sup(session)
    # Excel's "Unicode text" (UTF-16 with a byte-order mark) is read; UTF-16 without one is refused
    assert (
        case_import.import_cases(session, settings, sup, (DATA / "orders_utf16.csv").read_bytes()).rows == 3
    )
    no_bom = (DATA / "orders_utf8.csv").read_text(encoding="utf-8").encode("utf-16-le")
    with pytest.raises(DomainError) as enc:
        case_import.import_cases(session, settings, sup, no_bom)
    assert enc.value.code in ("import_encoding", "import_format")
    with pytest.raises(ValidationFailed) as cols:
        case_import.import_cases(session, settings, sup, "姓名,电话\n张三,13900000000\n".encode())
    assert cols.value.code == "import_missing_columns" and "工单编号" in cols.value.message()
    with pytest.raises(ValidationFailed):
        case_import.import_cases(session, settings, sup, b"")


def test_xlsx_import_matches_by_id_number_and_the_reply_export_escapes_formulas(
    session: Session, settings: Settings
) -> None:
    _households(session)
    sup = _sup(session)
    idn = make_id(random.Random("LB0001"))  # the factory's ID for LB0001's head
    wb = load_workbook(DATA / "orders.xlsx")
    wb.active["H2"] = idn
    buf = io.BytesIO()
    wb.save(buf)
    result = case_import.import_cases(session, settings, sup, buf.getvalue(), "orders.xlsx")
    assert result.created == 2 and result.matched == 1, result
    by_id, formula = case_import.imported(session, ["GD20261110000455", "GD20261110000456"])
    if by_id.external_number != "GD20261110000455":
        by_id, formula = formula, by_id
    assert by_id.match_method == "id" and by_id.match_confidence == 1.0
    case_flow.answer(session, sup, by_id.id, "经核查，村会计代领属实，已移送纪检监察机关。")
    case_flow.answer(session, sup, formula.id, "=1+1 请到镇民政所咨询。")
    sheet = load_workbook(io.BytesIO(case_replies.export_xlsx(session, sup))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "工单编号" and len(rows) == 3
    assert {r[0] for r in rows[1:]} == {"GD20261110000455", "GD20261110000456"}
    assert "'=1+1 请到镇民政所咨询。" in {r[5] for r in rows[1:]}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "case.replies_export")).first()


def test_a_bot_case_answer_and_close_queue_notices_for_the_residents_chat(
    session: Session, settings: Settings
) -> None:
    sup = _sup(session)
    new = cases.submit(
        session,
        settings,
        CaseSource.bot,
        cases.Complaint(CaseCategory.payment, "低保金没到账", telegram_user_id=777),
    )
    case_flow.answer(session, sup, new.case.id, "已补发。")
    case_flow.close(session, sup, new.case.id)
    notices = session.exec(select(ResidentNotice).order_by(ResidentNotice.created_at)).all()  # type: ignore[arg-type]
    assert [(n.kind, n.telegram_user_id) for n in notices] == [("case_answered", 777), ("case_rate", 777)]
    assert notices[0].params["answer"] == "已补发。"
    rated = cases.rate_by_telegram(session, 777, new.case.number, 4)
    assert rated.satisfaction == 4 and rated.rated_at is not None
    with pytest.raises(Conflict):
        cases.rate_by_telegram(session, 777, new.case.number, 5)
    with pytest.raises(cases.CaseNotFound):
        cases.rate_by_telegram(session, 778, new.case.number, 5)
