"""Review cadence (复核): 常补 households reviewed yearly, 非常补 every six months (002).

The due date is the last review plus 12 or 6 months (a household never reviewed is due at once).
It is overdue the day after; the draw already weights overdue households from the same rule
(`draws.review_overdue`, which these dates agree with). Officers are told before a review falls
due, once per household and due date, through the notices feed. A review is recorded by a review
visit (API) or by importing a table of reviews; both move `Household.last_review_date` forward.
"""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from contracts.households import HouseholdStatus, SubsidyType
from contracts.reviews import ReviewDue, ReviewDueList, ReviewIn, ReviewSource, TownshipDue
from contracts.telegram import NoticeKind
from contracts.visits import VisitStatus
from models.household import Household
from models.region import Region
from models.review import HouseholdReview
from models.types import utcnow
from models.user import Role, User
from models.visit import Visit
from services import audit, notices
from services.access import missing
from services.config import get_settings
from services.context import Actor
from services.errors import ValidationFailed
from services.pii import mask_name
from services.sheet import cell, parse_day, rows_of

MONTHS = {SubsidyType.regular: 12, SubsidyType.non_regular: 6}
MAX_HORIZON = 366
# No review predates the dibao regulations (1999); a day beyond this many years ahead is a typo.
EARLIEST_DAY = date(1999, 1, 1)
MAX_YEARS_AHEAD = 10
STAFF = (Role.supervisor, Role.officer)
IMPORT_ALIASES = {
    "register_no": ("低保证号", "保障证号", "证号", "register_no"),
    "reviewed_on": ("复核日期", "最近复核日期", "reviewed_on", "review_date"),
    "note": ("备注", "复核结论", "note"),
}


def add_months(d: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end), as the draw counts months."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def due_on(subsidy: SubsidyType | str, last_review: date | None) -> date | None:
    """When the next review falls due (None: never reviewed, due at once)."""
    if last_review is None:
        return None
    return add_months(last_review, MONTHS.get(SubsidyType(subsidy), 12))


def is_overdue(subsidy: SubsidyType | str, last_review: date | None, as_of: date) -> bool:
    """Past its due date (or never reviewed): the draw's `review_overdue` says the same."""
    due = due_on(subsidy, last_review)
    return due is None or due < as_of


def _due_query(scope: str | None, horizon_end: date) -> object:
    # month-end clamping can move a due date up to 3 days earlier than the plain subtraction says
    clauses: list[ColumnElement[bool]] = [col(Household.last_review_date).is_(None)]
    for subsidy, months in MONTHS.items():
        latest = add_months(horizon_end, -months) + timedelta(days=3)
        clauses.append(
            and_(col(Household.subsidy_type) == subsidy, col(Household.last_review_date) <= latest)
        )
    q = select(Household).where(Household.status == HouseholdStatus.active, or_(*clauses))
    if scope:
        q = q.where(col(Household.village_code).startswith(scope))
    return q.order_by(col(Household.township_code), col(Household.register_no))


def due_households(
    session: Session, scope: str | None, as_of: date, horizon_days: int
) -> list[tuple[Household, date | None]]:
    """Active households in the scope whose review falls due by as_of + horizon, with the due date."""
    end = as_of + timedelta(days=horizon_days)
    out: list[tuple[Household, date | None]] = []
    for h in session.exec(_due_query(scope, end)).all():  # type: ignore[call-overload]
        due = due_on(h.subsidy_type, h.last_review_date)
        if due is None or due <= end:
            out.append((h, due))
    return out


def due_list(
    session: Session,
    actor: Actor,
    as_of: date,
    horizon_days: int = 30,
    region: str | None = None,
) -> ReviewDueList:
    """Per township in the actor's scope: households due for review by the horizon, overdue first."""
    actor.require(*STAFF)
    if not 0 <= horizon_days <= MAX_HORIZON:
        raise ValidationFailed("reviews_bad_horizon", max=MAX_HORIZON)
    latest = add_months(utcnow().date(), 12 * MAX_YEARS_AHEAD)
    if not EARLIEST_DAY <= as_of <= latest:
        raise ValidationFailed(
            "reviews_bad_as_of", date=as_of.isoformat(), min=EARLIEST_DAY.isoformat(), max=latest.isoformat()
        )
    scope = actor.scope_code if actor.role != Role.admin else None
    if region:
        actor.require_scope(region, "复核")
        scope = region
    if actor.role == Role.officer and not scope:
        return ReviewDueList(as_of=as_of, horizon_days=horizon_days, townships=[])
    groups: dict[str, list[ReviewDue]] = defaultdict(list)
    for h, due in due_households(session, scope, as_of, horizon_days):
        groups[h.township_code].append(
            ReviewDue(
                household_id=h.id,
                register_no=h.register_no,
                head_name=mask_name(h.head_name) or "",
                village_code=h.village_code,
                township_code=h.township_code,
                subsidy_type=h.subsidy_type,
                last_review_date=h.last_review_date,
                due_on=due,
                overdue=due is None or due < as_of,
                days_left=(due - as_of).days if due else None,
            )
        )
    names = {
        r.code: r.name for r in session.exec(select(Region).where(col(Region.code).in_(list(groups)))).all()
    }
    townships = []
    for code in sorted(groups):
        items = sorted(groups[code], key=lambda d: (d.due_on or date.min, d.register_no))
        townships.append(
            TownshipDue(
                township_code=code,
                township_name=names.get(code, code),
                due=len(items),
                overdue=sum(1 for d in items if d.overdue),
                items=items,
            )
        )
    audit.record(session, actor, "reviews.due", "household", None, region=scope, as_of=as_of.isoformat())
    return ReviewDueList(as_of=as_of, horizon_days=horizon_days, townships=townships)


# ---- recording reviews -----------------------------------------------------------------------------


def _apply(
    session: Session,
    actor: Actor,
    h: Household,
    on: date,
    source: ReviewSource,
    visit_id: uuid.UUID | None = None,
    note: str | None = None,
) -> HouseholdReview:
    if on > utcnow().date() + timedelta(days=1):
        raise ValidationFailed("reviews_future_date", date=on.isoformat())
    if on < EARLIEST_DAY:
        raise ValidationFailed("reviews_past_date", date=on.isoformat(), min=EARLIEST_DAY.isoformat())
    # Two identical sends at the same moment (a double tap, one file imported twice at once) must not
    # both pass the check below: the household's row is locked until the unit commits (PostgreSQL;
    # SQLite's writers already take turns).
    session.exec(select(Household.id).where(Household.id == h.id).with_for_update())
    same = session.exec(
        select(HouseholdReview).where(
            HouseholdReview.household_id == h.id,
            HouseholdReview.reviewed_on == on,
            HouseholdReview.source == source,
            HouseholdReview.visit_id == visit_id if visit_id else col(HouseholdReview.visit_id).is_(None),
        )
    ).first()
    if same is not None:  # sent twice (a double click, a file imported again): kept once
        return same
    review = HouseholdReview(
        household_id=h.id, reviewed_on=on, source=source, visit_id=visit_id, note=note, created_by=actor.label
    )
    session.add(review)
    if h.last_review_date is None or on > h.last_review_date:
        h.last_review_date = on
        h.updated_at = utcnow()
        session.add(h)
    session.flush()
    return review


def record(session: Session, actor: Actor, data: ReviewIn) -> tuple[HouseholdReview, Household]:
    """Records a review visit of a household in the actor's scope (audited)."""
    actor.require(*STAFF)
    h = session.get(Household, data.household_id)
    if h is None or not actor.sees(h.village_code):
        raise missing("household")
    if data.visit_id is not None:
        visit = session.get(Visit, data.visit_id)
        if visit is None or visit.household_id != h.id or visit.status != VisitStatus.submitted:
            raise ValidationFailed("reviews_bad_visit")
    review = _apply(session, actor, h, data.reviewed_on, ReviewSource.visit, data.visit_id, data.note)
    audit.record(
        session,
        actor,
        "reviews.record",
        "household",
        h.id,
        reviewed_on=data.reviewed_on.isoformat(),
        source=ReviewSource.visit.value,
    )
    return review, h


@dataclass
class ImportReport:
    """How many reviews an import recorded, and the rows it refused."""

    recorded: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)


def import_file(session: Session, actor: Actor, data: bytes, filename: str) -> ImportReport:
    """Records reviews from a table (低保证号, 复核日期, 备注); refused rows are reported."""
    actor.require(*STAFF)
    cols, rows = rows_of(data, filename, IMPORT_ALIASES, ("register_no", "reviewed_on"))
    report = ImportReport()
    for line, row in rows:
        try:
            with session.begin_nested():
                reg = cell(row, cols, "register_no")
                h = session.exec(select(Household).where(Household.register_no == reg)).first()
                if h is None or not actor.sees(h.village_code):
                    raise ValidationFailed("reviews_unknown_household", register_no=reg[:40])
                try:
                    on = parse_day(cell(row, cols, "reviewed_on"))
                except ValueError:
                    raise ValidationFailed(
                        "reviews_bad_date", value=cell(row, cols, "reviewed_on")[:20]
                    ) from None
                _apply(
                    session, actor, h, on, ReviewSource.imported, note=cell(row, cols, "note")[:500] or None
                )
                report.recorded += 1
        except ValidationFailed as exc:
            report.errors.append({"row": line, "code": exc.code, "message": exc.message(actor.lang)})
    audit.record(
        session,
        actor,
        "reviews.import",
        "household",
        None,
        filename=filename[:200],
        recorded=report.recorded,
        refused=len(report.errors),
    )
    return report


# ---- notices before a review falls due -------------------------------------------------------------


def _officers(session: Session) -> dict[str, User]:
    """Active officers by scope code (the first created wins, as the ledger picks them)."""
    out: dict[str, User] = {}
    for u in session.exec(
        select(User)
        .where(User.role == Role.officer, col(User.active).is_(True), col(User.scope_code).is_not(None))
        .order_by(col(User.created_at), col(User.login))
    ).all():
        assert u.scope_code is not None
        out.setdefault(u.scope_code, u)
    return out


def emit_due_notices(
    session: Session, today: date, now: datetime | None = None, lead_days: int | None = None
) -> int:
    """Tells the responsible officer (village, else township) of each review due within the lead time.

    Once per household and due date (the notice key holds both); overdue ones are told once too.
    """
    now = now or utcnow()
    lead = get_settings().review_notice_days if lead_days is None else lead_days
    officers = _officers(session)
    if not officers:
        return 0
    count = 0
    for h, due in due_households(session, None, today, lead):
        officer = officers.get(h.village_code) or officers.get(h.township_code)
        if officer is None:
            continue
        params = {
            "register_no": h.register_no,
            "head_name": mask_name(h.head_name) or "",
            "village_code": h.village_code,
            "subsidy_type": h.subsidy_type.value,
            "due_on": (due or today).isoformat(),
            "overdue": due is None or due < today,
        }
        key = f"review:due:{h.id}:{due.isoformat() if due else 'never'}"
        notices.emit(session, officer.id, NoticeKind.review_due, params, key=key, due_at=now)
        count += 1
    return count
