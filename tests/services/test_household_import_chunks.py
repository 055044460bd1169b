"""The streamed import: chunk boundaries, savepoint rollback, and the storage format of the raw writes."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, func, select

from models.household import Datum, Household, HouseholdMember, HouseholdStatus, SubsidyType, Tier
from services import household_import as imp
from services import household_writer
from services.cipher import get_cipher
from services.context import Actor
from tests.factories import ensure_regions, make_id

ACTOR = Actor.system("test")
V1, V2 = "150422100200", "150422100201"
FULL = (
    "低保证号,户主姓名,身份证号,联系电话,家庭人口,住址,所属村(居),经度,纬度,坐标系,保障类别,补助类型,"
    "月保障金额,保障起始日期,最近复核日期,状态,干部亲属备案,银行账号,成员姓名,与户主关系,成员身份证号,残疾,重病\n"
)


@pytest.fixture
def villages(session: Session) -> None:
    ensure_regions(session, V1)
    ensure_regions(session, V2)


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imp, "CHUNK_HOUSEHOLDS", 1)


def _ids(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [make_id(rng) for _ in range(n)]


def _full(
    reg: str, head: str, member: tuple[str, str, str, str, str] = ("", "", "", "", ""), **kw: str
) -> str:
    f = {
        "phone": "13812345678",
        "size": "3",
        "village": V1,
        "amount": "560.50",
        "start": "2021-03-01",
        "review": "2024/05/06",
        "status": "正常",
        "cadre": "是",
        "bank": "6222 0000 1111 2222",
        "tier": "比较困难",
        "subsidy": "非常补",
    }
    f.update(kw)
    return (
        f"{reg},李四,{head},{f['phone']},{f['size']},林东镇2号,{f['village']},119.381234,43.981234,BD09,"
        f"{f['tier']},{f['subsidy']},{f['amount']},{f['start']},{f['review']},{f['status']},{f['cadre']},"
        f"{f['bank']},{','.join(member)}\n"
    )


def _snapshot(session: Session, reg: str) -> dict[str, Any]:
    """A household and its members as the ORM reads them, without ids, ciphertexts and times."""
    session.expire_all()
    cipher = get_cipher()
    h = session.exec(select(Household).where(Household.register_no == reg)).one()
    members = session.exec(select(HouseholdMember).where(HouseholdMember.household_id == h.id)).all()
    skip = {"id", "register_no", "head_id_enc", "phone_enc", "bank_enc", "created_at", "updated_at"}
    out = {k: v for k, v in h.model_dump().items() if k not in skip}
    out["head_id"], out["phone"], out["bank"] = (
        cipher.decrypt(h.head_id_enc),
        cipher.decrypt(h.phone_enc),
        cipher.decrypt(h.bank_enc),
    )
    out["members"] = sorted(
        (m.position, m.name, m.relation, cipher.decrypt(m.id_enc), m.id_hash, m.disabled, m.seriously_ill)
        for m in members
    )
    return out


def _count(session: Session, model: type[Household] | type[HouseholdMember]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _family_file(prefix: str, ids: list[str]) -> str:
    """Three households whose member rows are scattered, so they fall into other chunks."""
    a, b, c, a1, a2, b1 = ids
    return (
        FULL
        + _full(f"{prefix}A", a, ("李四", "户主", a, "否", "否"))
        + _full(f"{prefix}B", b, ("王五", "户主", b, "", ""), size="1")
        + _full(f"{prefix}A", a, ("李小四", "子女", a1, "二级", "否"))
        + _full(f"{prefix}C", c, village=V2)
        + _full(f"{prefix}B", b, ("王小五", "配偶", b1, "", "重病"), size="1")
        + _full(f"{prefix}A", a, ("李四", "户主", "", "一级", "是"))  # the head again: late flags
        + _full(f"{prefix}A", a, ("李大四", "父母", a2, "", ""))
    )


def test_members_spanning_chunks_match_one_chunk(
    session: Session, villages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _ids(6)
    big = imp.import_households(session, ACTOR, _family_file("ONE", ids).encode(), "r.csv")
    monkeypatch.setattr(imp, "CHUNK_HOUSEHOLDS", 1)
    small = imp.import_households(session, ACTOR, _family_file("TINY", ids).encode(), "r.csv")
    assert small.written and big.written and small.error_count == 0
    for field in ("rows", "valid_rows", "households", "created", "updated", "members"):
        assert getattr(small, field) == getattr(big, field), field
    assert (small.created, small.members) == (3, 6)
    for suffix in "ABC":
        assert _snapshot(session, f"TINY{suffix}") == _snapshot(session, f"ONE{suffix}")
    a = _snapshot(session, "TINYA")
    assert a["size"] == 5  # 1 + four member rows (the head's own rows count, as before)
    head = a["members"][0]
    assert head[:3] == (0, "李四", "户主") and head[5:] == (True, True)
    assert [m[0] for m in a["members"]] == [0, 2, 4]
    assert _snapshot(session, "TINYB")["size"] == 3


def test_update_across_chunks_replaces_members(session: Session, villages: None, tiny_chunks: None) -> None:
    ids = _ids(6, seed=5)
    imp.import_households(session, ACTOR, _family_file("U", ids).encode(), "r.csv")
    a, b, c, _a1, _a2, b1 = ids
    again = (
        FULL
        + _full("UA", a, ("李四", "户主", a, "否", "否"), tier="特困", amount="900")
        + _full("UB", b)
        + _full("UD", c)
        + _full("UA", a, ("李小四", "子女", b1, "", ""), tier="特困", amount="900")
    )
    report = imp.import_households(session, ACTOR, again.encode(), "r.csv")
    assert (report.created, report.updated, report.members) == (1, 2, 4)
    ua = _snapshot(session, "UA")
    assert ua["tier"] == Tier.extreme and ua["monthly_amount"] == Decimal("900")
    assert [(m[0], m[1]) for m in ua["members"]] == [(0, "李四"), (2, "李小四")]
    assert [m[1] for m in _snapshot(session, "UB")["members"]] == ["李四"]
    assert _count(session, Household) == 4


def test_invalid_row_after_written_chunks_rolls_everything_back(
    session: Session, villages: None, tiny_chunks: None
) -> None:
    ids = _ids(6, seed=9)
    first = FULL + _full("R1", ids[0], tier="特困")
    assert imp.import_households(session, ACTOR, first.encode(), "r.csv").written
    before = _snapshot(session, "R1")
    bad_id = ids[5][:17] + ("0" if ids[5][17] != "0" else "1")
    text_ = (
        FULL
        + _full("R1", ids[0], tier="一般困难")
        + "".join(_full(f"R{i}", ids[i]) for i in range(2, 5))
        + _full("R9", bad_id)
    )
    report = imp.import_households(session, ACTOR, text_.encode(), "r.csv")
    assert not report.written and report.error_count == 1 and report.errors[0].row == 6
    assert (report.created, report.updated, report.households) == (3, 1, 4)
    assert _count(session, Household) == 1 and _snapshot(session, "R1") == before
    assert _count(session, HouseholdMember) == 1
    report = imp.import_households(session, ACTOR, text_.encode(), "r.csv", dry_run=True)
    assert not report.written and _count(session, Household) == 1
    report = imp.import_households(session, ACTOR, text_.encode(), "r.csv", skip_invalid=True)
    assert report.written and (report.created, report.updated, report.error_count) == (3, 1, 1)
    assert _snapshot(session, "R1")["tier"] == Tier.ordinary


def test_duplicate_after_written_chunk_with_skip_invalid(
    session: Session, villages: None, tiny_chunks: None
) -> None:
    ids = _ids(5, seed=3)
    assert imp.import_households(session, ACTOR, (FULL + _full("D1", ids[0], tier="特困")).encode(), "r.csv")
    before = _snapshot(session, "D1")
    text_ = (
        FULL
        + _full("D1", ids[0], tier="一般困难")
        + _full("D2", ids[1])
        + _full("D3", ids[2])
        + _full("D2", ids[3])  # a repeat that is no member row: D2 is refused whole
        + _full("D4", ids[4])
    )
    report = imp.import_households(session, ACTOR, text_.encode(), "r.csv", skip_invalid=True)
    assert report.written
    assert {(e.row, e.code) for e in report.errors} == {(5, "row_duplicate")}
    assert (report.households, report.valid_rows, report.created, report.updated) == (3, 3, 2, 1)
    regs = set(session.exec(select(Household.register_no)).all())
    assert regs == {"D1", "D3", "D4"}
    assert _snapshot(session, "D1")["tier"] == Tier.ordinary
    text2 = FULL + _full("D1", ids[0], tier="比较困难") + _full("D5", ids[1]) + _full("D1", ids[3])
    report = imp.import_households(session, ACTOR, text2.encode(), "r.csv", skip_invalid=True)
    assert (report.created, report.updated) == (1, 0)
    after = _snapshot(session, "D1")
    assert after["tier"] == Tier.ordinary and after["members"] == before["members"]
    assert _count(session, HouseholdMember) == 4


def test_raw_writes_store_what_sqlalchemy_stores(
    session: Session, villages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver-level path and SQLAlchemy Core write identical column values on each database."""
    a, b = _ids(2, seed=21)
    rows = _full("RAW", a, ("李四", "户主", a, "否", "是")) + _full(
        "RAW", a, ("李小四", "子女", b, "三级", "")
    )
    started = datetime.now(UTC)
    assert imp.import_households(session, ACTOR, (FULL + rows).encode(), "r.csv").written
    monkeypatch.setattr(household_writer.Writer, "mode_override", "core")
    assert imp.import_households(
        session, ACTOR, (FULL + rows.replace("RAW", "CORE")).encode(), "r.csv"
    ).written
    conn = session.connection()
    # ids and ciphertexts are random, the two imports ran at different times
    varying = {"id", "register_no", "head_id_enc", "phone_enc", "bank_enc", "id_enc", "household_id"}
    varying |= {"created_at", "updated_at"}

    def stored(sql: str, reg: str) -> list[dict[str, Any]]:
        result = conn.exec_driver_sql(sql, (reg,) if conn.dialect.name == "sqlite" else ({"r": reg}))
        return [dict(r._mapping) for r in result]

    param = "?" if conn.dialect.name == "sqlite" else "%(r)s"
    h_sql = f"SELECT * FROM household WHERE register_no = {param}"
    m_sql = (
        "SELECT m.* FROM household_member m JOIN household h ON h.id = m.household_id "
        f"WHERE h.register_no = {param} ORDER BY m.position"
    )
    for sql in (h_sql, m_sql):
        raw, core = stored(sql, "RAW"), stored(sql, "CORE")
        assert len(raw) == len(core) > 0
        for r, c in zip(raw, core, strict=True):
            assert {k: v for k, v in r.items() if k not in varying} == {
                k: v for k, v in c.items() if k not in varying
            }
            assert {k: type(v) for k, v in r.items()} == {k: type(v) for k, v in c.items()}
            assert {k: len(str(v)) for k, v in r.items() if k.endswith("_at")} == {
                k: len(str(v)) for k, v in c.items() if k.endswith("_at")
            }
    (raw_h,) = stored(h_sql, "RAW")
    if conn.dialect.name == "sqlite":
        assert re.fullmatch(r"[0-9a-f]{32}", raw_h["id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", raw_h["created_at"])
    session.expire_all()
    h = session.exec(select(Household).where(Household.register_no == "RAW")).one()
    assert isinstance(h.id, uuid.UUID) and h.id.version == 7
    assert h.created_at.tzinfo is not None and abs(h.created_at - started) < timedelta(minutes=5)
    assert h.monthly_amount == Decimal("560.50") and h.size == 3
    assert (h.lat, h.lon, h.datum) == (43.981234, 119.381234, Datum.bd09)
    assert (h.start_date, h.last_review_date) == (date(2021, 3, 1), date(2024, 5, 6))
    assert (h.tier, h.subsidy_type, h.status, h.cadre_relative) == (
        Tier.fairly,
        SubsidyType.non_regular,
        HouseholdStatus.active,
        True,
    )
    cipher = get_cipher()
    assert cipher.decrypt(h.bank_enc) == "6222000011112222" and cipher.decrypt(h.phone_enc) == "13812345678"
    assert h.head_id_hash == cipher.lookup_hash(a) and h.phone_hash == cipher.lookup_hash("13812345678")
    members = session.exec(
        select(HouseholdMember).where(HouseholdMember.household_id == h.id).order_by(HouseholdMember.position)
    ).all()
    assert [(m.name, m.position, m.disabled, m.seriously_ill) for m in members] == [
        ("李四", 0, False, True),
        ("李小四", 2, True, False),
    ]
    assert cipher.decrypt(members[0].id_enc) == a and members[0].id_hash == cipher.lookup_hash(a)
    assert all(isinstance(m.id, uuid.UUID) and m.id.version == 7 for m in members)


def test_ordered_ids_are_version_7_uuids_that_ascend() -> None:
    first, second = household_writer.OrderedIds(), household_writer.OrderedIds()
    values = [first() for _ in range(200)]
    for value in values:
        parsed = uuid.UUID(value)
        assert parsed.hex == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert values == sorted(values) and len(set(values)) == len(values)
    # a later import's ids carry a later (or the same) millisecond: they never sort far before
    assert second()[:12] >= values[-1][:12]


def test_sqlite_page_cache_is_given_back(session: Session, villages: None) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite pragma")
    (before,) = session.connection().exec_driver_sql("PRAGMA cache_size").one()
    (a,) = _ids(1, seed=2)
    assert imp.import_households(session, ACTOR, (FULL + _full("PC1", a)).encode(), "r.csv").written
    (after,) = session.connection().exec_driver_sql("PRAGMA cache_size").one()
    assert after == before


def test_progress_reports_rows_then_households(session: Session, villages: None, tiny_chunks: None) -> None:
    ids = _ids(3, seed=4)
    calls: list[tuple[int, int]] = []
    text_ = FULL + "".join(_full(f"P{i}", idn) for i, idn in enumerate(ids))
    report = imp.import_households(
        session, ACTOR, text_.encode(), "r.csv", progress=lambda d, t: calls.append((d, t))
    )
    assert report.written and calls[-1] == (3, 3)
    assert _count(session, Household) == 3
