"""Reading a household register file: CSV (UTF-8, BOM, GB18030) or XLSX, and the headers people use."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator

from services.errors import ValidationFailed

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

_BRACKETS = re.compile(r"[（(][^)）]*[)）]$")


def _norm_header(h: object) -> str:
    """A header as compared with the spellings: no spaces, no bracketed units, lower case."""
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
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with its mark
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValidationFailed("import_encoding") from None
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("import_encoding")


# An XLSX is a zip: a small upload can unpack to gigabytes (a "zip bomb") that the reader would then
# parse for minutes. Real workbooks unpack to 5–20 times their size; deflate cannot exceed ~1032.
MAX_XLSX_UNPACKED = 1 << 30  # 1 GiB in all: a register of a few million rows
MAX_XLSX_RATIO = 500  # for a part larger than SUSPECT_PART
SUSPECT_PART = 16 << 20


def _check_unpacked(data: bytes) -> None:
    """Refuses an XLSX whose parts unpack to more than the limits (their sizes as the zip declares
    them: Python's zip reader never returns more than a part's declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationFailed("import_format", detail=f"XLSX: {type(exc).__name__}") from exc
    total = sum(p.file_size for p in parts)
    inflated = any(
        p.file_size > SUSPECT_PART and p.file_size > MAX_XLSX_RATIO * max(1, p.compress_size) for p in parts
    )
    if total > MAX_XLSX_UNPACKED or inflated:
        raise ValidationFailed(
            "import_unpacked_too_large", size=f"{total >> 20} MB", limit=f"{MAX_XLSX_UNPACKED >> 20} MB"
        )


def _read_xlsx(data: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    _check_unpacked(data)
    try:
        # data_only=False: a formula such as =HYPERLINK(...) is read as its text, never evaluated
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed("import_format", detail=f"XLSX: {type(exc).__name__}") from exc
    try:
        ws = wb.worksheets[0]
        # the sheet's <dimension> may be stale (some exporters write A1:C2 for any size): read every row
        ws.reset_dimensions()
        try:
            for row in ws.iter_rows(values_only=True):
                yield list(row)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:  # a damaged part
            raise ValidationFailed("import_format", detail=f"XLSX: {type(exc).__name__}") from exc
    finally:
        wb.close()


def read_again(data: bytes, filename: str) -> Iterator[list[object]]:
    """The file's rows once more, without the header (a second pass)."""
    rows = read_table(data, filename)
    next(rows)
    return rows
