"""Targeted checks (定向核查): from a case, a visit to the household it is about.

The visit rides the same rails as a drawn one, so nothing about sealing, the inspector's list, the
visit flow or its findings is special: the check is a one-household round of type `targeted`
(created dispatched, never drawn or committed), one team, one assignment. The assignment is sealed
(no `released_at`) until its visit day comes; then it is released like any other (at once when
ordered for today, else by the daily release pass). When the visit is submitted its outcome and
findings come back to the case, and the case moves to investigating.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from contracts.case_links import CheckFinding, CheckOrder, CheckPublic
from contracts.residents import CaseState
from models.application import Case
from models.case_link import CaseCheck
from models.household import Household, HouseholdMember
from models.round import (
    Assignment,
    AssignmentStatus,
    InspectionRound,
    RoundStatus,
    RoundTeam,
    RoundType,
    TeamMember,
)
from models.types import utcnow
from models.user import Role, User
from models.visit import Finding, Visit
from services import audit, cases
from services.access import missing
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, ValidationFailed
from services.rounds import local_today

CHECKLIST = "home_visit"
SYSTEM = "system:case-checks"
# a check moves a case that nobody is working on yet to investigating
_TO_INVESTIGATING = (CaseState.received, CaseState.assigned, CaseState.reopened)
MAX_DAYS_AHEAD = 90  # a check is ordered for a visit soon; a later day is a typo


def _pending(session: Session, case_id: uuid.UUID, day: date) -> bool:
    """Whether a check of the case for that day still waits for its visit (ordering it again is a double
    submission; a check for another day is a new order)."""
    q = (
        select(CaseCheck.id)
        .join(Assignment, col(Assignment.id) == col(CaseCheck.assignment_id))
        .join(InspectionRound, col(InspectionRound.id) == col(CaseCheck.round_id))
        .where(
            CaseCheck.case_id == case_id,
            CaseCheck.visit_date == day,
            col(CaseCheck.finished_at).is_(None),
            Assignment.status != AssignmentStatus.done,
            InspectionRound.status != RoundStatus.closed,
        )
    )
    return session.exec(q).first() is not None


def _investigating(session: Session, case: Case) -> None:
    if case.state in _TO_INVESTIGATING:
        case.state = CaseState.investigating
        case.updated_at = utcnow()
        session.add(case)


def _conflicts(session: Session, household: Household, team: list[User]) -> list[str]:
    """The hard assignment rules the team breaks for this household (own township, declared relative)."""
    hashes = {household.head_id_hash} | set(
        session.exec(
            select(HouseholdMember.id_hash).where(HouseholdMember.household_id == household.id)
        ).all()
    )
    hashes.discard(None)
    out: list[str] = []
    if any(u.home_township_code == household.township_code for u in team):
        out.append("own_township")
    if any(set(u.relative_id_hashes or []) & hashes for u in team):
        out.append("declared_relative")
    return out


def order_check(
    session: Session, actor: Actor, settings: Settings, case_id: uuid.UUID, order: CheckOrder
) -> CaseCheck:
    """Orders a sealed visit of the case's household by a team of two or more inspectors; audited."""
    case = cases.get_for_staff(session, actor, case_id)
    if case.state == CaseState.closed:
        raise Conflict("case_closed")
    if case.household_id is None:
        raise Conflict("case_no_household")
    household = session.get(Household, case.household_id)
    if household is None:
        raise missing("household")
    actor.require_scope(household.village_code, "住户")
    today = local_today(settings)
    day = order.visit_date or today
    if day < today:
        raise ValidationFailed("check_date_past")
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationFailed("check_date_far", days=MAX_DAYS_AHEAD)
    ids = list(dict.fromkeys(order.inspector_ids))
    team = list(session.exec(select(User).where(col(User.id).in_(ids))).all())
    if len(ids) < 2 or len(team) != len(ids) or any(u.role != Role.inspector or not u.active for u in team):
        raise ValidationFailed("check_bad_team")
    broken = _conflicts(session, household, team)
    if broken:
        raise Conflict("check_conflict_of_interest", rule=", ".join(broken))
    # the case's row is locked until the unit commits: two orders sent at once cannot both pass
    session.exec(select(Case.id).where(Case.id == case.id).with_for_update())
    if _pending(session, case.id, day):
        raise Conflict("check_pending", date=day.isoformat())
    now = utcnow()
    r = InspectionRound(
        name=f"定向核查 {case.number}"[:100],
        type=RoundType.targeted,
        scope_code=household.village_code,
        window_start=day,
        window_end=day,
        checklist_ids=[CHECKLIST],
        params={"case_id": str(case.id)},
        created_by=actor.label[:80],
        status=RoundStatus.dispatched,
        frame_size=1,
        sample_size=1,
        dispatched_at=now,
    )
    session.add(r)
    session.flush()
    t = RoundTeam(round_id=r.id, number=1, label="第1组")
    session.add(t)
    session.flush()
    for u in team:
        session.add(TeamMember(team_id=t.id, user_id=u.id))
    due = day <= today
    a = Assignment(
        round_id=r.id,
        team_id=t.id,
        household_id=household.id,
        visit_date=day,
        status=AssignmentStatus.released if due else AssignmentStatus.pending,
        released_at=now if due else None,
    )
    session.add(a)
    session.flush()
    check = CaseCheck(
        case_id=case.id,
        household_id=household.id,
        round_id=r.id,
        assignment_id=a.id,
        visit_date=day,
        ordered_by=actor.label[:80],
    )
    session.add(check)
    _investigating(session, case)
    session.flush()
    audit.record(
        session,
        actor,
        "case.check_ordered",
        "case",
        case.id,
        check=str(check.id),
        household=str(household.id),
        assignment=str(a.id),
        visit_date=day.isoformat(),
        inspectors=sorted(str(u.id) for u in team),
        released=due,
    )
    return check


def visit_finished(session: Session, visit: Visit) -> CaseCheck | None:
    """Brings a submitted visit's outcome and findings back to the case that ordered it (if one did)."""
    if visit.assignment_id is None:
        return None
    check = session.exec(select(CaseCheck).where(CaseCheck.assignment_id == visit.assignment_id)).first()
    if check is None:
        return None
    found = session.exec(select(Finding).where(Finding.visit_id == visit.id)).all()
    check.visit_id = visit.id
    check.finished_at = visit.finished_at
    check.outcome = visit.outcome.value if visit.outcome else None
    check.findings = len(found)
    check.result = {
        "conclusion": visit.conclusion,
        "flags": [str(f.get("code")) for f in visit.flags],
        "rules": sorted(f.rule_id for f in found),
    }
    session.add(check)
    case = session.get(Case, check.case_id)
    if case is not None:
        _investigating(session, case)
    session.flush()
    audit.record(
        session,
        SYSTEM,
        "case.check_result",
        "case",
        check.case_id,
        check=str(check.id),
        visit=str(visit.id),
        outcome=check.outcome,
        findings=check.findings,
    )
    return check


def _publics(session: Session, where: Any, lang: str) -> list[CheckPublic]:
    rows = list(
        session.exec(
            select(CaseCheck, Assignment, Household)
            .join(Assignment, col(Assignment.id) == col(CaseCheck.assignment_id))
            .join(Household, col(Household.id) == col(CaseCheck.household_id))
            .where(where)
            .order_by(col(CaseCheck.ordered_at))
        ).all()
    )
    visit_ids = [c.visit_id for c, _, _ in rows if c.visit_id is not None]
    findings: dict[uuid.UUID, list[CheckFinding]] = {}
    for f in session.exec(
        select(Finding).where(col(Finding.visit_id).in_(visit_ids)).order_by(col(Finding.created_at))
    ).all():
        if f.visit_id is None:
            continue
        findings.setdefault(f.visit_id, []).append(
            CheckFinding(
                rule_id=f.rule_id,
                category=f.category.value,
                severity=f.severity.value,
                kind=f.kind.value,
                message=f.message_en if lang == "en" else f.message_zh,
            )
        )
    return [
        CheckPublic(
            id=c.id,
            case_id=c.case_id,
            household_id=c.household_id,
            register_no=h.register_no,
            round_id=c.round_id,
            assignment_id=c.assignment_id,
            assignment_status=a.status,
            visit_date=c.visit_date,
            ordered_by=c.ordered_by,
            ordered_at=c.ordered_at,
            visit_id=c.visit_id,
            finished_at=c.finished_at,
            outcome=c.outcome,
            findings=findings.get(c.visit_id, []) if c.visit_id else [],
        )
        for c, a, h in rows
    ]


def order(
    session: Session, actor: Actor, settings: Settings, case_id: uuid.UUID, data: CheckOrder, lang: str
) -> CheckPublic:
    """`order_check`, answered as the API shows a check."""
    check = order_check(session, actor, settings, case_id, data)
    return _publics(session, CaseCheck.id == check.id, lang)[0]


def checks_of(session: Session, actor: Actor, case_id: uuid.UUID, lang: str) -> list[CheckPublic]:
    """The case's targeted checks with their visits' findings; audited."""
    case = cases.get_for_staff(session, actor, case_id)
    out = _publics(session, CaseCheck.case_id == case.id, lang)
    audit.record(session, actor, "case.checks_read", "case", case.id, count=len(out))
    return out
