"""Reading the ledger: filtered lists with keyset pagination, one item with its history."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import false, func, true
from sqlmodel import Session, col, or_, select

from contracts.ledger import (
    OPEN_STATES,
    LedgerEventOut,
    LedgerItemDetail,
    LedgerItemOut,
    LedgerRoute,
    LedgerState,
    RecheckOut,
    RecheckTeam,
)
from contracts.vocab import Severity
from models.household import Household
from models.ledger import LedgerEvent, LedgerItem
from models.round import Assignment, InspectionRound, RoundStatus, RoundTeam, TeamMember
from models.user import Role, User
from models.visit import Finding, Visit
from services import audit, evidence, ledger, rounds
from services.context import Actor
from services.errors import ValidationFailed
from services.rounds import local_today

MAX_PAGE = 500


@dataclass(frozen=True)
class LedgerFilter:
    """What a ledger list may be narrowed by (all optional)."""

    region: str | None = None  # a region code: its whole subtree
    state: LedgerState | None = None
    route: LedgerRoute | None = None
    severity: Severity | None = None
    overdue: bool | None = None
    responsible_user_id: uuid.UUID | None = None
    round_id: uuid.UUID | None = None


def encode_cursor(item: LedgerItem) -> str:
    raw = f"{item.deadline.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, uuid.UUID]:
    """The (deadline, id) a cursor names; `bad_cursor` when it is not one the list minted."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        day, item_id = raw.split("|", 1)
        return date.fromisoformat(day), uuid.UUID(item_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("bad_cursor") from exc


def list_items(
    session: Session,
    actor: Actor,
    flt: LedgerFilter,
    limit: int = 50,
    cursor: str | None = None,
    today: date | None = None,
) -> tuple[list[LedgerItemOut], str | None]:
    """A page of items in the actor's region, earliest deadline first, with the next page's cursor."""
    actor.require(*ledger.ACTING)
    today = today or local_today()
    limit = max(1, min(limit, MAX_PAGE))
    q = scoped_query(actor, flt, today)
    if cursor:
        q = after(q, *decode_cursor(cursor))
    rows = session.exec(q.order_by(col(LedgerItem.deadline), col(LedgerItem.id)).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    rows = rows[:limit]
    audit.record(session, actor, "ledger.list", "ledger_item", None, count=len(rows))
    return [to_out(session, i, h, today) for i, h in rows], next_cursor


def after(q: Any, after_day: date, after_id: uuid.UUID) -> Any:
    """The query narrowed to the rows after (deadline, id) in list order (keyset pagination)."""
    # the plain `deadline >= day` is redundant but gives the (deadline, id) index a start key: the
    # OR alone would be a filter, scanning every earlier row of a wide region again
    return q.where(
        col(LedgerItem.deadline) >= after_day,
        or_(
            col(LedgerItem.deadline) > after_day,
            (col(LedgerItem.deadline) == after_day) & (col(LedgerItem.id) > after_id),
        ),
    )


def _next_prefix(code: str) -> str | None:
    """The smallest digit string after every string that starts with `code` ('1599' → '16')."""
    stem = code.rstrip("9")
    return stem[:-1] + str(int(stem[-1]) + 1) if stem else None


def subtree(column: Any, code: str) -> Any:
    """SQL: the region code column lies in the subtree of `code`.

    A digit code becomes a range (code <= column < next prefix) that a plain btree index serves on
    both databases and in prepared (generic) plans; `LIKE code || '%'` would not, because the
    planner cannot take index bounds from a concatenation. Digits sort alike in every collation.
    """
    if not code.isdigit():
        return column.startswith(code, autoescape=True)
    upper = _next_prefix(code)
    return (column >= code) & (column < upper) if upper is not None else column >= code


def _overdue(flt: LedgerFilter, today: date) -> Any:
    """The overdue condition without repeating a state the filter already fixes: the planner would
    multiply `state = x` and `state IN (...)` as independent and badly underestimate the rows."""
    if flt.state is None:
        clause = ledger.overdue_clause(today)
        return clause if flt.overdue else ~clause
    if flt.state not in OPEN_STATES:
        return false() if flt.overdue else true()
    late = col(LedgerItem.deadline) < today
    return late if flt.overdue else ~late


def _conditions(actor: Actor, flt: LedgerFilter, today: date) -> list[Any]:
    """The WHERE terms on ledger_item of what the actor may see, narrowed by the filter."""
    out: list[Any] = []
    if actor.role == Role.officer and not actor.scope_code:
        out.append(col(LedgerItem.responsible_user_id) == actor.id)
    elif actor.role != Role.admin and actor.scope_code:
        out.append(
            or_(
                subtree(col(LedgerItem.village_code), actor.scope_code),
                col(LedgerItem.responsible_user_id) == actor.id,
            )
        )
    if flt.region:
        out.append(subtree(col(LedgerItem.village_code), flt.region))
    if flt.state is not None:
        out.append(col(LedgerItem.state) == flt.state)
    if flt.route is not None:
        out.append(col(LedgerItem.route) == flt.route)
    if flt.severity is not None:
        out.append(col(LedgerItem.severity) == flt.severity)
    if flt.overdue is not None:
        out.append(_overdue(flt, today))
    if flt.responsible_user_id is not None:
        out.append(col(LedgerItem.responsible_user_id) == flt.responsible_user_id)
    if flt.round_id is not None:
        out.append(col(LedgerItem.round_id) == flt.round_id)
    return out


def scoped_query(actor: Actor, flt: LedgerFilter, today: date) -> Any:
    """(item, household) rows the actor may see, narrowed by the filter; the caller orders and pages."""
    q = select(LedgerItem, Household).join(Household, col(Household.id) == col(LedgerItem.household_id))
    return q.where(*_conditions(actor, flt, today))


TOWNSHIP_DIGITS = 9


def overdue_by_township(
    session: Session, actor: Actor, region: str | None = None, today: date | None = None
) -> dict[str, int]:
    """How many items are overdue in each township (9-digit code) the actor sees, in one grouped query.

    Counted per village first, from the partial index of open items by (village_code, deadline)
    alone (an index-only scan in village order, no hashing of a million rows), then summed per
    township prefix. Overdue is computed against today as everywhere else, never stored.
    """
    actor.require(*ledger.ACTING)
    flt = LedgerFilter(region=region, overdue=True)
    village = col(LedgerItem.village_code)
    per_village = (
        select(village.label("village"), func.count().label("n"))
        .where(*_conditions(actor, flt, today or local_today()))
        .group_by(village)
        .subquery()
    )
    town = func.substr(per_village.c.village, 1, TOWNSHIP_DIGITS)
    rows = session.exec(select(town, func.sum(per_village.c.n)).group_by(town)).all()
    return {code: int(n) for code, n in rows}


def to_out(
    session: Session, item: LedgerItem, h: Household, today: date, findings: bool = False
) -> LedgerItemOut:
    """The API view of an item (overdue computed against today)."""
    ids = (
        [f.id for f in session.exec(select(Finding).where(Finding.ledger_item_id == item.id)).all()]
        if findings
        else []
    )
    return LedgerItemOut(
        id=item.id,
        number=item.number,
        household_id=item.household_id,
        register_no=h.register_no,
        head_name=h.head_name,
        village_code=item.village_code,
        round_id=item.round_id,
        category=item.category,
        severity=item.severity,
        route=item.route,
        state=item.state,
        responsible_region_code=item.responsible_region_code,
        responsible_user_id=item.responsible_user_id,
        measures=item.measures,
        deadline=item.deadline,
        overdue=ledger.is_overdue(item, today),
        milestones=item.milestones,
        outcome=item.outcome,
        money_to_recover=item.money_to_recover,
        money_recovered=item.money_recovered,
        months=item.months,
        finding_ids=ids,
        version=item.version,
        created_at=item.created_at,
        closed_at=item.closed_at,
    )


# history steps whose note would tell those who answer for the fix when an unannounced visit comes
SEALED_NOTES = frozenset({"recheck"})


def history(session: Session, item_id: uuid.UUID, sealed: bool = False) -> list[LedgerEventOut]:
    """The item's steps, oldest first; `sealed`: without the recheck's day (for the officers)."""
    rows = session.exec(
        select(LedgerEvent)
        .where(LedgerEvent.item_id == item_id)
        .order_by(col(LedgerEvent.at), col(LedgerEvent.id))
    ).all()
    return [
        LedgerEventOut(
            at=e.at,
            actor=e.actor,
            action=e.action,
            from_state=e.from_state,
            to_state=e.to_state,
            note=None if sealed and e.action in SEALED_NOTES else e.note,
            evidence_ids=e.evidence_ids,
        )
        for e in rows
    ]


def detail(session: Session, actor: Actor, item_id: uuid.UUID, today: date | None = None) -> LedgerItemDetail:
    """One item with its findings and history; the read is audited."""
    item = ledger.item_for_actor(session, actor, item_id)
    h = session.get(Household, item.household_id)
    assert h is not None
    audit.record(session, actor, "ledger.read", "ledger_item", item.id)
    base = to_out(session, item, h, today or local_today(), findings=True)
    shown = [evidence.to_public(e, actor.lang) for e in ledger.item_evidence(session, item.id)]
    sealed_from = actor.role not in (Role.supervisor, Role.admin)  # the officers answer for the fix
    return LedgerItemDetail(
        **base.model_dump(),
        history=history(session, item.id, sealed=sealed_from),
        evidence=shown,
        recheck=None if sealed_from else recheck_of(session, item),
    )


def recheck_of(session: Session, item: LedgerItem) -> RecheckOut | None:
    """The recheck visit last ordered from the item: assignment, team, day, and its latest visit."""
    if item.recheck_assignment_id is None:
        return None
    row = session.exec(
        select(Assignment, RoundTeam, InspectionRound)
        .join(RoundTeam, col(RoundTeam.id) == col(Assignment.team_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .where(Assignment.id == item.recheck_assignment_id)
    ).first()
    if row is None:
        return None
    a, team, r = row
    visit = session.exec(
        select(Visit).where(Visit.assignment_id == a.id).order_by(col(Visit.started_at).desc(), col(Visit.id))
    ).first()
    return RecheckOut(
        assignment_id=a.id,
        round_id=r.id,
        round_name=r.name,
        team_id=team.id,
        team_label=team.label,
        visit_date=a.visit_date,
        status=a.status,
        visit_id=visit.id if visit else None,
        visit_status=visit.status if visit else None,
    )


# rounds whose pending assignments are still released on their day (a closed round's never are)
FIELD_STATUSES = (RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
MAX_RECHECK_TEAMS = 200


def recheck_teams(session: Session, actor: Actor) -> list[RecheckTeam]:
    """Teams a recheck visit may be given to: of the rounds in the supervisor's scope still going
    into the field, newest round first. Which of them the service accepts is its own decision."""
    field = {r.id: r for r in rounds.list_rounds(session, actor) if r.status in FIELD_STATUSES}
    if not field:
        return []
    teams = session.exec(
        select(RoundTeam).where(col(RoundTeam.round_id).in_(list(field))).order_by(col(RoundTeam.number))
    ).all()
    order = {rid: n for n, rid in enumerate(field)}  # list_rounds gives the newest first
    rows = sorted(((t, field[t.round_id]) for t in teams), key=lambda tr: (order[tr[1].id], tr[0].number))
    rows = rows[:MAX_RECHECK_TEAMS]
    logins: dict[uuid.UUID, list[str]] = {t.id: [] for t, _ in rows}
    if logins:
        for team_id, login in session.exec(
            select(TeamMember.team_id, User.login)
            .join(User, col(User.id) == col(TeamMember.user_id))
            .where(col(TeamMember.team_id).in_(list(logins)))
            .order_by(col(User.login))
        ).all():
            logins[team_id].append(login)
    return [
        RecheckTeam(
            team_id=t.id, label=t.label, round_id=r.id, round_name=r.name, inspector_logins=logins[t.id]
        )
        for t, r in rows
    ]


def view(session: Session, actor: Actor, item: LedgerItem, today: date | None = None) -> LedgerItemOut:
    """The API view of an item just changed by the actor."""
    h = session.get(Household, item.household_id)
    assert h is not None
    return to_out(session, item, h, today or local_today(), findings=True)
