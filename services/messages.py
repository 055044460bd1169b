"""The store's message catalog: every user-facing text by stable code, zh-CN first, English second."""

from __future__ import annotations

from typing import Any

LANGS = ("zh-CN", "en")

CATALOG: dict[str, dict[str, str]] = {
    "bad_request": {"zh-CN": "请求无效。", "en": "The request is not valid."},
    "validation_failed": {"zh-CN": "输入有误：{detail}", "en": "Invalid input: {detail}"},
    "not_found": {"zh-CN": "未找到{entity}。", "en": "{entity} not found."},
    "forbidden": {"zh-CN": "您无权执行此操作。", "en": "You are not allowed to do this."},
    "out_of_scope": {
        "zh-CN": "该{entity}不在您的辖区范围内。",
        "en": "This {entity} is outside your region.",
    },
    "unauthorized": {"zh-CN": "请先登录。", "en": "Please sign in."},
    "bad_credentials": {"zh-CN": "用户名或密码错误。", "en": "Wrong login or password."},
    "token_invalid": {
        "zh-CN": "登录凭证无效或已过期，请重新登录。",
        "en": "Token invalid or expired; sign in again.",
    },
    "conflict": {"zh-CN": "与现有数据冲突：{detail}", "en": "Conflicts with existing data: {detail}"},
    "too_large": {"zh-CN": "文件过大（上限 {limit}）。", "en": "File too large (limit {limit})."},
    "login_taken": {"zh-CN": "用户名 {login} 已存在。", "en": "Login {login} is taken."},
    "unknown_region": {"zh-CN": "区划代码 {code} 不存在。", "en": "Unknown region code {code}."},
    "bad_cursor": {"zh-CN": "分页游标无效。", "en": "Invalid page cursor."},
    "internal": {"zh-CN": "服务器内部错误，已记录。", "en": "Internal error; it has been logged."},
    "idempotency_mismatch": {
        "zh-CN": "同一幂等键已用于不同的请求内容。",
        "en": "This idempotency key was already used with a different request.",
    },
    # import
    "import_empty": {"zh-CN": "文件为空。", "en": "The file is empty."},
    "import_encoding": {
        "zh-CN": "无法识别文件编码（支持 UTF-8、带 BOM 的 UTF-8、GB18030）。",
        "en": "Cannot decode the file (UTF-8, UTF-8 with BOM or GB18030 expected).",
    },
    "import_format": {"zh-CN": "无法读取文件：{detail}", "en": "Cannot read the file: {detail}"},
    "import_missing_columns": {
        "zh-CN": "缺少必需的列：{columns}",
        "en": "Missing required columns: {columns}",
    },
    "import_invalid_rows": {
        "zh-CN": "{count} 行有错误，未写入任何数据（可使用 --skip-invalid 只导入有效行）。",
        "en": "{count} rows are invalid; nothing was written (use --skip-invalid to import the valid rows).",
    },
    "row_required": {"zh-CN": "“{field}”不能为空", "en": "{field} is required"},
    "row_id_format": {"zh-CN": "身份证号格式错误", "en": "ID number has the wrong format"},
    "row_id_checksum": {"zh-CN": "身份证号校验位错误", "en": "ID number fails its checksum"},
    "row_id_birthdate": {
        "zh-CN": "身份证号中的出生日期无效",
        "en": "Birth date in the ID number is not valid",
    },
    "row_unknown_village": {"zh-CN": "村（居）代码 {code} 不存在", "en": "Unknown village code {code}"},
    "row_not_village": {"zh-CN": "代码 {code} 不是村（居）级", "en": "Code {code} is not a village"},
    "row_coords_range": {"zh-CN": "经纬度超出范围", "en": "Coordinates out of range"},
    "row_coords_swapped": {"zh-CN": "经度和纬度可能填反了", "en": "Longitude and latitude look swapped"},
    "row_coords_partial": {"zh-CN": "经度和纬度须同时填写", "en": "Give both longitude and latitude"},
    "row_unknown_datum": {
        "zh-CN": "坐标系“{value}”无法识别（可用 WGS84、GCJ02、BD09）",
        "en": "Unknown datum {value} (use WGS84, GCJ02 or BD09)",
    },
    "row_bad_number": {
        "zh-CN": "“{field}”不是有效数字：{value}",
        "en": "{field} is not a valid number: {value}",
    },
    "row_bad_date": {"zh-CN": "“{field}”不是有效日期：{value}", "en": "{field} is not a valid date: {value}"},
    "row_bad_choice": {
        "zh-CN": "“{field}”的值“{value}”无法识别",
        "en": "{field} has an unknown value {value}",
    },
    "row_bad_phone": {"zh-CN": "电话号码格式错误", "en": "Phone number has the wrong format"},
    "row_too_long": {"zh-CN": "“{field}”过长（最多 {max} 字）", "en": "{field} is too long (max {max})"},
    "row_duplicate": {
        "zh-CN": "低保证号 {register_no} 与第 {first_row} 行重复",
        "en": "Register number {register_no} repeats row {first_row}",
    },
    # audit
    "audit_ok": {"zh-CN": "审计链完整：共 {count} 条记录。", "en": "Audit chain intact: {count} events."},
    "audit_broken": {
        "zh-CN": "审计链在第 {seq} 条记录处被篡改：{reason}",
        "en": "Audit chain broken at event {seq}: {reason}",
    },
}


def translate(code: str, lang: str = "zh-CN", **params: Any) -> str:
    """Looks up a message by code in the language (falls back to zh-CN, then the code itself)."""
    entry = CATALOG.get(code)
    if entry is None:
        return code
    text = entry.get(lang) or entry["zh-CN"]
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def pick_language(accept: str | None, default: str = "zh-CN") -> str:
    """Chooses zh-CN or en from an Accept-Language header value."""
    if not accept:
        return default
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return default
