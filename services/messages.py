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
    "unsupported_media_type": {
        "zh-CN": "不支持的请求内容类型 {media_type}，请发送 application/json。",
        "en": "Unsupported content type {media_type}; send application/json.",
    },
    "login_taken": {"zh-CN": "用户名 {login} 已存在。", "en": "Login {login} is taken."},
    "unknown_region": {"zh-CN": "区划代码 {code} 不存在。", "en": "Unknown region code {code}."},
    "bad_cursor": {"zh-CN": "分页游标无效。", "en": "Invalid page cursor."},
    "internal": {"zh-CN": "服务器内部错误，已记录。", "en": "Internal error; it has been logged."},
    "idempotency_mismatch": {
        "zh-CN": "同一幂等键已用于不同的请求内容。",
        "en": "This idempotency key was already used with a different request.",
    },
    # telegram (invites, binding, idempotency)
    "invite_invalid": {
        "zh-CN": "邀请码无效或已失效，请向督导员索取新的邀请码。",
        "en": "This invite code is not valid; ask your supervisor for a new one.",
    },
    "bind_throttled": {
        "zh-CN": "尝试次数过多，请 15 分钟后再试。",
        "en": "Too many attempts; try again in 15 minutes.",
    },
    "telegram_already_bound": {
        "zh-CN": "此 Telegram 账号已绑定其他飞检账号。",
        "en": "This Telegram account is already linked to another Feijian account.",
    },
    "telegram_not_bound": {
        "zh-CN": "此 Telegram 账号尚未绑定飞检账号。",
        "en": "This Telegram account is not linked to a Feijian account.",
    },
    "idempotency_in_progress": {
        "zh-CN": "同一请求正在处理中，请稍后重试。",
        "en": "The same request is being processed; retry shortly.",
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
    # rounds, draws, assignments
    "round_bad_status": {
        "zh-CN": "轮次当前状态为“{status}”，不能{action}。",
        "en": "The round is {status}; cannot {action}.",
    },
    "round_empty_frame": {
        "zh-CN": "范围内没有可抽取的低保户。",
        "en": "No households in scope to draw from.",
    },
    "coverage_short": {
        "zh-CN": "乡镇覆盖率不足：覆盖 {covered}/{total} 个乡镇（{share}），要求至少 {required}。",
        "en": "Township coverage too low: {covered}/{total} townships ({share}); {required} required.",
    },
    "witness_required": {
        "zh-CN": "请输入见证人提供的随机数（如现场掷骰结果）。",
        "en": "Enter the witnesses' input (e.g. the dice rolled in the room).",
    },
    "too_few_inspectors": {
        "zh-CN": "检查员不足：每个检查组至少需要 {needed} 人。",
        "en": "Not enough inspectors: a team needs at least {needed}.",
    },
    "team_too_small": {
        "zh-CN": "每个检查组至少 {size} 人。",
        "en": "A team needs at least {size} inspectors.",
    },
    "unknown_inspector": {
        "zh-CN": "检查员不存在或未启用：{id}",
        "en": "Unknown or inactive inspector: {id}",
    },
    "swap_violates": {
        "zh-CN": "调整违反硬性规则：{rules}。",
        "en": "The change breaks a hard rule: {rules}.",
    },
    "swap_not_pending": {
        "zh-CN": "已下发的任务不能再调整。",
        "en": "Released assignments can no longer be moved.",
    },
    "dispatch_future_day": {
        "zh-CN": "不能提前下发 {day} 的任务（任务在走访当天才解封）。",
        "en": "Cannot release the visits of {day} in advance (they stay sealed until that day).",
    },
    "assignment_bad_transition": {
        "zh-CN": "任务状态不能从“{old}”改为“{new}”。",
        "en": "An assignment cannot go from {old} to {new}.",
    },
    "draw_verified": {
        "zh-CN": "抽样可复现，验证通过：{detail}",
        "en": "Draw reproduced and verified: {detail}",
    },
    "draw_verify_failed": {
        "zh-CN": "验证未通过：{detail}",
        "en": "Verification failed: {detail}",
    },
    "not_revealed": {
        "zh-CN": "种子尚未公开：轮次关闭并公开种子后即可验证。",
        "en": "The seed is not revealed yet; verification opens once the round is closed and revealed.",
    },
    "media_rejected": {
        "zh-CN": "照片无法作为证据：{detail}",
        "en": "The photo cannot be used as evidence: {detail}",
    },
    # visits
    "visit_already_done": {"zh-CN": "该任务已完成走访。", "en": "This assignment has already been visited."},
    "visit_not_in_progress": {
        "zh-CN": "该走访已结束，不能再修改。",
        "en": "This visit is over and cannot be changed.",
    },
    "visit_incomplete": {
        "zh-CN": "核查清单尚未完成，不能提交。",
        "en": "The checklist is not finished; it cannot be submitted yet.",
    },
}


def translate(code: str, lang: str = "zh-CN", /, **params: Any) -> str:
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
