"""The rectification ledger (整改台账): items, their explicit transitions, four eyes, outcomes.

One item per household and problem category: a confirmed finding joins the household's item of its
category (reopening it when it was closed: the problem came back), or opens a new one.

States: open → in_progress → fix_submitted → closed (verified, 对账销号) | returned (重新整改), and a
closed item is reopened when a recheck finds the problem again. Every move is a function that refuses
an illegal one with a 409 (`ledger_bad_transition`). Moves are guarded by the item's version, so of two
concurrent moves on one item (verify and return) exactly one wins; the other gets 409 `ledger_changed`.

Four eyes: whoever submitted the fix never verifies it; verifying needs evidence: a photo or document
sent for the item (`services/ledger_evidence.py`) or named from this household's visits, that is not
reused nor off site (`counts_as_proof`), or the finished recheck visit ordered from the item. A
verified close applies the fix's outcome to the household register (audited), so the next draw
sees it. A new item from a visit with a structured conclusion (清退 / 调档 / 补发 / 移送纪检) gets its
route, outcome, months and money pre-filled from it (`prefill`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text, update
from sqlmodel import Session, col, func, select

from contracts.evidence import EvidencePurpose, SiteStatus
from contracts.households import Tier
from contracts.ledger import (
    OPEN_STATES,
    FixIn,
    FixOutcome,
    ItemUpdateIn,
    LedgerRoute,
    LedgerState,
    OutcomeChange,
    RecheckIn,
    VerifyIn,
)
from contracts.telegram import NoticeKind
from contracts.visits import Conclusion, Decision
from contracts.vocab import FindingCategory, Severity
from models.db import is_postgres
from models.evidence import Evidence
from models.household import Household, HouseholdStatus
from models.ledger import LedgerEvent, LedgerItem
from models.region import Region
from models.round import Assignment, AssignmentStatus, RoundTeam
from models.types import utcnow
from models.user import Role, User
from models.visit import Finding, FindingReview, Visit, VisitStatus
from services import access, audit, notices, pii, workdays
from services.config import Settings, get_settings
from services.context import Actor
from services.errors import Conflict, ValidationFailed
from services.rounds import local_today

# Problems that suggest a violation of discipline go to discipline inspection (003)
DISCIPLINE_CATEGORIES = frozenset({FindingCategory.FAVOUR, FindingCategory.FUNDS_MISUSE})
_FILE_LOCK_ID = 0x4C454447  # "LEDG": serialises filing findings onto the ledger across connections
ACTING = (Role.supervisor, Role.admin, Role.officer)

# action → the states it may start from, and the state it leads to
TRANSITIONS: dict[str, tuple[frozenset[LedgerState], LedgerState]] = {
    "start": (
        frozenset({LedgerState.open, LedgerState.returned, LedgerState.reopened}),
        LedgerState.in_progress,
    ),
    "submit_fix": (OPEN_STATES, LedgerState.fix_submitted),
    "verify": (frozenset({LedgerState.fix_submitted}), LedgerState.closed),
    "return": (frozenset({LedgerState.fix_submitted}), LedgerState.returned),
    "reopen": (frozenset({LedgerState.closed}), LedgerState.reopened),
}


def fen(amount: Decimal) -> Decimal:
    """An amount in yuan rounded to the fen (0.01), half up."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---- deadlines --------------------------------------------------------------------------------


def working_days_for(severity: Severity, route: LedgerRoute, settings: Settings | None = None) -> int:
    """How many working days an item gets: by severity, shorter for 立即整改."""
    s = settings or get_settings()
    if route is LedgerRoute.fix_now:
        return s.ledger_days_fix_now
    return {Severity.high: s.ledger_days_high, Severity.medium: s.ledger_days_medium}.get(
        severity, s.ledger_days_low
    )


def default_deadline(
    severity: Severity, route: LedgerRoute, today: date | None = None, settings: Settings | None = None
) -> date:
    """The deadline counted in working days from today on China's official calendar."""
    start = today or local_today(settings)
    return workdays.add_working_days(start, working_days_for(severity, route, settings))


def check_deadline(deadline: date, today: date | None = None) -> date:
    """A deadline chosen by hand: refused when it lies in the past."""
    if deadline < (today or local_today()):
        raise ValidationFailed("ledger_deadline_past", deadline=deadline.isoformat())
    return deadline


def default_route(category: FindingCategory) -> LedgerRoute:
    """人情保/关系保 and misused funds go to discipline inspection; the rest is fixed by a deadline."""
    return LedgerRoute.discipline if category in DISCIPLINE_CATEGORIES else LedgerRoute.fix_by_deadline


def overdue_clause(today: date) -> Any:
    """SQL: the item is still to be fixed and its deadline has passed (computed, never stored)."""
    return col(LedgerItem.state).in_(list(OPEN_STATES)) & (col(LedgerItem.deadline) < today)


def is_overdue(item: LedgerItem, today: date | None = None) -> bool:
    """The same rule as `overdue_clause`, for one loaded item."""
    return item.state in OPEN_STATES and item.deadline < (today or local_today())


# ---- access -----------------------------------------------------------------------------------


def sees(actor: Actor, region_code: str | None) -> bool:
    """Region scope; an officer without a region sees only the items given to them."""
    if actor.role == Role.officer and not actor.scope_code:
        return False
    return actor.sees(region_code)


def may_see(actor: Actor, item: LedgerItem) -> bool:
    """Supervisors and officers in whose region the household lies; the responsible person always."""
    if actor.role not in ACTING:
        return False
    return sees(actor, item.village_code) or (actor.id is not None and item.responsible_user_id == actor.id)


def item_for_actor(session: Session, actor: Actor, item_id: uuid.UUID, action: str = "read") -> LedgerItem:
    """The item if the actor may see it; a hidden one answers the same 404 as a missing one (audited)."""
    item = session.get(LedgerItem, item_id)
    if item is None:
        raise access.missing("ledger_item")
    if not may_see(actor, item):
        raise audit.refuse(
            access.missing("ledger_item"), actor, "ledger.denied", "ledger_item", item_id, attempted=action
        )
    return item


# ---- items from confirmed findings ---------------------------------------------------------------


def _responsible_officer(session: Session, household: Household) -> User | None:
    """The active officer of the household's village, else of its township."""
    for code in (household.village_code, household.township_code):
        officer = session.exec(
            select(User)
            .where(User.role == Role.officer, User.scope_code == code, col(User.active).is_(True))
            .order_by(col(User.created_at), col(User.login))
        ).first()
        if officer is not None:
            return officer
    return None


def _next_number(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(LedgerItem.number), 0))).one()) + 1


def event(
    session: Session,
    actor: Actor,
    item: LedgerItem,
    action: str,
    old: LedgerState | None,
    note: str | None = None,
    evidence_ids: Iterable[uuid.UUID | str] = (),
) -> LedgerEvent:
    """Appends a step to the item's history."""
    ev = LedgerEvent(
        item_id=item.id,
        actor=actor.label,
        actor_id=actor.id,
        action=action,
        from_state=old,
        to_state=item.state,
        note=note,
        evidence_ids=[str(e) for e in evidence_ids],
    )
    session.add(ev)
    session.flush()
    return ev


def file_findings(
    session: Session, actor: Actor, findings: Sequence[Finding], today: date | None = None
) -> LedgerItem:
    """Puts confirmed findings (one household, one category) on the ledger: joins or opens the item."""
    first = findings[0]
    household = session.get(Household, first.household_id)
    assert household is not None
    if is_postgres(session):
        # one filer at a time: no two items for one household and category, no duplicate number
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FILE_LOCK_ID})
    item = session.exec(
        select(LedgerItem)
        .where(LedgerItem.household_id == first.household_id, LedgerItem.category == first.category)
        .order_by(col(LedgerItem.created_at).desc())
    ).first()
    severity = max((f.severity for f in findings), key=list(Severity).index)
    if item is None:
        item = _open_item(session, actor, household, first, severity, today)
    elif list(Severity).index(severity) > list(Severity).index(item.severity):
        item.severity = severity
    for f in findings:
        f.ledger_item_id = item.id
        session.add(f)
    session.flush()
    if item.state is LedgerState.closed:
        _reopen(session, actor, item, "recheck_found_again", today)
    return item


def _open_item(
    session: Session,
    actor: Actor,
    household: Household,
    first: Finding,
    severity: Severity,
    today: date | None,
) -> LedgerItem:
    route = default_route(first.category)
    officer = _responsible_officer(session, household)
    item = LedgerItem(
        number=_next_number(session),
        household_id=household.id,
        village_code=household.village_code,
        round_id=first.round_id,
        category=first.category,
        severity=severity,
        route=route,
        responsible_region_code=household.township_code,
        responsible_user_id=officer.id if officer else None,
        deadline=default_deadline(severity, route, today),
    )
    session.add(item)
    session.flush()
    event(session, actor, item, "open", None)
    audit.record(session, actor, "ledger.open", "ledger_item", item.id, number=item.number)
    prefill(session, actor, item, first, today)
    _notify_new(session, item)
    return item


# ---- pre-fill from the visit's conclusion ---------------------------------------------------------

# the team's decision → the route it leads to (清退/调档 are fixed by a deadline, 移送纪检 is referred)
DECISION_ROUTES = {
    Decision.REMOVE: LedgerRoute.fix_by_deadline,
    Decision.ADJUST_TIER: LedgerRoute.fix_by_deadline,
    Decision.BACK_PAY: LedgerRoute.fix_by_deadline,
    Decision.REFER: LedgerRoute.discipline,
}
DECISION_CHANGES = {
    Decision.REMOVE: OutcomeChange.exit,
    Decision.ADJUST_TIER: OutcomeChange.adjust,
    Decision.BACK_PAY: OutcomeChange.restore,
}


def _yuan(value: float | None) -> Decimal | None:
    return fen(Decimal(str(value))) if value is not None and value > 0 else None


def outcome_of(conclusion: Conclusion) -> FixOutcome | None:
    """The outcome a visit's conclusion proposes (None for 符合 / 再核: nothing to pre-fill)."""
    decision = conclusion.decision
    if decision not in DECISION_ROUTES:
        return None
    change = DECISION_CHANGES.get(decision, OutcomeChange.none)
    tier = next((t for t in Tier if t.value == conclusion.new_tier), None)
    overpaid = _yuan(conclusion.overpaid_amount)
    if change is OutcomeChange.none and overpaid is not None:
        change = OutcomeChange.recover  # a referred case still has its overpaid money to recover
    months = conclusion.overpaid_months or conclusion.months_short
    return FixOutcome(
        change=change,
        tier=tier if decision is Decision.ADJUST_TIER else None,
        months=months if months else None,
        amount_to_recover=overpaid,
        back_pay_amount=_yuan(conclusion.back_pay_amount) or _yuan(conclusion.amount_short)
        if decision in (Decision.BACK_PAY, Decision.REFER)
        else None,
    )


def prefill(
    session: Session, actor: Actor, item: LedgerItem, finding: Finding, today: date | None = None
) -> bool:
    """Pre-fills a new item's route, outcome, months and money from the structured conclusion of the
    finding's visit (audited); False when the visit has none that proposes a change."""
    visit = session.get(Visit, finding.visit_id) if finding.visit_id is not None else None
    if visit is None or not visit.conclusion:
        return False
    conclusion = Conclusion.model_validate(visit.conclusion)
    out = outcome_of(conclusion)
    if out is None:
        return False
    route = DECISION_ROUTES[conclusion.decision]
    item.route = route
    item.deadline = default_deadline(item.severity, route, today)
    item.outcome = out.model_dump(mode="json", exclude_none=True)
    item.money_to_recover = out.amount_to_recover or Decimal("0")
    item.months = out.months
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    event(session, actor, item, "prefill", item.state, note=conclusion.decision.value)
    audit.record(
        session,
        actor,
        "ledger.prefill",
        "ledger_item",
        item.id,
        visit=str(visit.id),
        decision=conclusion.decision.value,
        route=route.value,
        outcome=item.outcome,
    )
    return True


# ---- notices --------------------------------------------------------------------------------------


def _params(session: Session, item: LedgerItem, **extra: Any) -> dict[str, Any]:
    """What a ledger notice shows: the item, the household (name masked), its village, the measures."""
    household = session.get(Household, item.household_id)
    village = session.get(Region, item.village_code)
    return {
        "item_id": str(item.id),
        "number": item.number,
        "version": item.version,
        "register_no": household.register_no if household else "",
        "head_name": (pii.mask_name(household.head_name) or "") if household else "",
        "village": village.name if village else item.village_code,
        "category": item.category.value,
        "deadline": item.deadline.isoformat(),
        "measures": item.measures or "",
        **extra,
    }


def _notify_new(session: Session, item: LedgerItem) -> None:
    if item.responsible_user_id is not None:
        notices.emit(
            session,
            item.responsible_user_id,
            NoticeKind.ledger_new_item,
            _params(session, item),
            key=f"ledger:new:{item.id}:{item.responsible_user_id}",
        )


def _supervisors_of(session: Session, village_code: str) -> list[User]:
    sups = session.exec(select(User).where(User.role == Role.supervisor, col(User.active).is_(True))).all()
    return [u for u in sups if not u.scope_code or village_code.startswith(u.scope_code)]


def emit_due_notices(
    session: Session, today: date | None = None, settings: Settings | None = None, now: datetime | None = None
) -> int:
    """Deadline-soon and overdue notices to responsible officers, once per item, kind and deadline."""
    now = now or utcnow()
    today = today or local_today(settings, now)
    soon = workdays.add_working_days(today, (settings or get_settings()).ledger_remind_days)
    rows = session.exec(
        select(LedgerItem).where(
            col(LedgerItem.state).in_(list(OPEN_STATES)),
            col(LedgerItem.responsible_user_id).is_not(None),
            col(LedgerItem.deadline) <= soon,
        )
    ).all()
    count = 0
    for item in rows:
        assert item.responsible_user_id is not None
        kind = NoticeKind.ledger_overdue if item.deadline < today else NoticeKind.ledger_deadline_soon
        key = f"ledger:{kind.value}:{item.id}:{item.deadline.isoformat()}"
        notices.emit(session, item.responsible_user_id, kind, _params(session, item), key=key, due_at=now)
        count += 1
    return count


# ---- changes and transitions ----------------------------------------------------------------------


def update_item(
    session: Session, actor: Actor, item_id: uuid.UUID, data: ItemUpdateIn, today: date | None = None
) -> LedgerItem:
    """Route, responsible unit and person, measures, deadline, timetable (supervisors; not when closed)."""
    actor.require(Role.supervisor)
    item = item_for_actor(session, actor, item_id, "update")
    if item.state is LedgerState.closed:
        raise Conflict("ledger_bad_transition", state=item.state.value, action="update")
    changed: dict[str, Any] = {}
    if data.responsible_user_id is not None and data.responsible_user_id != item.responsible_user_id:
        officer = session.get(User, data.responsible_user_id)
        if officer is None or officer.role not in ACTING or not officer.active:
            raise ValidationFailed("ledger_bad_responsible")
        if officer.role == Role.officer and not item.village_code.startswith(officer.scope_code or "-"):
            raise ValidationFailed("ledger_bad_responsible")  # an officer answers for their own region
        item.responsible_user_id = officer.id
        changed["responsible_user_id"] = str(officer.id)
    if data.responsible_region_code is not None:
        actor.require_scope(data.responsible_region_code)
        item.responsible_region_code = changed["responsible_region_code"] = data.responsible_region_code
    if data.route is not None:
        item.route = data.route
        changed["route"] = data.route.value
    if data.measures is not None:
        item.measures = changed["measures"] = data.measures
    if data.deadline is not None:
        item.deadline = check_deadline(data.deadline, today)
        changed["deadline"] = data.deadline.isoformat()
    if data.milestones is not None:
        for m in data.milestones:
            if not m.done:
                check_deadline(m.due, today)
        item.milestones = [m.model_dump(mode="json") for m in data.milestones]
        changed["milestones"] = len(item.milestones)
    item.updated_at = utcnow()
    item.version += 1
    session.add(item)
    session.flush()
    event(session, actor, item, "update", item.state, note=", ".join(sorted(changed)) or None)
    audit.record(session, actor, "ledger.update", "ledger_item", item.id, **changed)
    if "responsible_user_id" in changed:
        _notify_new(session, item)
    return item


def require_state(item: LedgerItem, action: str) -> None:
    """Refuses (409) an action the item's state does not allow."""
    if item.state not in TRANSITIONS[action][0]:
        raise Conflict("ledger_bad_transition", state=item.state.value, action=action)


def _move(
    session: Session,
    actor: Actor,
    item: LedgerItem,
    action: str,
    version: int | None = None,
    **values: Any,
) -> LedgerState:
    """Moves the item by one allowed transition, guarded by its version; returns the old state."""
    allowed, new = TRANSITIONS[action]
    require_state(item, action)
    expected = item.version if version is None else version
    old = item.state
    session.flush()
    result = session.execute(
        update(LedgerItem)
        .where(
            col(LedgerItem.id) == item.id,
            col(LedgerItem.version) == expected,
            col(LedgerItem.state).in_([s.value for s in allowed]),
        )
        .values(state=new.value, version=expected + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("ledger_changed")
    session.refresh(item)
    return old


def _evidence_of_household(session: Session, item: LedgerItem, ids: Sequence[uuid.UUID]) -> list[Evidence]:
    """The evidence rows, refused unless every one exists and belongs to the item's household."""
    if not ids:
        return []
    rows = session.exec(select(Evidence).where(col(Evidence.id).in_(list(ids)))).all()
    if len(rows) != len(set(ids)) or any(e.household_id != item.household_id for e in rows):
        raise ValidationFailed("ledger_evidence_foreign")
    return list(rows)


def item_evidence(session: Session, item_id: uuid.UUID) -> list[Evidence]:
    """The photos and documents sent for the item itself (without a visit), oldest first."""
    return list(
        session.exec(
            select(Evidence)
            .where(Evidence.ledger_item_id == item_id)
            .order_by(col(Evidence.received_at), col(Evidence.id))
        ).all()
    )


def counts_as_proof(ev: Evidence) -> bool:
    """Evidence a verified close may rest on: not found in another household's or visit's evidence
    (reused), and taken at the household unless it shows a document (a receipt, a decision)."""
    if ev.reused:
        return False
    return ev.purpose is EvidencePurpose.DOCUMENT or ev.site is not SiteStatus.OFF_SITE


def start(session: Session, actor: Actor, item_id: uuid.UUID, note: str | None = None) -> LedgerItem:
    """The responsible side starts fixing (also after a return or a reopen)."""
    actor.require(*ACTING)
    item = item_for_actor(session, actor, item_id, "start")
    old = _move(session, actor, item, "start")
    event(session, actor, item, "start", old, note)
    audit.record(session, actor, "ledger.start", "ledger_item", item.id)
    return item


def submit_fix(session: Session, actor: Actor, item_id: uuid.UUID, data: FixIn) -> LedgerItem:
    """Records what was done and what it changes; the supervisors are told to verify it."""
    actor.require(*ACTING)
    item = item_for_actor(session, actor, item_id, "submit_fix")
    require_state(item, "submit_fix")
    _evidence_of_household(session, item, data.evidence_ids)
    # the fix rests on the evidence named and on every photo sent for the item so far
    evidence_ids = list(dict.fromkeys([*data.evidence_ids, *(e.id for e in item_evidence(session, item.id))]))
    given = data.outcome if data.outcome is not None else FixOutcome.model_validate(item.outcome or {})
    out = given.model_copy(
        update={
            k: fen(v)
            for k in ("monthly_amount", "amount_to_recover", "recovered", "back_pay_amount")
            if (v := getattr(given, k)) is not None
        }
    )
    values: dict[str, Any] = {"fix_submitted_by": actor.id, "outcome": out.model_dump(mode="json")}
    if out.amount_to_recover is not None:
        values["money_to_recover"] = out.amount_to_recover
    if out.recovered is not None:
        values["money_recovered"] = out.recovered
    if out.months is not None:
        values["months"] = out.months
    old = _move(session, actor, item, "submit_fix", **values)
    event(session, actor, item, "submit_fix", old, data.note, evidence_ids)
    audit.record(session, actor, "ledger.submit_fix", "ledger_item", item.id, evidence=len(evidence_ids))
    for sup in _supervisors_of(session, item.village_code):
        notices.emit(
            session,
            sup.id,
            NoticeKind.ledger_fix_submitted,
            _params(session, item, note=data.note or "", photos=len(evidence_ids)),
            key=f"ledger:fix_submitted:{item.id}:{item.version}:{sup.id}",
        )
    return item


def _recheck_proof(session: Session, item: LedgerItem, visit_id: uuid.UUID) -> Visit:
    """The finished recheck visit ordered from this item, in which the problem was not found again."""
    visit = session.get(Visit, visit_id)
    if (
        visit is None
        or item.recheck_assignment_id is None
        or visit.assignment_id != item.recheck_assignment_id
        or visit.status != VisitStatus.submitted
    ):
        raise ValidationFailed("ledger_recheck_not_done")
    again = session.exec(
        select(Finding).where(Finding.visit_id == visit.id, Finding.category == item.category)
    ).first()
    if again is not None:
        raise Conflict("ledger_recheck_found_again")
    return visit


def verify(
    session: Session, actor: Actor, item_id: uuid.UUID, data: VerifyIn, settings: Settings | None = None
) -> LedgerItem:
    """对账销号: another person than the submitter closes the item on evidence; the outcome is applied."""
    actor.require(Role.supervisor)
    item = item_for_actor(session, actor, item_id, "verify")
    require_state(item, "verify")
    if item.state is LedgerState.fix_submitted and actor.id is not None and actor.id == item.fix_submitted_by:
        raise audit.refuse(Conflict("ledger_own_fix"), actor, "ledger.own_fix", "ledger_item", item.id)
    named = _evidence_of_household(session, item, data.evidence_ids)
    own = [e for e in item_evidence(session, item.id) if e.id not in set(data.evidence_ids)]
    proof: list[str] = [str(e.id) for e in [*named, *own] if counts_as_proof(e)]
    if data.recheck_visit_id is not None:
        proof.append(f"visit:{_recheck_proof(session, item, data.recheck_visit_id).id}")
    if not proof:
        raise ValidationFailed("ledger_evidence_required")
    old = _move(session, actor, item, "verify", data.version, closed_at=utcnow(), closed_by=actor.id)
    event(session, actor, item, "verify", old, data.note, proof)
    audit.record(session, actor, "ledger.verify", "ledger_item", item.id, evidence=proof)
    apply_outcome(session, actor, item)
    return item


def return_fix(
    session: Session, actor: Actor, item_id: uuid.UUID, reason: str, version: int | None = None
) -> LedgerItem:
    """The fix is not good enough (重新整改): back to the responsible officer with the reason."""
    actor.require(Role.supervisor)
    item = item_for_actor(session, actor, item_id, "return")
    if item.state is LedgerState.fix_submitted and actor.id is not None and actor.id == item.fix_submitted_by:
        raise Conflict("ledger_own_fix")
    old = _move(session, actor, item, "return", version, fix_submitted_by=None)
    event(session, actor, item, "return", old, reason)
    audit.record(session, actor, "ledger.return", "ledger_item", item.id, reason=reason)
    if item.responsible_user_id is not None:
        notices.emit(
            session,
            item.responsible_user_id,
            NoticeKind.ledger_returned,
            _params(session, item, reason=reason),
            key=f"ledger:returned:{item.id}:{item.version}",
        )
    return item


def reopen(
    session: Session, actor: Actor, item_id: uuid.UUID, note: str | None = None, today: date | None = None
) -> LedgerItem:
    """A closed item comes back (a recheck found the problem again) with a fresh deadline."""
    actor.require(Role.supervisor)
    return _reopen(session, actor, item_for_actor(session, actor, item_id, "reopen"), note, today)


def _reopen(
    session: Session, actor: Actor, item: LedgerItem, note: str | None, today: date | None
) -> LedgerItem:
    deadline = default_deadline(item.severity, item.route, today)
    old = _move(
        session,
        actor,
        item,
        "reopen",
        deadline=deadline,
        closed_at=None,
        closed_by=None,
        fix_submitted_by=None,
    )
    event(session, actor, item, "reopen", old, note)
    audit.record(session, actor, "ledger.reopen", "ledger_item", item.id, note=note)
    _notify_new_again(session, item)
    return item


def _notify_new_again(session: Session, item: LedgerItem) -> None:
    if item.responsible_user_id is not None:
        notices.emit(
            session,
            item.responsible_user_id,
            NoticeKind.ledger_new_item,
            _params(session, item, reopened=True),
            key=f"ledger:new:{item.id}:{item.version}",
        )


def order_recheck(session: Session, actor: Actor, item_id: uuid.UUID, data: RecheckIn) -> Assignment:
    """Orders a recheck visit of the item's household: a normal sealed assignment of a team's round."""
    actor.require(Role.supervisor)
    item = item_for_actor(session, actor, item_id, "recheck")
    team = session.get(RoundTeam, data.team_id)
    if team is None:
        raise access.missing("team")
    access.round_for_actor(session, actor, team.round_id, "recheck")
    taken = session.exec(
        select(Assignment).where(
            Assignment.round_id == team.round_id, Assignment.household_id == item.household_id
        )
    ).first()
    if taken is not None:
        raise Conflict("ledger_recheck_taken")
    check_deadline(data.visit_date)
    a = Assignment(
        round_id=team.round_id,
        team_id=team.id,
        household_id=item.household_id,
        visit_date=data.visit_date,
        status=AssignmentStatus.pending,
    )
    session.add(a)
    session.flush()
    item.recheck_assignment_id = a.id
    item.version += 1
    session.add(item)
    session.flush()
    event(session, actor, item, "recheck", item.state, note=data.visit_date.isoformat())
    audit.record(session, actor, "ledger.recheck", "ledger_item", item.id, assignment=str(a.id))
    return a


# ---- outcome on the register ----------------------------------------------------------------------


def apply_outcome(session: Session, actor: Actor, item: LedgerItem) -> dict[str, Any]:
    """Applies a verified fix's outcome to the household register (audited) so the next draw sees it."""
    out = FixOutcome.model_validate(item.outcome or {})
    h = session.get(Household, item.household_id)
    assert h is not None
    before = {"status": h.status.value, "tier": h.tier.value, "monthly_amount": str(h.monthly_amount)}
    if out.change is OutcomeChange.exit:
        h.status = HouseholdStatus.exited
    elif out.change is OutcomeChange.adjust:
        if out.tier is not None:
            h.tier = out.tier
        if out.monthly_amount is not None:
            h.monthly_amount = Decimal(out.monthly_amount)
    elif out.change is OutcomeChange.restore:
        h.status = HouseholdStatus.active
        if out.monthly_amount is not None:
            h.monthly_amount = Decimal(out.monthly_amount)
    after = {"status": h.status.value, "tier": h.tier.value, "monthly_amount": str(h.monthly_amount)}
    if after != before:
        h.updated_at = utcnow()
        session.add(h)
        session.flush()
    audit.record(
        session,
        actor,
        "household.ledger_outcome",
        "household",
        h.id,
        item=str(item.id),
        change=out.change.value,
        before=before,
        after=after,
        to_recover=str(item.money_to_recover),
        recovered=str(item.money_recovered),
        back_pay=str(out.back_pay_amount) if out.back_pay_amount is not None else None,
    )
    return after


def confirmed_findings(session: Session, item: LedgerItem) -> list[Finding]:
    """The findings on this item (confirmed or merged into a confirmed one)."""
    return list(
        session.exec(
            select(Finding)
            .where(Finding.ledger_item_id == item.id, Finding.review != FindingReview.dismissed)
            .order_by(col(Finding.created_at))
        ).all()
    )
