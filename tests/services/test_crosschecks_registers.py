"""Other departments' registers: shipped rule files, a county's own directory, leads over a threshold,
per-row errors, idempotent re-imports (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from contracts.crosschecks import MatchOutcome
from contracts.ledger import FindingKind, FindingReview
from models.crosscheck import CrosscheckMatch
from models.visit import Finding
from services import crosschecks
from services.context import Actor
from services.crosscheck_rules import PACKAGED, load_rules, parse_rule
from services.errors import NotFound, ValidationFailed
from tests.factories import make_household

ACTOR = Actor.system("test")
TODAY = date(2026, 12, 4)
DATA = Path(__file__).resolve().parents[1] / "data" / "crosschecks"
IDS = (DATA / "ids.txt").read_text().split()


def test_shipped_rule_files_cover_five_registers() -> None:
    rules = load_rules(extra=Path("/nonexistent"))
    assert {"vehicles", "real_estate", "business", "public_payroll", "pensions"} <= set(rules)
    assert all(Path(r.path).parent == PACKAGED for r in rules.values())
    assert rules["vehicles"].describe() == "sum(value) > 50000"


def test_county_directory_adds_and_replaces(tmp_path: Path) -> None:
    rules = load_rules(extra=DATA / "county_rules")
    assert rules["vehicles"].threshold == 10000 and rules["vehicles"].aggregate == "max"
    assert rules["farm_subsidies"].label("en") == "farm subsidy payments"
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x\ncolumns: {name: [姓名]}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        parse_rule(bad)
    assert exc.value.code == "xc_rule_file_invalid" and "id_number" in exc.value.params["detail"]
    bad.write_text("source: deaths\ncolumns: {name: [a], id_number: [b]}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed):
        parse_rule(bad)


def test_vehicles_over_the_limit_become_leads_once(session: Session) -> None:
    for i, idn in enumerate(IDS):
        make_household(session, f"LB-V{i}", id_number=idn)
    data = (DATA / "vehicles.csv").read_bytes()
    report = crosschecks.import_register(
        session, ACTOR, "vehicles", data, "vehicles.csv", "2026-11", today=TODAY
    )
    # 号牌号码 is not a column of the rule: reported once, ignored; 很贵 is not a number
    codes = {(e.row, e.code) for e in report.errors}
    assert codes == {(1, "xc_unknown_column"), (6, "row_bad_number")}
    assert report.rows == 5 and report.valid_rows == 4 and report.matched == 4
    # 30000 + 25000 > 50000 and 80,000 > 50000; 10000 is under the limit
    assert report.new_matches == 2 and report.findings == 2 and report.ledger_items == 0
    values = sorted(m.value for m in session.exec(select(CrosscheckMatch)).all() if m.value is not None)
    assert [int(v) for v in values] == [55000, 80000]
    f = session.exec(select(Finding).where(Finding.rule_id == "crosscheck:vehicles")).first()
    assert f is not None and f.kind is FindingKind.lead and f.review is FindingReview.pending
    assert "车辆登记" in f.message_zh and "vehicle registrations" in f.message_en
    again = crosschecks.import_register(
        session, ACTOR, "vehicles", data, "vehicles.csv", "2026-11", today=TODAY
    )
    assert again.new_matches == 0 and again.findings == 0
    nxt = crosschecks.import_register(
        session, ACTOR, "vehicles", data, "vehicles.csv", "2026-12", today=TODAY
    )
    assert nxt.new_matches == 2  # a register is a monthly snapshot: next month is checked again
    assert session.exec(select(func.count()).select_from(CrosscheckMatch)).one() == 4
    listed = crosschecks.list_matches(session, ACTOR, source="vehicles", outcome=MatchOutcome.flagged)
    assert len(listed) == 4 and all(m.id_masked.count("*") == 8 for m in listed)


def test_county_rules_and_unknown_source(session: Session) -> None:
    make_household(session, "LB-V9", id_number=IDS[1])
    data = (DATA / "vehicles.csv").read_bytes()
    report = crosschecks.import_register(
        session, ACTOR, "vehicles", data, "v.csv", "2026-11", rules_dir=DATA / "county_rules", today=TODAY
    )
    assert report.findings == 1  # the county's limit of 10000 catches the cheap car
    csv = f"姓名,身份证号,补贴金额\n李二,{IDS[1]},3000\n李二,{IDS[1]},2500\n".encode("gb18030")
    farm = crosschecks.import_register(
        session,
        ACTOR,
        "farm_subsidies",
        csv,
        "f.csv",
        "2026-11",
        rules_dir=DATA / "county_rules",
        today=TODAY,
    )
    assert farm.findings == 1 and not farm.errors
    with pytest.raises(NotFound):
        crosschecks.import_register(session, ACTOR, "boats", data, "v.csv", "2026-11", today=TODAY)
