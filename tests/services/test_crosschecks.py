"""Death-record cross-checks: matches by keyed hash, findings and ledger items, idempotent re-imports,
row-by-row errors, region scope (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import random
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlmodel import Session, col, func, select

from contracts.crosschecks import MatchOutcome
from contracts.ledger import FindingReview, FindingSource
from contracts.vocab import FindingCategory
from models.audit import AuditEvent
from models.crosscheck import CrosscheckMatch
from models.household import Household, HouseholdMember, HouseholdStatus
from models.ledger import LedgerItem
from models.user import Role
from models.visit import Finding
from services import crosschecks
from services.cipher import get_cipher
from services.context import Actor
from services.crosschecks import months_paid_after
from services.errors import Forbidden, ValidationFailed
from tests.factories import VILLAGE, make_household, make_id

ACTOR = Actor.system("test")
TODAY = date(2026, 12, 4)
HEADER = "姓名,身份证号,死亡日期,数据来源\n"


def _member(session: Session, h: Household, name: str, idn: str, relation: str = "子女") -> HouseholdMember:
    cipher = get_cipher()
    m = HouseholdMember(
        household_id=h.id,
        name=name,
        relation=relation,
        id_enc=cipher.encrypt(idn),
        id_hash=cipher.lookup_hash(idn),
    )
    session.add(m)
    session.flush()
    return m


class Cast:
    """Three households: a one-person household, a household of three, an exited household."""

    def __init__(self, session: Session) -> None:
        rng = random.Random(17)
        self.solo_id = make_id(rng, born=date(1940, 5, 6))
        self.child_id = make_id(rng, born=date(1990, 1, 2))
        self.gone_id = make_id(rng, born=date(1950, 3, 4))
        self.alive_id = make_id(rng)
        self.solo = make_household(session, "LB-D1", id_number=self.solo_id, head_name="李四", size=1)
        self.family = make_household(session, "LB-D2", id_number=make_id(rng), size=3)
        _member(session, self.family, "王小", self.child_id)
        self.gone = make_household(
            session, "LB-D3", id_number=self.gone_id, size=1, status=HouseholdStatus.exited
        )


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def test_months_paid_after_death() -> None:
    assert months_paid_after(date(2026, 9, 15), "2026-11", date(2024, 1, 1)) == 2
    assert months_paid_after(date(2026, 11, 2), "2026-11", None) == 0
    # enrolled after death: every month since enrolment was paid to a dead person
    assert months_paid_after(date(2026, 1, 5), "2026-11", date(2026, 6, 1)) == 6


def test_deaths_make_findings_ledger_items_and_are_idempotent(session: Session) -> None:
    c = Cast(session)
    data = _csv(
        f"李四,{c.solo_id},2026-09-15,殡仪馆",
        f"王小,{c.child_id},2026/10/01,殡仪馆",
        f"赵六,{c.gone_id},2026-08-01,殡仪馆",
        f"陈七,{c.alive_id},2026-10-01,殡仪馆",  # not on the register
    )
    report = crosschecks.import_deaths(session, ACTOR, data, "deaths.csv", "2026-11", today=TODAY)
    assert (report.rows, report.valid_rows, report.matched, report.new_matches) == (4, 4, 3, 3)
    assert report.findings == 2 and report.ledger_items == 1 and not report.errors
    matches = {m.household_id: m for m in session.exec(select(CrosscheckMatch)).all()}
    paid = matches[c.solo.id]
    assert paid.outcome is MatchOutcome.paid_after_death and paid.months == 2
    assert (
        paid.amount == Decimal("1120.00")
        and paid.id_masked.startswith(c.solo_id[:6])
        and "*" in paid.id_masked
    )
    assert c.solo_id not in str(paid.model_dump())
    item = session.get(LedgerItem, paid.ledger_item_id)
    assert item is not None and item.category is FindingCategory.PAID_AFTER_DEATH
    assert item.money_to_recover == Decimal("1120.00") and item.months == 2
    f = session.get(Finding, paid.finding_id)
    assert f is not None and f.review is FindingReview.confirmed and f.source is FindingSource.crosscheck
    assert "1120" in f.message_zh and "1120" in f.message_en
    changed = matches[c.family.id]
    assert changed.outcome is MatchOutcome.household_size_changed and changed.ledger_item_id is None
    sf = session.get(Finding, changed.finding_id)
    assert sf is not None and sf.category is FindingCategory.HOUSEHOLD_SIZE_CHANGED
    assert sf.review is FindingReview.pending and changed.amount == Decimal("186.67")  # 560 / 3 × 1
    assert (
        matches[c.gone.id].outcome is MatchOutcome.already_stopped and matches[c.gone.id].finding_id is None
    )

    again = crosschecks.import_deaths(session, ACTOR, data, "deaths.csv", "2026-11", today=TODAY)
    assert again.matched == 3 and again.new_matches == 0 and again.findings == 0
    later = crosschecks.import_deaths(session, ACTOR, data, "deaths-dec.csv", "2026-12", today=TODAY)
    assert later.new_matches == 0  # a death is matched once, whatever month reports it again
    assert session.exec(select(func.count()).select_from(CrosscheckMatch)).one() == 3
    assert session.exec(select(func.count()).select_from(LedgerItem)).one() == 1
    actions = session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like("crosscheck.%"))).all()
    assert actions.count("crosscheck.import") == 3


def test_bad_rows_are_reported_and_the_others_still_match(session: Session) -> None:
    c = Cast(session)
    wrong = c.alive_id[:17] + ("1" if c.alive_id[17] != "1" else "2")
    data = (
        "姓名,身份证号,死亡日期,备注列\n"
        f"李四,{c.solo_id},2026-09-15,x\n"
        f"错号,{wrong},2026-09-15,x\n"
        f"未来,{c.alive_id},2027-01-01,x\n"
        f"王小,{c.child_id},1980-01-01,x\n"  # before the birth date in the ID number
        f"李四,{c.solo_id},2026-09-15,x\n"  # the same record twice
        f",{c.gone_id},2026-09-15,x\n"
        f"坏日,{c.gone_id},不详,x\n"
    ).encode("gb18030")
    report = crosschecks.import_deaths(session, ACTOR, data, "d.csv", "2026-11", today=TODAY)
    codes = {(e.row, e.code) for e in report.errors}
    assert (1, "xc_unknown_column") in codes
    assert (3, "row_id_checksum") in codes
    assert (4, "xc_death_future") in codes
    assert (5, "xc_death_before_birth") in codes
    assert (6, "xc_row_duplicate") in codes
    assert (7, "row_required") in codes
    assert (8, "row_bad_date") in codes
    assert report.rows == 7 and report.valid_rows == 1 and report.new_matches == 1
    d = report.as_dict("en")
    assert d["error_count"] == 7 and all(e["message"] for e in d["errors"])


def test_xlsx_file_and_whole_file_refusals(session: Session) -> None:
    c = Cast(session)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["死者姓名", "公民身份号码", "火化日期"])
    ws.append(["李四", c.solo_id, date(2026, 10, 3)])
    buf = io.BytesIO()
    wb.save(buf)
    report = crosschecks.import_deaths(session, ACTOR, buf.getvalue(), "d.xlsx", "2026-11", today=TODAY)
    assert report.new_matches == 1 and report.outcomes == {"paid_after_death": 1}
    with pytest.raises(ValidationFailed) as missing:
        crosschecks.import_deaths(session, ACTOR, b"name,foo\nx,y\n", "d.csv", "2026-11", today=TODAY)
    assert missing.value.code == "import_missing_columns"
    with pytest.raises(ValidationFailed) as month:
        crosschecks.import_deaths(session, ACTOR, _csv(), "d.csv", "2027-02", today=TODAY)
    assert month.value.code == "xc_bad_month"
    with pytest.raises(ValidationFailed):
        crosschecks.import_deaths(session, ACTOR, _csv(), "d.csv", "2026-13", today=TODAY)
    with pytest.raises(ValidationFailed) as enc:
        crosschecks.import_deaths(session, ACTOR, b"\x81\x30\xff\xfe\x00", "d.csv", "2026-11", today=TODAY)
    assert enc.value.code in ("import_encoding", "import_format", "import_missing_columns")


def test_region_scope_of_matching_and_listing(session: Session) -> None:
    c = Cast(session)
    data = _csv(f"李四,{c.solo_id},2026-09-15,殡仪馆")
    other = Actor(None, "sup-other", Role.supervisor, scope_code="150423")
    report = crosschecks.import_deaths(session, other, data, "d.csv", "2026-11", today=TODAY)
    assert report.matched == 0 and report.findings == 0
    inspector = Actor(None, "insp", Role.inspector, scope_code=VILLAGE[:6])
    with pytest.raises(Forbidden):
        crosschecks.import_deaths(session, inspector, data, "d.csv", "2026-11", today=TODAY)
    own = Actor(None, "sup-own", Role.supervisor, scope_code=VILLAGE[:6])
    report = crosschecks.import_deaths(session, own, data, "d.csv", "2026-11", today=TODAY)
    assert report.new_matches == 1
    assert len(crosschecks.list_matches(session, own, period="2026-11")) == 1
    assert crosschecks.list_matches(session, other, period="2026-11") == []
    runs = crosschecks.list_runs(session, other)
    assert runs and all(r.created_by != "supervisor:sup-own" for r in runs)
    shown = crosschecks.list_matches(session, own, source="deaths")[0]
    assert shown.register_no == "LB-D1" and shown.name_masked == "李*"
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "crosscheck.read")).all()
    assert len(reads) >= 2


def test_bulk_hash_is_the_registers_keyed_hash() -> None:
    ids = [make_id(random.Random(n)) for n in range(5)]
    by_hash = crosschecks.hash_ids(ids)
    assert {get_cipher().lookup_hash(i): i for i in ids}.items() <= by_hash.items()
