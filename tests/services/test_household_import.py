from __future__ import annotations

import io
import random

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from models.household import Household, HouseholdMember, Tier
from services import household_import as imp
from services.cipher import get_cipher
from services.context import Actor
from services.errors import TooLarge, ValidationFailed
from tests.factories import ensure_regions, make_id

ACTOR = Actor.system("test")
V1, V2 = "150422100200", "150422100201"
HEADER = (
    "低保证号,户主姓名,身份证号,联系电话,家庭人口,住址,所属村(居),经度,纬度,坐标系,"
    "保障类别,补助类型,月保障金额\n"
)


def _row(
    reg: str,
    idn: str,
    village: str = V1,
    lon: str = "119.38",
    lat: str = "43.98",
    datum: str = "GCJ02",
    tier: str = "一般困难",
    amount: str = "560",
) -> str:
    return f"{reg},王五,{idn},13812345678,3,林东镇1号,{village},{lon},{lat},{datum},{tier},常补,{amount}\n"


@pytest.fixture
def villages(session: Session) -> None:
    ensure_regions(session, V1)
    ensure_regions(session, V2)


def _ids(n: int) -> list[str]:
    rng = random.Random(7)
    return [make_id(rng) for _ in range(n)]


def test_import_utf8_bom_gb18030_and_upsert(session: Session, villages: None) -> None:
    a, b = _ids(2)
    text = HEADER + _row("LB1", a) + _row("LB2", b, village=V2)
    for data in (text.encode("utf-8-sig"), text.encode("gb18030"), text.encode("utf-8")):
        report = imp.import_households(session, ACTOR, data, "r.csv")
        assert report.written and report.error_count == 0
    assert session.exec(select(func.count()).select_from(Household)).one() == 2
    h = session.exec(select(Household).where(Household.register_no == "LB1")).one()
    assert h.tier == Tier.ordinary and h.township_code == V1[:9] and h.datum == "gcj02"
    assert get_cipher().decrypt(h.head_id_enc) == a and a not in (h.head_id_enc or "")
    changed = HEADER + _row("LB1", a, tier="特困", amount="900")
    report = imp.import_households(session, ACTOR, changed.encode(), "r.csv")
    assert (report.created, report.updated) == (0, 1)
    session.expire_all()
    h = session.exec(select(Household).where(Household.register_no == "LB1")).one()
    assert h.tier == Tier.extreme and float(h.monthly_amount) == 900
    assert session.exec(select(func.count()).select_from(HouseholdMember)).one() == 2


def test_invalid_rows_write_nothing_unless_skip(session: Session, villages: None) -> None:
    good, other = _ids(2)
    bad_checksum = good[:17] + ("0" if good[17] != "0" else "1")
    text = (
        HEADER
        + _row("LB1", good)
        + _row("LB2", bad_checksum)
        + _row("LB3", other, village="150422999999")
        + _row("LB4", other, lon="43.98", lat="119.38")
        + _row("LB5", other, lon="500", lat="1")
        + _row("LB6", other, datum="Mars")
        + _row("LB1", other)
        + _row("LB7", other, amount="99999999999999999999999999")
    )
    report = imp.import_households(session, ACTOR, text.encode(), "r.csv")
    assert not report.written
    codes = {(e.row, e.code) for e in report.errors}
    assert (3, "row_id_checksum") in codes
    assert (4, "row_unknown_village") in codes
    assert (5, "row_coords_swapped") in codes
    assert (6, "row_coords_range") in codes
    assert (7, "row_unknown_datum") in codes
    assert (8, "row_duplicate") in codes
    assert (9, "row_bad_number") in codes
    assert session.exec(select(func.count()).select_from(Household)).one() == 0
    assert "校验位" in next(e for e in report.errors if e.row == 3).message("zh-CN")
    report = imp.import_households(session, ACTOR, text.encode(), "r.csv", skip_invalid=True)
    assert report.written and report.created == 0  # LB1 is duplicated, so both of its rows are refused
    text2 = HEADER + _row("LB1", good) + _row("LB2", bad_checksum)
    report = imp.import_households(session, ACTOR, text2.encode(), "r.csv", skip_invalid=True)
    assert report.created == 1 and report.error_count == 1


def test_dry_run_writes_nothing(session: Session, villages: None) -> None:
    (a,) = _ids(1)
    report = imp.import_households(session, ACTOR, (HEADER + _row("LB1", a)).encode(), "r.csv", dry_run=True)
    assert report.created == 1 and not report.written
    assert session.exec(select(func.count()).select_from(Household)).one() == 0


def test_xlsx_formula_stays_text_and_members(session: Session, villages: None) -> None:
    a, b = _ids(2)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(
        [
            "低保证号",
            "户主姓名",
            "身份证号",
            "所属村(居)",
            "保障类别",
            "住址",
            "成员姓名",
            "与户主关系",
            "成员身份证号",
            "残疾",
        ]
    )
    ws.append(["LB9", "赵六", a, V1, "比较困难", '=HYPERLINK("http://evil","x")', "赵六", "户主", a, "否"])
    ws.append(
        ["LB9", "赵六", a, V1, "比较困难", '=HYPERLINK("http://evil","x")', "赵小六", "父子", b, "二级"]
    )
    buf = io.BytesIO()
    wb.save(buf)
    report = imp.import_households(session, ACTOR, buf.getvalue(), "r.xlsx")
    assert report.written, report.as_dict()
    h = session.exec(select(Household).where(Household.register_no == "LB9")).one()
    assert (h.address or "").startswith("=HYPERLINK")
    members = session.exec(select(HouseholdMember).where(HouseholdMember.household_id == h.id)).all()
    assert sorted(m.relation for m in members) == ["户主", "父子"]
    assert any(m.disabled for m in members)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"\x00\x01\x02binary",
        b"PK\x03\x04broken zip",
        "户主姓名\n张三\n".encode(),
        b"\xff\xfe\xfa\xfb",
    ],
)
def test_bad_files_get_clear_errors(session: Session, villages: None, data: bytes) -> None:
    with pytest.raises(ValidationFailed) as err:
        imp.import_households(session, ACTOR, data, "x.csv")
    assert err.value.message("zh-CN")


def test_oversized_file_is_refused(session: Session) -> None:
    with pytest.raises(TooLarge):
        imp.import_households(session, ACTOR, b"x" * (imp.MAX_IMPORT_BYTES + 1), "big.csv")


def test_english_headers_and_sql_looking_strings(session: Session, villages: None) -> None:
    (a,) = _ids(1)
    text = (
        "register_no,head_name,id_number,village_code,tier,address\n"
        f"LB'; DROP TABLE household;--,Robert,{a},{V1},ordinary,1 Main St\n"
    )
    report = imp.import_households(session, ACTOR, text.encode(), "r.csv")
    assert report.written
    assert session.exec(select(func.count()).select_from(Household)).one() == 1
