"""Checking a household register's rows: each row becomes a checked record or row-numbered errors."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from models.household import Datum, HouseholdStatus, SubsidyType, Tier
from models.region import Region, RegionLevel
from services.household_reader import LABELS
from services.messages import translate
from services.pii import PHONE_RE, id_number_problem, normalize_id, normalize_phone

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
class Parsed:
    """A valid row: the household's fields and, on a member row, the member."""

    row: int
    data: dict[str, Any]
    member: dict[str, Any] | None


class Validator:
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
        """Records a problem of one row."""
        self.errors.append(RowError(row, fld, msg_code, params))

    def text(self, row: int, fld: str, value: str, max_len: int, required: bool = False) -> str | None:
        """A text cell within its length (None and an error when too long or required but empty)."""
        if not value:
            if required:
                self.err(row, fld, "row_required", field=LABELS.get(fld, fld))
            return None
        if len(value) > max_len:
            self.err(row, fld, "row_too_long", field=LABELS.get(fld, fld), max=max_len)
            return None
        return value

    def number(self, row: int, fld: str, value: str, lo: float, hi: float) -> Decimal | None:
        """A number cell within [lo, hi] (None and an error otherwise; None when empty)."""
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
        """A checked, normalised resident ID number."""
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

    def parse(self, rownum: int, row: list[object], m: dict[str, int]) -> Parsed | None:
        """The row's checked fields, or None when the row has errors (recorded with the row number)."""
        before = len(self.errors)
        c = self.cells(row, m)
        d: dict[str, Any] = {}
        self._identity(rownum, c, d)
        self._village(rownum, c, d)
        self._size(rownum, c, d)
        d["monthly_amount"] = self.number(
            rownum, "monthly_amount", c.get("monthly_amount", ""), 0, 100000
        ) or Decimal(0)
        self._coords(rownum, c, d)
        self._categories(rownum, c, d)
        self._dates(rownum, c, d)
        cr = c.get("cadre_relative", "")
        d["cadre_relative"] = cr.lower() in _TRUE if cr else False
        bank = c.get("bank", "")
        d["bank"] = (re.sub(r"\s", "", bank)[:40] or None) if bank else None
        member = self._member(rownum, c) if self.has_members and c.get("member_name") else None
        if len(self.errors) > before:
            return None
        return Parsed(rownum, d, member)

    def _identity(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
        get = c.get
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

    def _village(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
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

    def _size(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
        size_s = c.get("size", "")
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

    def _categories(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
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

    def _dates(self, rownum: int, c: dict[str, str], d: dict[str, Any]) -> None:
        for fld in ("start_date", "last_review_date"):
            raw = c.get(fld, "")
            try:
                d[fld] = _parse_date(raw) if raw else None
            except ValueError:
                self.err(rownum, fld, "row_bad_date", field=LABELS[fld], value=raw[:40])

    def _member(self, rownum: int, c: dict[str, str]) -> dict[str, Any]:
        get = c.get
        return {
            "name": self.text(rownum, "member_name", get("member_name", ""), 60),
            "relation": (get("member_relation") or "成员")[:20],
            "id": self.id_number(rownum, "member_id", get("member_id", ""), required=False),
            "disabled": _flag(get("member_disabled", "")),
            "seriously_ill": _flag(get("member_ill", "")),
        }

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


def known_villages(session: Session) -> dict[str, str]:
    """Village codes and names (what a row's village must name)."""
    rows = session.execute(
        select(col(Region.code), col(Region.name)).where(col(Region.level) == RegionLevel.village)
    ).all()
    return {code: name for code, name in rows}
