"""12345 hotline work orders (and 信访 registers) imported from their CSV/XLSX exports.

Columns are found by header name (with the spellings the exports use); columns we do not know are
ignored and reported. Each row becomes one case, keyed by the work-order number: importing the same
file again changes nothing. Rows with problems are reported by row number (the header is row 1) and
skipped; the rest are imported. The household is matched by ID number, register number, or name +
village (see services.case_match); a weak match waits for a manual confirm.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from contracts.cases import CaseImportResult, CaseImportRow
from contracts.household_import import JobKind as JobKind
from contracts.residents import CaseCategory, CaseSource, CaseState
from models.application import Case
from models.types import utcnow
from models.user import Role
from services import audit, case_duplicates, case_match, jobs, workdays
from services.cases import MAX_TEXT, PREFIX, apply_match, log, time_limit_days
from services.cipher import get_cipher
from services.config import Settings
from services.context import Actor
from services.errors import ValidationFailed
from services.household_reader import read_table
from services.messages import translate
from services.pii import PHONE_RE, normalize_phone
from services.residents_codes import code_digest, new_code, new_number

MAX_IMPORT_BYTES = 32 * 1024 * 1024
Progress = Callable[[int, int], None]

ALIASES: dict[str, tuple[str, ...]] = {
    "external_number": ("工单编号", "工单号", "受理编号", "编号", "信访件号", "件号", "order_no", "ticket"),
    "received_at": (
        "来电时间",
        "受理时间",
        "登记时间",
        "诉求时间",
        "来信时间",
        "日期",
        "received_at",
        "time",
    ),
    "text": ("诉求内容", "来电内容", "反映内容", "工单内容", "内容", "问题描述", "text", "content"),
    "reporter": ("诉求人", "来电人", "反映人", "姓名", "来信人", "reporter", "name"),
    "contact": ("联系电话", "来电号码", "电话", "联系方式", "手机号", "phone", "contact"),
    "place": ("所属区域", "地址", "诉求地址", "事发地址", "所在地", "区域", "address", "place"),
    "category": ("诉求类型", "工单类型", "问题类型", "类型", "分类", "category", "type"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "id_number"),
    "register_no": ("低保证号", "保障证号", "register_no"),
}
REQUIRED = ("external_number", "text")
LABELS = {"external_number": "工单编号", "text": "诉求内容"}
# 诉求类型 (or the text itself) → category, first hit wins
CATEGORY_WORDS: tuple[tuple[CaseCategory, tuple[str, ...]], ...] = (
    (CaseCategory.objection, ("公示异议", "异议")),
    (CaseCategory.payment, ("发放", "低保金", "资金", "补发", "扣", "停发", "待遇")),
    (CaseCategory.conduct, ("作风", "态度", "干部", "违纪", "人情保", "关系保", "优亲厚友")),
    (CaseCategory.eligibility, ("资格", "认定", "审批", "评定", "漏保", "申请", "不符合", "取消")),
)
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


def _norm(h: object) -> str:
    return re.sub(r"\s+", "", str(h or "").replace("\ufeff", "")).lower()


_INDEX = {_norm(a): name for name, spellings in ALIASES.items() for a in spellings}


def map_headers(headers: list[object]) -> tuple[dict[str, int], list[str]]:
    """Maps fields to column positions (first spelling wins) and lists the columns not understood."""
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(headers):
        name = _INDEX.get(_norm(h))
        if name and name not in mapping:
            mapping[name] = i
        elif str(h or "").strip():
            unknown.append(str(h).strip())
    missing = [LABELS[f] for f in REQUIRED if f not in mapping]
    if missing:
        raise ValidationFailed("import_missing_columns", columns="、".join(missing))
    return mapping, unknown


def category_of(kind: str, text: str) -> CaseCategory:
    """The case category from the export's 诉求类型, else from the complaint text."""
    for source in (kind, text):
        for category, words in CATEGORY_WORDS:
            if any(w in source for w in words):
                return category
    return CaseCategory.other


def parse_time(value: object, tz: ZoneInfo) -> datetime | None:
    """The call time as an aware datetime (a spreadsheet date or one of the usual spellings)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    text = str(value or "").strip()
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def _cell(row: list[object], mapping: dict[str, int], field: str) -> str:
    i = mapping.get(field)
    if i is None or i >= len(row) or row[i] is None:
        return ""
    value = row[i]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def import_cases(
    session: Session,
    settings: Settings,
    actor: Actor,
    data: bytes,
    filename: str = "",
    source: CaseSource = CaseSource.hotline,
    progress: Progress | None = None,
) -> CaseImportResult:
    """Imports a work-order export; returns what was created, left unchanged, and refused by row."""
    actor.require(Role.supervisor)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed("import_too_large", limit=f"{MAX_IMPORT_BYTES >> 20} MB")
    rows = read_table(data, filename)
    try:
        header = next(rows)
    except StopIteration:
        raise ValidationFailed("import_empty") from None
    mapping, unknown = map_headers(header)
    body = list(rows)
    total = len(body)
    tz = ZoneInfo(settings.timezone)
    cipher = get_cipher()
    lang = actor.lang
    errors: list[CaseImportRow] = []
    created = unchanged = matched = to_confirm = 0
    ids: list[uuid.UUID] = []
    seen: set[str] = set()
    villages = case_match.village_names(session)

    def refuse(row_no: int, code: str, **params: Any) -> None:
        errors.append(CaseImportRow(row=row_no, code=code, message=translate(code, lang, **params)))

    for n, row in enumerate(body, start=2):
        if progress and (n - 2) % 50 == 0:
            progress(n - 2, total)
        if not any(str(c or "").strip() for c in row):
            continue
        number = _cell(row, mapping, "external_number")
        text = _cell(row, mapping, "text").replace("\r\n", "\n")
        if not number:
            refuse(n, "row_required", field=LABELS["external_number"])
            continue
        if number in seen:
            refuse(n, "case_row_duplicate", value=number)
            continue
        seen.add(number)
        if not text:
            refuse(n, "case_text_empty")
            continue
        if len(text) > MAX_TEXT:
            refuse(n, "case_text_too_long", max=MAX_TEXT)
            continue
        raw_time = (
            row[mapping["received_at"]]
            if "received_at" in mapping and mapping["received_at"] < len(row)
            else None
        )
        at = parse_time(raw_time, tz) if raw_time not in (None, "") else utcnow().astimezone(tz)
        if at is None:
            refuse(n, "row_bad_date", field="来电时间", value=str(raw_time)[:40])
            continue
        contact = _cell(row, mapping, "contact")
        if contact and not PHONE_RE.match(normalize_phone(contact)):
            refuse(n, "row_bad_phone", value=contact[:20])
            continue
        existing = session.exec(select(Case.id).where(Case.external_number == number)).first()
        if existing is not None:
            unchanged += 1
            continue
        reporter = _cell(row, mapping, "reporter")
        place = _cell(row, mapping, "place")[:300] or None
        match = case_match.find(
            session,
            _cell(row, mapping, "id_number"),
            _cell(row, mapping, "register_no"),
            reporter,
            place,
            villages,
        )
        if match.village_code is not None and not actor.sees(match.village_code):
            refuse(n, "case_row_out_of_scope", value=number)
            continue
        category = category_of(_cell(row, mapping, "category"), text)
        anonymous = not reporter and not contact
        phone = normalize_phone(contact) if contact else None
        case = Case(
            number=new_number(PREFIX),
            code_hash=code_digest(new_code()),
            source=source,
            category=category,
            text=text,
            anonymous=anonymous,
            contact_enc=cipher.encrypt(phone),
            contact_hash=cipher.lookup_hash(phone),
            reporter_enc=cipher.encrypt(reporter or None),
            external_number=number[:60],
            place=place,
            received_at=at,
            due_on=workdays.add_working_days(at.astimezone(tz).date(), time_limit_days(settings, category)),
            state=CaseState.received,
        )
        apply_match(case, match, settings.case_match_threshold)
        session.add(case)
        session.flush()
        log(session, case, actor, "import", None, case.state, source.value)
        case_duplicates.link_new(session, settings, case)  # a repeat of an open case is linked to it
        created += 1
        ids.append(case.id)
        if case.household_id is not None:
            if case.match_confirmed:
                matched += 1
            else:
                to_confirm += 1
    if progress:
        progress(total, total)
    result = CaseImportResult(
        rows=total,
        created=created,
        unchanged=unchanged,
        matched=matched,
        to_confirm=to_confirm,
        unknown_columns=unknown,
        errors=errors,
        case_ids=ids,
    )
    audit.record(
        session,
        actor,
        "case.import",
        "case",
        None,
        source=source.value,
        rows=total,
        created=created,
        unchanged=unchanged,
        errors=len(errors),
        unknown_columns=unknown[:20],
    )
    session.flush()
    return result


def import_file(
    session: Session, settings: Settings, actor: Actor, path: Path, **kw: Any
) -> CaseImportResult:
    """Imports an export file from disk."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise ValidationFailed("import_too_large", limit=f"{MAX_IMPORT_BYTES >> 20} MB")
    return import_cases(session, settings, actor, path.read_bytes(), path.name, **kw)


def run_import_job(
    factory: jobs.SessionFactory,
    job_id: uuid.UUID,
    settings: Settings,
    actor: Actor,
    data: bytes,
    filename: str,
    source: CaseSource,
) -> None:
    """Runs an import as a background job; GET /jobs/{id} shows progress and then the report."""

    def work(session: Session) -> dict[str, Any]:
        result = import_cases(
            session,
            settings,
            actor,
            data,
            filename,
            source,
            progress=lambda done, total: jobs.progress(job_id, done, total),
        )
        return result.model_dump(mode="json", exclude={"case_ids"})

    jobs.run(factory, job_id, work)


def imported(session: Session, numbers: list[str]) -> list[Case]:
    """The cases of the given work-order numbers (tests and the demo look them up)."""
    return list(session.exec(select(Case).where(col(Case.external_number).in_(numbers))).all())
