"""Applications (申请): staff create, import and move them through the stages; every change audited.

申请 → 乡镇审核 (with the home-visit investigation) → 民主评议 → 县级审批 → 公示 (7 days) → 发放 (from
the month it starts). An application may be refused at any stage before payment, with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from contracts.residents import (
    STAGES,
    ApplicationCreate,
    ApplicationOutcome,
    ApplicationStaff,
    Stage,
    StageDate,
    StageMove,
)
from models.application import Application
from models.region import Region, RegionLevel
from models.types import utcnow
from models.user import Role
from services import audit
from services.cipher import get_cipher
from services.context import Actor
from services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.household_reader import read_table
from services.pii import id_number_problem, mask_id, mask_name, mask_phone, normalize_id, normalize_phone
from services.residents_codes import new_number

PREFIX = "SQ"
NOTICE_DAYS = 7
MAX_PAGE = 200
_DATE_FIELDS: dict[Stage, str] = {
    Stage.applied: "applied_on",
    Stage.township_review: "township_reviewed_on",
    Stage.democratic_review: "democratic_reviewed_on",
    Stage.county_approval: "county_approved_on",
    Stage.public_notice: "notice_from",
    Stage.payment: "paid_from",
}


def money(value: float | None) -> Decimal | None:
    """Yuan with two decimals, as stored."""
    return None if value is None else Decimal(str(round(value, 2)))


def normalize_name(name: str) -> str:
    """A name as compared: without any spaces (people type 张 三 and 张三)."""
    return "".join(name.split())


def stage_dates(app: Application) -> list[StageDate]:
    """Each stage with the date it was reached."""
    return [StageDate(stage=s, on=getattr(app, _DATE_FIELDS[s])) for s in STAGES]


def notice_until(app: Application) -> date | None:
    """The last day of the public notice (公示), when it has started."""
    return app.notice_from + timedelta(days=NOTICE_DAYS - 1) if app.notice_from else None


def to_staff(app: Application) -> ApplicationStaff:
    """The staff view: identifiers decrypted only to be masked."""
    cipher = get_cipher()
    return ApplicationStaff(
        id=str(app.id),
        number=app.number,
        applicant_name=mask_name(cipher.decrypt(app.name_enc)) or "",
        id_number=mask_id(cipher.decrypt(app.id_enc)) or "",
        phone=mask_phone(cipher.decrypt(app.phone_enc)),
        village_code=app.village_code,
        household_size=app.household_size,
        stage=app.stage,
        outcome=app.outcome,
        dates=stage_dates(app),
        deciding_unit=app.deciding_unit,
        refusal_reason=app.refusal_reason,
        monthly_amount=app.monthly_amount,
        notice_until=notice_until(app),
    )


def _village(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None or region.level != RegionLevel.village:
        raise ValidationFailed("unknown_village", code=code)
    return region


def create(session: Session, actor: Actor, data: ApplicationCreate, audit_it: bool = True) -> Application:
    """Registers an application at stage 申请 under a fresh unguessable number."""
    actor.require(Role.supervisor)
    actor.require_scope(data.village_code, "申请")
    problem = id_number_problem(data.id_number)
    if problem:
        raise ValidationFailed(problem)
    name = normalize_name(data.applicant_name)
    if not name:
        raise ValidationFailed("name_required")
    _village(session, data.village_code)
    cipher = get_cipher()
    id_number = normalize_id(data.id_number)
    phone = normalize_phone(data.phone) if data.phone else None
    app = Application(
        number=new_number(PREFIX),
        name_enc=cipher.encrypt(name) or "",
        name_hash=cipher.lookup_hash(name) or "",
        id_enc=cipher.encrypt(id_number) or "",
        id_hash=cipher.lookup_hash(id_number) or "",
        phone_enc=cipher.encrypt(phone),
        phone_hash=cipher.lookup_hash(phone),
        household_size=data.household_size,
        village_code=data.village_code,
        township_code=data.village_code[:9],
        county_code=data.village_code[:6],
        applied_on=data.applied_on or utcnow().date(),
        monthly_amount=money(data.monthly_amount),
        contact_unit=data.contact_unit,
        contact_phone=data.contact_phone,
    )
    session.add(app)
    session.flush()
    if audit_it:
        audit.record(session, actor, "application.create", "application", app.id, number=app.number)
    return app


def get(session: Session, actor: Actor, app_id: uuid.UUID) -> Application:
    """One application in the actor's scope."""
    actor.require(Role.supervisor)
    app = session.get(Application, app_id)
    if app is None:
        raise NotFound()
    actor.require_scope(app.village_code, "申请")
    return app


def list_for(
    session: Session, actor: Actor, region: str | None, stage: Stage | None, limit: int
) -> list[Application]:
    """Applications in the actor's scope (newest first)."""
    actor.require(Role.supervisor)
    q = select(Application).order_by(col(Application.created_at).desc()).limit(min(max(limit, 1), MAX_PAGE))
    prefix = actor.scope_code if actor.role != Role.admin else None
    if region:
        actor.require_scope(region, "申请")
        prefix = region
    if prefix:
        q = q.where(col(Application.village_code).startswith(prefix))
    if stage is not None:
        q = q.where(Application.stage == stage)
    return list(session.exec(q).all())


def move(session: Session, actor: Actor, app_id: uuid.UUID, step: StageMove) -> Application:
    """Moves an application to its next stage, or refuses it with a reason (audited)."""
    app = get(session, actor, app_id)
    if app.outcome != ApplicationOutcome.pending:
        raise Conflict("application_closed")
    if step.refuse_reason is not None and not step.refuse_reason.strip():
        raise ValidationFailed("refusal_reason_blank")  # a refusal says why; an empty one is no move
    on = step.on or utcnow().date()
    before = app.stage
    if step.refuse_reason:
        app.outcome = ApplicationOutcome.refused
        app.refused_on = on
        app.refusal_reason = step.refuse_reason.strip()
    else:
        _advance(app, step, on)
    if step.deciding_unit:
        app.deciding_unit = step.deciding_unit
    if step.monthly_amount is not None:
        app.monthly_amount = money(step.monthly_amount)
    app.updated_at = utcnow()
    session.add(app)
    session.flush()
    audit.record(
        session,
        actor,
        "application.refuse" if step.refuse_reason else "application.move",
        "application",
        app.id,
        before=before.value,
        after=app.stage.value,
        on=on.isoformat(),
        outcome=app.outcome.value,
    )
    return app


def _advance(app: Application, step: StageMove, on: date) -> None:
    index = STAGES.index(app.stage)
    if index + 1 >= len(STAGES):
        raise Conflict("application_closed")
    nxt = STAGES[index + 1]
    if step.to is not None and step.to != nxt:
        raise ValidationFailed("stage_out_of_order", expected=nxt.value)
    previous = getattr(app, _DATE_FIELDS[app.stage])
    if previous is not None and on < previous:
        raise ValidationFailed("stage_date_before_previous")
    if nxt == Stage.payment:
        until = notice_until(app)
        if until is not None and on <= until:
            raise ValidationFailed("notice_not_over", until=until.isoformat())
        on = on.replace(day=1) if on.day != 1 else on
        app.outcome = ApplicationOutcome.approved
    setattr(app, _DATE_FIELDS[nxt], on)
    app.stage = nxt


# ---- import -------------------------------------------------------------------------------------

IMPORT_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("申请人姓名", "申请人", "姓名", "户主姓名", "name", "applicant_name"),
    "id_number": ("身份证号", "身份证号码", "申请人身份证号", "证件号码", "id_number", "idnumber"),
    "phone": ("联系电话", "电话", "手机号", "手机号码", "phone", "mobile"),
    "village": ("村居代码", "村代码", "区划代码", "所属村(居)", "所属村居", "village", "village_code"),
    "size": ("家庭人口", "家庭人数", "保障人口", "size", "household_size"),
    "applied_on": ("申请日期", "申请时间", "applied_on", "date"),
    "amount": ("月保障金额", "保障金额", "monthly_amount", "amount"),
    "unit": ("受理单位", "经办单位", "联系单位", "contact_unit", "unit"),
    "unit_phone": ("单位电话", "咨询电话", "联系单位电话", "contact_phone", "unit_phone"),
}


@dataclass
class ImportResult:
    """What an import created, and the rows it refused with their reasons."""

    created: list[Application] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)


def _header_map(header: list[object]) -> dict[str, int]:
    norm = ["".join(str(h or "").split()).lower() for h in header]
    found: dict[str, int] = {}
    for key, names in IMPORT_ALIASES.items():
        for i, h in enumerate(norm):
            if h in names and key not in found:
                found[key] = i
    missing = [k for k in ("name", "id_number", "village") if k not in found]
    if missing:
        raise ValidationFailed("import_missing_columns", columns=", ".join(missing))
    return found


def _cell(row: list[object], cols: dict[str, int], key: str) -> str:
    i = cols.get(key)
    if i is None or i >= len(row) or row[i] is None:
        return ""
    value = row[i]
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value).strip()


def _row_to_create(row: list[object], cols: dict[str, int]) -> ApplicationCreate:
    applied = _cell(row, cols, "applied_on")
    amount = _cell(row, cols, "amount")
    try:
        return ApplicationCreate(
            applicant_name=_cell(row, cols, "name"),
            id_number=normalize_id(_cell(row, cols, "id_number")),
            phone=_cell(row, cols, "phone") or None,
            village_code=_cell(row, cols, "village"),
            household_size=int(_cell(row, cols, "size") or 1),
            applied_on=date.fromisoformat(applied.replace("/", "-")) if applied else None,
            monthly_amount=float(Decimal(amount)) if amount else None,
            contact_unit=_cell(row, cols, "unit") or None,
            contact_phone=_cell(row, cols, "unit_phone") or None,
        )
    except (ValueError, InvalidOperation) as exc:
        raise ValidationFailed("import_bad_row", detail=str(exc).splitlines()[0][:200]) from None


def import_file(session: Session, actor: Actor, data: bytes, filename: str) -> ImportResult:
    """Imports applications from the register's CSV (UTF-8 or GB18030) or XLSX; bad rows are reported."""
    actor.require(Role.supervisor)
    rows = read_table(data, filename)
    header = next(rows, None)
    if header is None:
        raise ValidationFailed("import_empty")
    cols = _header_map(header)
    result = ImportResult()
    for line, row in enumerate(rows, start=2):
        if not any(str(c or "").strip() for c in row):
            continue
        try:
            with session.begin_nested():
                result.created.append(create(session, actor, _row_to_create(row, cols), audit_it=False))
        except (ValidationFailed, Forbidden) as exc:
            result.errors.append({"row": line, "code": exc.code, "message": exc.message(actor.lang)})
    audit.record(
        session,
        actor,
        "application.import",
        "application",
        None,
        filename=filename[:200],
        created=len(result.created),
        refused=len(result.errors),
    )
    return result
