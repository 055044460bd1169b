"""Household register import: CSV (UTF-8, BOM, GB18030) or XLSX with the headers people use.

Every row is validated first (row number and reason); a file with invalid rows writes nothing unless
skip_invalid. Writing is a bulk upsert by register number in chunks (no round trip per row).
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, col

from models.household import Datum, Household, HouseholdMember, HouseholdStatus, SubsidyType, Tier
from models.region import Region, RegionLevel
from models.types import utcnow
from models.user import Role
from services import audit, jobs
from services.bulk import table_of, upsert
from services.cipher import get_cipher
from services.context import Actor
from services.errors import TooLarge, ValidationFailed
from services.messages import translate
from services.pii import PHONE_RE, id_number_problem, normalize_id, normalize_phone

MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_ROWS = 500_000
MAX_REPORTED_ERRORS = 1000
Progress = Callable[[int, int], None]

# canonical field -> header spellings (normalised: no spaces, no bracketed units, lower case)
ALIASES: dict[str, tuple[str, ...]] = {
    "register_no": (
        "低保证号",
        "保障证号",
        "证号",
        "低保编号",
        "户编号",
        "register_no",
        "registerno",
        "certificate",
    ),
    "head_name": ("户主姓名", "户主", "申请人姓名", "申请人", "head_name", "headname", "name"),
    "head_id": (
        "身份证号",
        "户主身份证号",
        "身份证号码",
        "户主身份证号码",
        "证件号码",
        "id_number",
        "idnumber",
        "id",
    ),
    "phone": ("联系电话", "电话", "手机号", "手机号码", "联系方式", "phone", "mobile", "tel"),
    "size": ("家庭人口", "保障人口", "家庭人数", "人口数", "保障人数", "size", "household_size", "members"),
    "address": ("住址", "家庭住址", "地址", "现住址", "address"),
    "village": (
        "所属村(居)",
        "所属村居",
        "村居代码",
        "村(居)代码",
        "所属村",
        "村代码",
        "区划代码",
        "village",
        "village_code",
    ),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "datum": ("坐标系", "坐标系统", "datum", "crs"),
    "tier": ("保障类别", "困难类别", "类别", "救助类别", "tier", "category"),
    "subsidy_type": ("补助类型", "保障类型", "常补/非常补", "是否常补", "subsidy_type", "subsidy"),
    "monthly_amount": ("月保障金额", "保障金额", "月补助金额", "月救助金", "monthly_amount", "amount"),
    "start_date": ("保障起始日期", "起始日期", "纳入时间", "享受时间", "start_date"),
    "last_review_date": ("最近复核日期", "复核日期", "上次复核", "last_review_date", "last_review"),
    "status": ("状态", "保障状态", "status"),
    "cadre_relative": ("干部亲属备案", "是否干部亲属", "干部亲属", "cadre_relative"),
    "bank": ("银行账号", "银行卡号", "账号", "bank_account", "bank"),
    "member_name": ("成员姓名", "家庭成员", "member_name"),
    "member_relation": ("与户主关系", "关系", "member_relation", "relation"),
    "member_id": ("成员身份证号", "成员身份证号码", "member_id_number", "member_id"),
    "member_disabled": ("残疾", "是否残疾", "残疾等级", "disabled"),
    "member_ill": ("重病", "是否重病", "健康状况", "seriously_ill", "ill"),
}
REQUIRED = ("register_no", "head_name", "head_id", "village", "tier")
LABELS = {
    "register_no": "低保证号",
    "head_name": "户主姓名",
    "head_id": "身份证号",
    "village": "所属村(居)",
    "tier": "保障类别",
    "size": "家庭人口",
    "monthly_amount": "月保障金额",
    "start_date": "保障起始日期",
    "last_review_date": "最近复核日期",
    "lon": "经度",
    "lat": "纬度",
    "address": "住址",
    "phone": "联系电话",
    "member_name": "成员姓名",
    "member_id": "成员身份证号",
    "subsidy_type": "补助类型",
    "status": "状态",
}

_TIERS = {
    "特困": Tier.extreme,
    "特困户": Tier.extreme,
    "特困供养": Tier.extreme,
    "extreme": Tier.extreme,
    "比较困难": Tier.fairly,
    "比较困难户": Tier.fairly,
    "fairly": Tier.fairly,
    "一般困难": Tier.ordinary,
    "一般困难户": Tier.ordinary,
    "ordinary": Tier.ordinary,
}
_SUBSIDY = {
    "常补": SubsidyType.regular,
    "常补对象": SubsidyType.regular,
    "是": SubsidyType.regular,
    "regular": SubsidyType.regular,
    "非常补": SubsidyType.non_regular,
    "非常补对象": SubsidyType.non_regular,
    "否": SubsidyType.non_regular,
    "non_regular": SubsidyType.non_regular,
    "non-regular": SubsidyType.non_regular,
}
_DATUMS = {
    "wgs84": Datum.wgs84,
    "wgs-84": Datum.wgs84,
    "gps": Datum.wgs84,
    "epsg:4326": Datum.wgs84,
    "gcj02": Datum.gcj02,
    "gcj-02": Datum.gcj02,
    "火星坐标": Datum.gcj02,
    "高德": Datum.gcj02,
    "腾讯": Datum.gcj02,
    "bd09": Datum.bd09,
    "bd-09": Datum.bd09,
    "百度": Datum.bd09,
}
_STATUS = {
    "": HouseholdStatus.active,
    "正常": HouseholdStatus.active,
    "在保": HouseholdStatus.active,
    "active": HouseholdStatus.active,
    "暂停": HouseholdStatus.suspended,
    "停发": HouseholdStatus.suspended,
    "suspended": HouseholdStatus.suspended,
    "退出": HouseholdStatus.exited,
    "已退出": HouseholdStatus.exited,
    "停保": HouseholdStatus.exited,
    "exited": HouseholdStatus.exited,
}
_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "重病", "残疾"}
_FALSE = {"", "否", "无", "n", "no", "false", "0", "健康"}
_BRACKETS = re.compile(r"[（(][^)）]*[)）]$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S")


@dataclass
class RowError:
    """One problem in one row."""

    row: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh-CN") -> str:
        """The reason, in the language."""
        return translate(self.code, lang, **self.params)

    def as_dict(self, lang: str = "zh-CN") -> dict[str, Any]:
        """JSON-friendly form."""
        return {"row": self.row, "field": self.column, "code": self.code, "message": self.message(lang)}


@dataclass
class ImportReport:
    """What an import found and did."""

    rows: int = 0
    valid_rows: int = 0
    households: int = 0
    created: int = 0
    updated: int = 0
    members: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    written: bool = False
    dry_run: bool = False

    def as_dict(self, lang: str = "zh-CN") -> dict[str, Any]:
        """JSON-friendly form (errors capped)."""
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "households": self.households,
            "created": self.created,
            "updated": self.updated,
            "members": self.members,
            "error_count": self.error_count,
            "written": self.written,
            "dry_run": self.dry_run,
            "errors": [e.as_dict(lang) for e in self.errors[:MAX_REPORTED_ERRORS]],
        }


def _norm_header(h: object) -> str:
    text = str(h or "").replace("\ufeff", "").strip()
    text = _BRACKETS.sub("", text) if not text.startswith(("所属村", "村(居)")) else text
    return re.sub(r"\s+", "", text).lower().replace("（", "(").replace("）", ")")


_ALIAS_INDEX = {_norm_header(a): name for name, spellings in ALIASES.items() for a in spellings}


def map_headers(headers: list[object]) -> dict[str, int]:
    """Maps canonical fields to column positions; raises when required columns are missing."""
    mapping: dict[str, int] = {}
    for i, h in enumerate(headers):
        name = _ALIAS_INDEX.get(_norm_header(h))
        if name and name not in mapping:
            mapping[name] = i
    missing = [LABELS.get(f, f) for f in REQUIRED if f not in mapping]
    if missing:
        raise ValidationFailed("import_missing_columns", columns="、".join(missing))
    return mapping


def read_table(data: bytes, filename: str = "") -> Iterator[list[object]]:
    """Yields the rows (header first) of a CSV or XLSX file, detecting the kind from the bytes."""
    if not data.strip():
        raise ValidationFailed("import_empty")
    if data[:4] == b"PK\x03\x04":
        yield from _read_xlsx(data)
        return
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ValidationFailed("import_format", detail="legacy .xls is not supported; save as .xlsx or CSV")
    text = _decode(data)
    if "\x00" in text[:4096]:
        raise ValidationFailed("import_format", detail="binary data, not CSV")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text, newline=""), dialect)
    except csv.Error as exc:
        raise ValidationFailed("import_format", detail=f"CSV: {exc}") from exc


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("import_encoding")


def _read_xlsx(data: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        # data_only=False: a formula such as =HYPERLINK(...) is read as its text, never evaluated
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed("import_format", detail=f"XLSX: {type(exc).__name__}") from exc
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def _cell_value(v: object, name: str) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and name not in ("lon", "lat", "monthly_amount"):
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


def _parse_date(value: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


@functools.cache
def _bound(x: float) -> Decimal:
    return Decimal(str(x))


@dataclass
class _Parsed:
    row: int
    data: dict[str, Any]
    member: dict[str, Any] | None


class _Validator:
    """Validates rows against the register's rules and the known villages."""

    def __init__(self, villages: dict[str, str], has_members: bool) -> None:
        self.villages = villages
        self.names: dict[str, list[str]] = {}
        for code, name in villages.items():
            self.names.setdefault(name, []).append(code)
        self.has_members = has_members
        self.errors: list[RowError] = []
        self._plan: tuple[dict[str, int], tuple[tuple[str, int], ...]] | None = None

    def err(self, row: int, fld: str, msg_code: str, **params: Any) -> None:
        self.errors.append(RowError(row, fld, msg_code, params))

    def text(self, row: int, fld: str, value: str, max_len: int, required: bool = False) -> str | None:
        if not value:
            if required:
                self.err(row, fld, "row_required", field=LABELS.get(fld, fld))
            return None
        if len(value) > max_len:
            self.err(row, fld, "row_too_long", field=LABELS.get(fld, fld), max=max_len)
            return None
        return value

    def number(self, row: int, fld: str, value: str, lo: float, hi: float) -> Decimal | None:
        if not value:
            return None
        try:
            n = Decimal(value.replace(",", "").replace("，", ""))
        except InvalidOperation:
            n = None
        if n is None or not n.is_finite() or n < _bound(lo) or n > _bound(hi):
            self.err(row, fld, "row_bad_number", field=LABELS.get(fld, fld), value=value[:40])
            return None
        return n

    def id_number(self, row: int, fld: str, value: str, required: bool) -> str | None:
        if not value:
            if required:
                self.err(row, fld, "row_required", field=LABELS.get(fld, fld))
            return None
        v = normalize_id(value)
        problem = id_number_problem(v)
        if problem:
            self.err(row, fld, "row_" + problem)
            return None
        return v

    def cells(self, row: list[object], m: dict[str, int]) -> dict[str, str]:
        """The mapped cells as trimmed text (the common all-text CSV row takes the short path)."""
        if self._plan is None or self._plan[0] is not m:
            self._plan = (m, tuple(m.items()))
        n = len(row)
        c: dict[str, str] = {}
        for name, i in self._plan[1]:
            if i >= n:
                c[name] = ""
                continue
            v = row[i]
            c[name] = v.strip() if type(v) is str else _cell_value(v, name)
        return c

    def parse(self, rownum: int, row: list[object], m: dict[str, int]) -> _Parsed | None:
        before = len(self.errors)
        c = self.cells(row, m)
        get = c.get
        d: dict[str, Any] = {}
        d["register_no"] = self.text(rownum, "register_no", get("register_no", ""), 40, required=True)
        d["head_name"] = self.text(rownum, "head_name", get("head_name", ""), 60, required=True)
        d["head_id"] = self.id_number(rownum, "head_id", get("head_id", ""), required=True)
        phone = get("phone", "")
        d["phone"] = None
        if phone:
            # an ASCII digit string is its own normal form
            p = phone if phone.isascii() and phone.isdigit() else normalize_phone(phone)
            if PHONE_RE.match(p) or PHONE_RE.match(phone.replace(" ", "")):
                d["phone"] = p
            else:
                self.err(rownum, "phone", "row_bad_phone")
        d["address"] = self.text(rownum, "address", get("address", ""), 300)
        village = get("village", "")
        code = village.split()[0] if village else ""
        if not village:
            self.err(rownum, "village", "row_required", field=LABELS["village"])
        elif code.isdigit():
            if code not in self.villages:
                self.err(rownum, "village", "row_unknown_village", code=code[:20])
            d["village_code"] = code
        elif len(self.names.get(village, [])) == 1:
            d["village_code"] = self.names[village][0]
        else:
            self.err(rownum, "village", "row_unknown_village", code=village[:20])
        size_s = get("size", "")
        if not size_s:
            d["size"] = 1
        elif size_s.isascii() and size_s.isdigit():  # the usual plain count: no Decimal needed
            d["size"] = int(size_s)
            if not 1 <= d["size"] <= 50:
                self.err(rownum, "size", "row_bad_number", field=LABELS["size"], value=size_s[:40])
                d["size"] = None
        else:
            size = self.number(rownum, "size", size_s, 1, 50)
            d["size"] = int(size) if size is not None and size == int(size) else None
            if d["size"] is None and size is not None:
                self.err(rownum, "size", "row_bad_number", field=LABELS["size"], value=size_s[:40])
        d["monthly_amount"] = self.number(
            rownum, "monthly_amount", get("monthly_amount", ""), 0, 100000
        ) or Decimal(0)
        self._coords(rownum, c, d)
        tier = get("tier", "")
        d["tier"] = _TIERS.get(tier) or _TIERS.get(tier.lower())
        if d["tier"] is None:
            if tier:
                self.err(rownum, "tier", "row_bad_choice", field=LABELS["tier"], value=tier[:40])
            else:
                self.err(rownum, "tier", "row_required", field=LABELS["tier"])
        st = get("subsidy_type", "")
        d["subsidy_type"] = (
            _SUBSIDY.get(st) or _SUBSIDY.get(st.lower()) or (SubsidyType.regular if not st else None)
        )
        if d["subsidy_type"] is None:
            self.err(rownum, "subsidy_type", "row_bad_choice", field=LABELS["subsidy_type"], value=st[:40])
        status = get("status", "")
        d["status"] = _STATUS.get(status) or _STATUS.get(status.lower())
        if d["status"] is None:
            self.err(rownum, "status", "row_bad_choice", field=LABELS["status"], value=status[:40])
        for fld in ("start_date", "last_review_date"):
            raw = get(fld, "")
            try:
                d[fld] = _parse_date(raw) if raw else None
            except ValueError:
                self.err(rownum, fld, "row_bad_date", field=LABELS[fld], value=raw[:40])
        cr = get("cadre_relative", "")
        d["cadre_relative"] = cr.lower() in _TRUE if cr else False
        bank = get("bank", "")
        d["bank"] = (re.sub(r"\s", "", bank)[:40] or None) if bank else None
        member = None
        if self.has_members and get("member_name"):
            member = {
                "name": self.text(rownum, "member_name", get("member_name", ""), 60),
                "relation": (get("member_relation") or "成员")[:20],
                "id": self.id_number(rownum, "member_id", get("member_id", ""), required=False),
                "disabled": _flag(get("member_disabled", "")),
                "seriously_ill": _flag(get("member_ill", "")),
            }
        if len(self.errors) > before:
            return None
        return _Parsed(rownum, d, member)

    def _coords(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
        lon_s, lat_s = c.get("lon", ""), c.get("lat", "")
        d["lat"] = d["lon"] = d["datum"] = None
        if not lon_s and not lat_s:
            return
        if not lon_s or not lat_s:
            self.err(rownum, "lon", "row_coords_partial")
            return
        lon = self.number(rownum, "lon", lon_s, -1e9, 1e9)
        lat = self.number(rownum, "lat", lat_s, -1e9, 1e9)
        if lon is None or lat is None:
            return
        flon, flat = float(lon), float(lat)
        if 73 <= flat <= 136 and 3 <= flon <= 54:
            self.err(rownum, "lon", "row_coords_swapped")
            return
        if not (73 <= flon <= 136 and 3 <= flat <= 54):
            self.err(rownum, "lon", "row_coords_range")
            return
        raw = c.get("datum", "")
        datum = _DATUMS.get(raw.lower().replace(" ", "")) if raw else Datum.wgs84
        if datum is None:
            self.err(rownum, "datum", "row_unknown_datum", value=raw[:20])
            return
        d["lat"], d["lon"], d["datum"] = flat, flon, datum


def _flag(value: str) -> bool:
    v = value.strip().lower()
    if v in _FALSE:
        return False
    return v in _TRUE or bool(re.match(r"^[一二三四1-4]级", v)) or "病" in v


def _known_villages(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(col(Region.code), col(Region.name)).where(col(Region.level) == RegionLevel.village)
    ).all()
    return {code: name for code, name in rows}


CHUNK_HOUSEHOLDS = 5000  # households written per batch; the file is parsed and written in step
_HEAD_RELATIONS = ("户主", "本人", "申请人")


@dataclass(slots=True)
class _Household:
    """What the import keeps about every register number of the file (the rows themselves go by)."""

    row: int
    head_id: str | None
    size: int | None
    nrows: int = 1
    members: int = 0  # member rows so far: the next one takes this position + 1
    bad: bool = False
    hid: Any = None  # the id in storage format, set once written
    written_size: int = 0
    created: bool = False


@dataclass
class _Pending:
    state: _Household
    data: dict[str, Any]
    members: list[dict[str, Any]]


class _Scan:
    """One streaming pass over the rows: validation, grouping by register number, and (when a writer
    is given) writing in chunks while parsing. Households are kept only as compact state."""

    def __init__(
        self,
        validator: _Validator,
        actor: Actor,
        writer: _Writer | None,
        skip_invalid: bool,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self.validator = validator
        self.actor = actor
        self.writer = writer
        self.skip_invalid = skip_invalid
        self.exclude = exclude
        self.seen: dict[str, _Household] = {}
        self.pending: dict[str, _Pending] = {}
        self.late: list[tuple[_Household, int, dict[str, Any]]] = []
        self.tainted = False  # a household already written turned out invalid (skip_invalid only)

    def writing(self) -> bool:
        if self.writer is None:
            return False
        if not self.skip_invalid and self.validator.errors:
            # nothing of this file will be kept: stop writing, keep validating
            self.writer = None
            self.pending.clear()
            self.late.clear()
            return False
        return True

    def add(self, p: _Parsed) -> None:
        reg: str = p.data["register_no"]
        if reg in self.exclude:
            return
        st = self.seen.get(reg)
        if st is None:
            st = _Household(p.row, p.data["head_id"], p.data["size"])
            self.seen[reg] = st
            if self.actor.role != Role.admin and not self.actor.sees(p.data["village_code"]):
                self.validator.err(p.row, "village", "out_of_scope", entity="村(居)")
                st.bad = True
            members = [p.member] if p.member else []
            st.members = len(members)
            if not st.bad and self.writing():
                self.pending[reg] = _Pending(st, p.data, members)
                if len(self.pending) > CHUNK_HOUSEHOLDS:
                    self.flush(keep_last=True)
            return
        if self.validator.has_members and p.member and st.head_id == p.data["head_id"]:
            st.nrows += 1
            st.members += 1
            pending = self.pending.get(reg)
            if pending is not None:
                pending.members.append(p.member)
            elif st.hid is not None and self.writing():
                self.late.append((st, st.members, p.member))
            return
        self.validator.err(p.row, "register_no", "row_duplicate", register_no=reg, first_row=st.row)
        st.nrows += 1
        if not st.bad:
            st.bad = True
            self.pending.pop(reg, None)
            if st.hid is not None:
                self.tainted = True
        self.writing()

    def flush(self, keep_last: bool = False) -> None:
        """Writes the pending households (but the last one, whose member rows may follow)."""
        if self.writer is None:
            return
        last = self.pending.popitem() if keep_last and self.pending else None
        self.writer.write(self.pending, self.late)
        self.pending = {}
        self.late = []
        if last is not None:
            self.pending[last[0]] = last[1]

    def valid(self) -> list[str]:
        return [reg for reg, st in self.seen.items() if not st.bad]


def import_households(
    session: Session,
    actor: Actor,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validates a register file and, unless dry_run, upserts its households in bulk.

    The file is parsed and written in chunks inside a SAVEPOINT, so memory stays flat; the savepoint
    is rolled back when the file turns out to have invalid rows (and skip_invalid is false).
    """
    actor.require(Role.admin, Role.supervisor)
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    rows = read_table(data, filename)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ValidationFailed("import_empty") from exc
    mapping = map_headers(header)
    villages = _known_villages(session)
    validator = _Validator(villages, has_members="member_name" in mapping)
    report = ImportReport(dry_run=dry_run)
    savepoint = None if dry_run else session.begin_nested()
    writers: list[_Writer] = []
    try:
        if savepoint is not None:
            writers.append(_Writer(session))
        scan = _Scan(validator, actor, writers[0] if writers else None, skip_invalid)
        _run_scan(scan, rows, mapping, report, progress)
        report.errors = sorted(validator.errors, key=lambda e: (e.row, e.column))
        report.error_count = len(report.errors)
        valid = scan.valid()
        report.valid_rows = sum(scan.seen[reg].nrows for reg in valid)
        report.households = len(valid)
        if savepoint is not None and scan.tainted:
            # a duplicate further down spoilt a household already written: write again without it
            savepoint.rollback()
            savepoint = session.begin_nested()
            bad = frozenset(reg for reg, st in scan.seen.items() if st.bad)
            again = _read_again(data, filename)
            writers.append(_Writer(session))
            scan = _Scan(_Validator(villages, validator.has_members), actor, writers[-1], True, bad)
            _run_scan(scan, again, mapping, ImportReport(), None)
        if savepoint is None or (report.errors and not skip_invalid):
            if savepoint is not None:
                savepoint.rollback()
                savepoint = None
            existing = _existing_ids(session, valid)
            report.updated = len(existing)
            report.created = len(valid) - report.updated
            audit.record(
                session,
                actor,
                "household.import_checked",
                "household",
                None,
                file=filename[:100],
                rows=report.rows,
                errors=report.error_count,
                dry_run=dry_run,
            )
            return report
        assert scan.writer is not None
        written = [st for st in scan.seen.values() if st.hid is not None]
        report.created = sum(1 for st in written if st.created)
        report.updated = len(written) - report.created
        report.members = scan.writer.members
        savepoint.commit()
        savepoint = None
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
        for w in writers:
            w.close()
    if progress:
        progress(len(written), len(written))
    report.written = True
    audit.record(
        session,
        actor,
        "household.import",
        "household",
        None,
        file=filename[:100],
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        errors=report.error_count,
    )
    return report


def _read_again(data: bytes, filename: str) -> Iterator[list[object]]:
    rows = read_table(data, filename)
    next(rows)
    return rows


def _run_scan(
    scan: _Scan,
    rows: Iterator[list[object]],
    mapping: dict[str, int],
    report: ImportReport,
    progress: Progress | None,
) -> None:
    parse, add = scan.validator.parse, scan.add
    count = 0
    for rownum, row in enumerate(rows, start=2):
        # any() settles the usual row at C speed; a row of falsy values gets the exact test
        if not any(row) and not any(v not in (None, "") for v in row):
            continue
        count += 1
        if count > MAX_ROWS:
            raise TooLarge(limit=f"{MAX_ROWS} rows")
        p = parse(rownum, row, mapping)
        if p is not None:
            add(p)
        if progress and count % 5000 == 0:
            progress(count, 0)
    report.rows = count
    scan.flush()


def _existing_ids(session: Session, register_nos: list[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(register_nos), 5000):
        part = register_nos[start : start + 5000]
        for reg, hid in session.execute(
            select(col(Household.register_no), col(Household.id)).where(col(Household.register_no).in_(part))
        ).all():
            found[reg] = hid
    return found


HOUSEHOLD_COLUMNS = (
    "id",
    "register_no",
    "head_name",
    "head_id_enc",
    "head_id_hash",
    "phone_enc",
    "phone_hash",
    "bank_enc",
    "size",
    "address",
    "village_code",
    "township_code",
    "county_code",
    "lat",
    "lon",
    "datum",
    "tier",
    "subsidy_type",
    "monthly_amount",
    "start_date",
    "last_review_date",
    "status",
    "cadre_relative",
    "created_at",
    "updated_at",
)
MEMBER_COLUMNS = (
    "id",
    "household_id",
    "name",
    "relation",
    "id_enc",
    "id_hash",
    "disabled",
    "seriously_ill",
    "position",
)
_UPDATE_COLUMNS = tuple(c for c in HOUSEHOLD_COLUMNS if c not in ("id", "register_no", "created_at"))


def _raw_mode(session: Session) -> str:
    """How to write: straight through the driver in each dialect's storage format, or through
    SQLAlchemy Core when the tables hold columns this module does not know (their defaults)."""
    dialect = session.get_bind().dialect.name
    known = {c.name for c in table_of(Household).columns} == set(HOUSEHOLD_COLUMNS) and {
        c.name for c in table_of(HouseholdMember).columns
    } == set(MEMBER_COLUMNS)
    return dialect if known and dialect in ("sqlite", "postgresql") else "core"


def _sqlite_ts(value: datetime) -> str:
    """An aware timestamp as SQLAlchemy's SQLite DateTime stores it (UTC, no offset)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _sqlite_amount(value: Decimal) -> float:
    return float(value)  # SQLAlchemy's Numeric on SQLite binds a float as well


def _same(value: Any) -> Any:
    return value


def _uuid4_hex() -> str:
    """uuid.uuid4().hex without building a UUID object: 122 random bits, version 4, RFC 4122 variant."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


_SQLITE_CACHE_KIB = 64 * 1024


class _Writer:
    """Writes chunks of households and members with executemany/COPY, no bind processing per value.

    Values are prepared in the storage format of each dialect, exactly as SQLAlchemy's types would
    bind them: on SQLite the UUIDs as 32-char hex, timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff', dates
    ISO, money as float; on PostgreSQL the Python objects psycopg adapts.
    """

    mode_override: str | None = None  # tests force "core" to compare the storage formats

    def __init__(self, session: Session) -> None:
        self.session = session
        self.mode = self.mode_override or _raw_mode(session)
        self.cipher = get_cipher()
        now = utcnow()
        self.members = 0
        self._temp_ready = False
        self._cache_size: int | None = None
        if self.mode == "sqlite":
            self.uid: Callable[[uuid.UUID], Any] = attrgetter("hex")
            self.new_id: Callable[[], Any] = _uuid4_hex
            self.day: Callable[[date | None], Any] = _sqlite_date
            self.money: Callable[[Decimal], Any] = _sqlite_amount
            self.now: Any = _sqlite_ts(now)
            # a page cache that holds the indexes being filled (the default 2 MB spills and re-reads
            # pages several times over); restored by close()
            dbapi = self._sqlite_conn = self.dbapi()
            (size,) = dbapi.execute("PRAGMA cache_size").fetchone()
            if (size < 0 and -size < _SQLITE_CACHE_KIB) or 0 <= size < _SQLITE_CACHE_KIB // 4:
                self._cache_size = size
                dbapi.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
        elif self.mode == "postgresql":
            # uuid columns take the 32-digit hex form as input text
            self.uid, self.new_id, self.day, self.money, self.now = _same, _uuid4_hex, _same, _same, now
        else:
            self.uid, self.new_id, self.day, self.money, self.now = _same, uuid.uuid4, _same, _same, now

    def close(self) -> None:
        """Gives the connection its page cache size back."""
        if self._cache_size is not None:
            self._sqlite_conn.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None

    def dbapi(self) -> Any:
        return self.session.connection().connection.dbapi_connection

    def write(self, pending: dict[str, _Pending], late: list[tuple[_Household, int, dict[str, Any]]]) -> None:
        if not pending and not late:
            return
        cipher, uid, day, money, now = self.cipher, self.uid, self.day, self.money, self.now
        encrypt, lookup_hash = cipher.encrypt, cipher.lookup_hash
        existing = _existing_ids(self.session, list(pending)) if pending else {}
        h_rows: list[tuple[Any, ...]] = []
        m_rows: list[Any] = []  # the head's row stays a list until its flags are final
        for reg, item in pending.items():
            d, st = item.data, item.state
            old = existing.get(reg)
            h = self.new_id() if old is None else uid(old)
            st.hid, st.created = h, old is None
            code = d["village_code"]
            head_id = d["head_id"]
            head_enc, head_hash = encrypt(head_id), lookup_hash(head_id)
            phone = d["phone"]
            st.written_size = max(d["size"] or 1, 1 + len(item.members))
            datum = d["datum"]
            h_rows.append(
                (
                    h,
                    reg,
                    d["head_name"],
                    head_enc,
                    head_hash,
                    encrypt(phone),
                    lookup_hash(phone),
                    encrypt(d["bank"]),
                    st.written_size,
                    d["address"],
                    code,
                    code[:9],
                    code[:6],
                    d["lat"],
                    d["lon"],
                    None if datum is None else datum.value,
                    d["tier"].value,
                    d["subsidy_type"].value,
                    money(d["monthly_amount"]),
                    day(d["start_date"]),
                    day(d["last_review_date"]),
                    d["status"].value,
                    d["cadre_relative"],
                    now,
                    now,
                )
            )
            # the head's member row shares the household's ciphertext and hash of the same ID number
            head = [self.new_id(), h, d["head_name"], "户主", head_enc, head_hash, False, False, 0]
            m_rows.append(head)
            for pos, m in enumerate(item.members, start=1):
                if m["id"] == head_id or (m["id"] is None and m["relation"] in _HEAD_RELATIONS):
                    head[6], head[7] = m["disabled"], m["seriously_ill"]
                    continue
                m_rows.append(self._member(h, pos, m))
        m_rows = [tuple(r) for r in m_rows]
        head_flags: list[tuple[Any, ...]] = []
        sizes: list[tuple[Any, ...]] = []
        for st, pos, m in late:  # member rows of households written in an earlier chunk
            h = st.hid
            if m["id"] == st.head_id or (m["id"] is None and m["relation"] in _HEAD_RELATIONS):
                head_flags.append((m["disabled"], m["seriously_ill"], h))
            else:
                m_rows.append(self._member(h, pos, m))
        for st in {id(st): st for st, _, _ in late}.values():
            size = max(st.size or 1, 1 + st.members)
            if size != st.written_size and st.hid is not None:
                st.written_size = size
                sizes.append((size, st.hid))
        new = [r for r in h_rows if pending[r[1]].state.created]
        old_rows = [r for r in h_rows if not pending[r[1]].state.created]
        replaced = [r[0] for r in old_rows]
        if self.mode == "sqlite":
            self._sqlite(new, old_rows, replaced, m_rows, head_flags, sizes)
        elif self.mode == "postgresql":
            self._postgres(h_rows, replaced, m_rows, head_flags, sizes)
        else:
            self._core(h_rows, replaced, m_rows, head_flags, sizes)
        self.members += len(m_rows)

    def _member(self, h: Any, pos: int, m: dict[str, Any]) -> tuple[Any, ...]:
        cipher = self.cipher
        return (
            self.new_id(),
            h,
            m["name"] or "",
            m["relation"],
            cipher.encrypt(m["id"]),
            cipher.lookup_hash(m["id"]),
            m["disabled"],
            m["seriously_ill"],
            pos,
        )

    def _sqlite(
        self,
        new: list[tuple[Any, ...]],
        old: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        cur = self.dbapi().cursor()
        try:
            # new register numbers were looked up in this transaction: a plain INSERT is the upsert
            # (and several times cheaper in SQLite than INSERT .. ON CONFLICT DO UPDATE)
            _insert_values(cur, "household", HOUSEHOLD_COLUMNS, new)
            if old:
                sets = ", ".join(f"{c} = ?" for c in _UPDATE_COLUMNS)
                skip = (0, 1, HOUSEHOLD_COLUMNS.index("created_at"))
                cur.executemany(
                    f"UPDATE household SET {sets} WHERE id = ?",  # noqa: S608 (fixed column names)
                    [(*(v for i, v in enumerate(r) if i not in skip), r[0]) for r in old],
                )
            for start in range(0, len(replaced), 500):
                part = replaced[start : start + 500]
                cur.execute(
                    f"DELETE FROM household_member WHERE household_id IN ({', '.join('?' * len(part))})",  # noqa: S608
                    part,
                )
            _insert_values(cur, "household_member", MEMBER_COLUMNS, m_rows)
            if head_flags:
                cur.executemany(
                    "UPDATE household_member SET disabled = ?, seriously_ill = ? "
                    "WHERE household_id = ? AND position = 0",
                    head_flags,
                )
            if sizes:
                cur.executemany("UPDATE household SET size = ? WHERE id = ?", sizes)
        finally:
            cur.close()

    def _postgres(
        self,
        h_rows: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        cur = self.dbapi().cursor()
        cols = ", ".join(HOUSEHOLD_COLUMNS)
        try:
            if h_rows:
                if not self._temp_ready:
                    cur.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS feijian_import_household "
                        "(LIKE household INCLUDING DEFAULTS) ON COMMIT DROP"
                    )
                    self._temp_ready = True
                cur.execute("TRUNCATE feijian_import_household")
                with cur.copy(f"COPY feijian_import_household ({cols}) FROM STDIN") as copy:
                    for r in h_rows:
                        copy.write_row(r)
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATE_COLUMNS)
                cur.execute(
                    f"INSERT INTO household ({cols}) SELECT {cols} FROM feijian_import_household "  # noqa: S608
                    f"ON CONFLICT (register_no) DO UPDATE SET {sets}"
                )
            if replaced:
                cur.execute("DELETE FROM household_member WHERE household_id = ANY(%s)", (replaced,))
            if m_rows:
                with cur.copy(f"COPY household_member ({', '.join(MEMBER_COLUMNS)}) FROM STDIN") as copy:
                    for r in m_rows:
                        copy.write_row(r)
            if head_flags:
                cur.executemany(
                    "UPDATE household_member SET disabled = %s, seriously_ill = %s "
                    "WHERE household_id = %s AND position = 0",
                    head_flags,
                )
            if sizes:
                cur.executemany("UPDATE household SET size = %s WHERE id = %s", sizes)
        finally:
            cur.close()

    def _core(
        self,
        h_rows: list[tuple[Any, ...]],
        replaced: list[Any],
        m_rows: list[tuple[Any, ...]],
        head_flags: list[tuple[Any, ...]],
        sizes: list[tuple[Any, ...]],
    ) -> None:
        """SQLAlchemy Core with bind processing: the reference for the storage formats above."""
        households, members = table_of(Household), table_of(HouseholdMember)
        upsert(
            self.session,
            households,
            [dict(zip(HOUSEHOLD_COLUMNS, r, strict=True)) for r in h_rows],
            ["register_no"],
            list(_UPDATE_COLUMNS),
        )
        for start in range(0, len(replaced), 5000):
            self.session.execute(
                delete(members).where(members.c.household_id.in_(replaced[start : start + 5000]))
            )
        if m_rows:
            self.session.execute(insert(members), [dict(zip(MEMBER_COLUMNS, r, strict=True)) for r in m_rows])
        for disabled, ill, hid in head_flags:
            self.session.execute(
                update(members)
                .where(members.c.household_id == hid, members.c.position == 0)
                .values(disabled=disabled, seriously_ill=ill)
            )
        for size, hid in sizes:
            self.session.execute(update(households).where(households.c.id == hid).values(size=size))


_VALUES_CACHE: dict[tuple[str, int], str] = {}


def _insert_values(cur: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Multi-row INSERT .. VALUES: SQLite runs hundreds of rows per statement step."""
    if not rows:
        return
    per = max(1, 30000 // len(columns) // 2)  # well inside SQLite's 32,766 bound parameters
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        sql = _VALUES_CACHE.get((table, len(part)))
        if sql is None:
            one = "(" + ", ".join("?" * len(columns)) + ")"
            head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 (fixed names)
            sql = head + ", ".join([one] * len(part))
            _VALUES_CACHE[(table, len(part))] = sql
        cur.execute(sql, list(chain.from_iterable(part)))


def run_import_job(
    factory: jobs.SessionFactory,
    job_id: uuid.UUID,
    actor: Actor,
    data: bytes,
    filename: str,
    dry_run: bool,
    skip_invalid: bool,
) -> None:
    """Runs an import as a background job; invalid files end the job as failed with the report."""

    def work(session: Session) -> dict[str, Any]:
        report = import_households(
            session,
            actor,
            data,
            filename,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            progress=lambda done, total: jobs.progress(job_id, done, total),
        )
        if report.errors and not skip_invalid and not dry_run:
            raise ValidationFailed("import_invalid_rows", count=report.error_count, report=report.as_dict())
        return report.as_dict()

    jobs.run(factory, job_id, work)


def import_file(session: Session, actor: Actor, path: Path, **kw: Any) -> ImportReport:
    """Imports a register file from disk."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    return import_households(session, actor, path.read_bytes(), path.name, **kw)
