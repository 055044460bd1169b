"""Household register import: CSV (UTF-8, BOM, GB18030) or XLSX with the headers people use.

Every row is validated first (row number and reason); a file with invalid rows writes nothing unless
skip_invalid. Writing is a bulk upsert by register number in chunks (no round trip per row).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
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


def _cell(row: list[object], mapping: dict[str, int], name: str) -> str:
    i = mapping.get(name)
    if i is None or i >= len(row):
        return ""
    v = row[i]
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
        if n is None or not n.is_finite() or n < Decimal(str(lo)) or n > Decimal(str(hi)):
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

    def parse(self, rownum: int, row: list[object], m: dict[str, int]) -> _Parsed | None:
        before = len(self.errors)
        c = {name: _cell(row, m, name) for name in m}
        d: dict[str, Any] = {}
        d["register_no"] = self.text(rownum, "register_no", c.get("register_no", ""), 40, required=True)
        d["head_name"] = self.text(rownum, "head_name", c.get("head_name", ""), 60, required=True)
        d["head_id"] = self.id_number(rownum, "head_id", c.get("head_id", ""), required=True)
        phone = c.get("phone", "")
        d["phone"] = None
        if phone:
            p = normalize_phone(phone)
            if PHONE_RE.match(p) or PHONE_RE.match(phone.replace(" ", "")):
                d["phone"] = p
            else:
                self.err(rownum, "phone", "row_bad_phone")
        d["address"] = self.text(rownum, "address", c.get("address", ""), 300)
        village = c.get("village", "")
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
        size = self.number(rownum, "size", c.get("size", ""), 1, 50)
        d["size"] = (
            int(size) if size is not None and size == int(size) else (1 if not c.get("size") else None)
        )
        if d["size"] is None and size is not None:
            self.err(rownum, "size", "row_bad_number", field=LABELS["size"], value=c.get("size", "")[:40])
        d["monthly_amount"] = self.number(
            rownum, "monthly_amount", c.get("monthly_amount", ""), 0, 100000
        ) or Decimal(0)
        self._coords(rownum, c, d)
        tier = c.get("tier", "")
        d["tier"] = _TIERS.get(tier) or _TIERS.get(tier.lower())
        if d["tier"] is None:
            if tier:
                self.err(rownum, "tier", "row_bad_choice", field=LABELS["tier"], value=tier[:40])
            else:
                self.err(rownum, "tier", "row_required", field=LABELS["tier"])
        st = c.get("subsidy_type", "")
        d["subsidy_type"] = (
            _SUBSIDY.get(st) or _SUBSIDY.get(st.lower()) or (SubsidyType.regular if not st else None)
        )
        if d["subsidy_type"] is None:
            self.err(rownum, "subsidy_type", "row_bad_choice", field=LABELS["subsidy_type"], value=st[:40])
        status = c.get("status", "")
        d["status"] = _STATUS.get(status) or _STATUS.get(status.lower())
        if d["status"] is None:
            self.err(rownum, "status", "row_bad_choice", field=LABELS["status"], value=status[:40])
        for fld in ("start_date", "last_review_date"):
            raw = c.get(fld, "")
            try:
                d[fld] = _parse_date(raw) if raw else None
            except ValueError:
                self.err(rownum, fld, "row_bad_date", field=LABELS[fld], value=raw[:40])
        cr = c.get("cadre_relative", "").lower()
        d["cadre_relative"] = cr in _TRUE
        d["bank"] = re.sub(r"\s", "", c.get("bank", ""))[:40] or None
        member = None
        if self.has_members and c.get("member_name"):
            member = {
                "name": self.text(rownum, "member_name", c.get("member_name", ""), 60),
                "relation": (c.get("member_relation") or "成员")[:20],
                "id": self.id_number(rownum, "member_id", c.get("member_id", ""), required=False),
                "disabled": _flag(c.get("member_disabled", "")),
                "seriously_ill": _flag(c.get("member_ill", "")),
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
    """Validates a register file and, unless dry_run, upserts its households in bulk."""
    actor.require(Role.admin, Role.supervisor)
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(limit=f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    rows = read_table(data, filename)
    try:
        header = next(rows)
    except StopIteration as exc:
        raise ValidationFailed("import_empty") from exc
    mapping = map_headers(header)
    validator = _Validator(_known_villages(session), has_members="member_name" in mapping)
    report = ImportReport(dry_run=dry_run)
    parsed: list[_Parsed] = []
    for rownum, row in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in row):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise TooLarge(limit=f"{MAX_ROWS} rows")
        p = validator.parse(rownum, row, mapping)
        if p is not None:
            parsed.append(p)
        if progress and report.rows % 5000 == 0:
            progress(report.rows, 0)
    households = _group(parsed, validator)
    if actor.role != Role.admin:
        for hh in households.values():
            if not actor.sees(hh["data"]["village_code"]):
                validator.err(hh["row"], "village", "out_of_scope", entity="村(居)")
    report.errors = sorted(validator.errors, key=lambda e: (e.row, e.column))
    report.error_count = len(report.errors)
    bad_rows = {e.row for e in report.errors}
    valid = {k: v for k, v in households.items() if not (set(v["rows"]) & bad_rows)}
    report.valid_rows = sum(len(v["rows"]) for v in valid.values())
    report.households = len(valid)
    if dry_run or (report.errors and not skip_invalid):
        existing = _existing_ids(session, list(valid))
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
    _write(session, valid, report, progress)
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


def _group(parsed: list[_Parsed], validator: _Validator) -> dict[str, dict[str, Any]]:
    """Groups rows by register number: member rows join their household; other repeats are errors."""
    out: dict[str, dict[str, Any]] = {}
    for p in parsed:
        reg = p.data["register_no"]
        if reg not in out:
            out[reg] = {
                "row": p.row,
                "rows": [p.row],
                "data": p.data,
                "members": [p.member] if p.member else [],
            }
            continue
        first = out[reg]
        if validator.has_members and p.member and first["data"]["head_id"] == p.data["head_id"]:
            first["rows"].append(p.row)
            first["members"].append(p.member)
        else:
            validator.err(p.row, "register_no", "row_duplicate", register_no=reg, first_row=first["row"])
            first["rows"].append(p.row)
    return out


def _existing_ids(session: Session, register_nos: list[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(register_nos), 5000):
        part = register_nos[start : start + 5000]
        for reg, hid in session.execute(
            select(col(Household.register_no), col(Household.id)).where(col(Household.register_no).in_(part))
        ).all():
            found[reg] = hid
    return found


def _write(
    session: Session, valid: dict[str, dict[str, Any]], report: ImportReport, progress: Progress | None
) -> None:
    cipher = get_cipher()
    existing = _existing_ids(session, list(valid))
    now = utcnow()
    h_rows: list[dict[str, Any]] = []
    m_rows: list[dict[str, Any]] = []
    for reg, hh in valid.items():
        d = hh["data"]
        hid = existing.get(reg) or uuid.uuid4()
        code = d["village_code"]
        h_rows.append(
            {
                "id": hid,
                "register_no": reg,
                "head_name": d["head_name"],
                "head_id_enc": cipher.encrypt(d["head_id"]),
                "head_id_hash": cipher.lookup_hash(d["head_id"]),
                "phone_enc": cipher.encrypt(d["phone"]),
                "phone_hash": cipher.lookup_hash(d["phone"]),
                "bank_enc": cipher.encrypt(d["bank"]),
                "size": max(d["size"] or 1, 1 + len(hh["members"])),
                "address": d["address"],
                "village_code": code,
                "township_code": code[:9],
                "county_code": code[:6],
                "lat": d["lat"],
                "lon": d["lon"],
                "datum": d["datum"],
                "tier": d["tier"],
                "subsidy_type": d["subsidy_type"],
                "monthly_amount": d["monthly_amount"],
                "start_date": d["start_date"],
                "last_review_date": d["last_review_date"],
                "status": d["status"],
                "cadre_relative": d["cadre_relative"],
                "created_at": now,
                "updated_at": now,
            }
        )
        head: dict[str, Any] = {
            "id": uuid.uuid4(),
            "household_id": hid,
            "name": d["head_name"],
            "relation": "户主",
            "id_enc": cipher.encrypt(d["head_id"]),
            "id_hash": cipher.lookup_hash(d["head_id"]),
            "disabled": False,
            "seriously_ill": False,
            "position": 0,
        }
        m_rows.append(head)
        for pos, m in enumerate(hh["members"], start=1):
            if m["id"] == d["head_id"] or (m["id"] is None and m["relation"] in ("户主", "本人", "申请人")):
                head["disabled"], head["seriously_ill"] = m["disabled"], m["seriously_ill"]
                continue
            m_rows.append(
                {
                    "id": uuid.uuid4(),
                    "household_id": hid,
                    "name": m["name"] or "",
                    "relation": m["relation"],
                    "id_enc": cipher.encrypt(m["id"]),
                    "id_hash": cipher.lookup_hash(m["id"]),
                    "disabled": m["disabled"],
                    "seriously_ill": m["seriously_ill"],
                    "position": pos,
                }
            )
    report.updated = len(existing)
    report.created = len(h_rows) - report.updated
    report.members = len(m_rows)
    update_cols = [k for k in h_rows[0] if k not in ("id", "register_no", "created_at")] if h_rows else []
    step = 5000
    for start in range(0, len(h_rows), step):
        upsert(session, table_of(Household), h_rows[start : start + step], ["register_no"], update_cols)
        if progress:
            progress(min(start + step, len(h_rows)), len(h_rows))
    ids = list(existing.values())
    members = table_of(HouseholdMember)
    for start in range(0, len(ids), 5000):
        session.execute(delete(members).where(members.c.household_id.in_(ids[start : start + 5000])))
    for start in range(0, len(m_rows), 5000):
        session.execute(insert(members), m_rows[start : start + 5000])
    session.flush()


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
