"""Dispatch and release of a round's assignments, and the inspector's own list.

Hook for notices: `dispatch` and `release_due` set `released_at` on each assignment they release and
return one `Release` per inspector; `releases_since` replays the same grouping from the stored
timestamps, so a notifier that polls never misses or repeats a release.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from contracts.rounds import MyAssignment
from models.db import try_xact_lock
from models.household import Household
from models.region import Region
from models.round import Assignment, AssignmentStatus, InspectionRound, RoundStatus, RoundTeam, TeamMember
from models.types import utcnow
from models.user import Role, User
from services import access, audit
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, Forbidden
from services.pii import mask_name
from services.rounds import enforce_coverage, expect_status, local_today, touch

# ---- dispatch and release -----------------------------------------------------------------------


@dataclass
class Release:
    """Assignments released to one inspector in one round at one moment (what a notice is built from)."""

    inspector_id: uuid.UUID
    inspector_login: str
    telegram_user_id: int | None
    round_id: uuid.UUID
    round_name: str
    assignment_ids: list[uuid.UUID] = field(default_factory=list)
    visit_dates: list[date] = field(default_factory=list)
    released_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class DispatchReport:
    """What a dispatch released, per inspector."""

    round_id: uuid.UUID
    day: date
    released: int
    releases: list[Release]


def _release(
    session: Session,
    rounds: Sequence[InspectionRound],
    day: date,
    now: datetime,
    team_id: uuid.UUID | None = None,
) -> list[Assignment]:
    if not rounds:
        return []
    q = select(Assignment).where(
        col(Assignment.round_id).in_([r.id for r in rounds]),
        Assignment.status == AssignmentStatus.pending,
        col(Assignment.visit_date) <= day,
    )
    if team_id is not None:
        q = q.where(Assignment.team_id == team_id)
    out = list(session.exec(q).all())
    for a in out:
        a.status = AssignmentStatus.released
        a.released_at = now
        a.updated_at = now
    session.flush()
    return out


def _group_releases(session: Session, released: Sequence[Assignment]) -> list[Release]:
    if not released:
        return []
    team_ids = {a.team_id for a in released}
    members = session.exec(
        select(TeamMember.team_id, User)
        .join(User, col(User.id) == col(TeamMember.user_id))
        .where(col(TeamMember.team_id).in_(list(team_ids)))
    ).all()
    by_team: dict[uuid.UUID, list[User]] = defaultdict(list)
    for tid, u in members:
        by_team[tid].append(u)
    names = {
        r.id: r.name
        for r in session.exec(
            select(InspectionRound).where(col(InspectionRound.id).in_(list({a.round_id for a in released})))
        ).all()
    }
    out: dict[tuple[uuid.UUID, uuid.UUID, datetime | None], Release] = {}
    for a in sorted(released, key=lambda a: (a.visit_date, a.route_order)):
        for u in by_team[a.team_id]:
            key = (u.id, a.round_id, a.released_at)
            rel = out.get(key)
            if rel is None:
                rel = out[key] = Release(
                    u.id,
                    u.login,
                    u.telegram_user_id,
                    a.round_id,
                    names[a.round_id],
                    released_at=a.released_at,
                )
            rel.assignment_ids.append(a.id)
            if a.visit_date not in rel.visit_dates:
                rel.visit_dates.append(a.visit_date)
    return sorted(out.values(), key=lambda x: (x.released_at or utcnow(), x.inspector_login))


def dispatch(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    day: date | None = None,
    team_id: uuid.UUID | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> DispatchReport:
    """Opens the round for the field and releases the assignments due by `day` (never a future day)."""
    r = access.round_for_actor(session, actor, round_id, "dispatch")
    expect_status(r, "dispatch", RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
    now = now or utcnow()
    today = local_today(settings, now)
    day = day or today
    if day > today:
        raise Conflict("dispatch_future_day", day=day.isoformat())
    if r.status == RoundStatus.assigned:
        enforce_coverage(
            r.coverage.get("assigned")
            or {
                "ok": False,
                "townships_covered": 0,
                "townships_in_scope": 0,
                "share": 0.0,
                "required_share": r.coverage_target,
            },
            settings,
        )
        r.dispatched_at = now
        touch(r, RoundStatus.dispatched)
    released = _release(session, [r], day, now, team_id)
    releases = _group_releases(session, released)
    audit.record(
        session,
        actor,
        "round.dispatch",
        "round",
        r.id,
        day=day.isoformat(),
        team=str(team_id) if team_id else None,
        released=len(released),
        inspectors=sorted({str(x.inspector_id) for x in releases}),
    )
    return DispatchReport(r.id, day, len(released), releases)


def release_due(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> list[Release]:
    """Releases, in every dispatched round, the assignments whose visit day has come (run it daily)."""
    now = now or utcnow()
    rounds = list(
        session.exec(
            select(InspectionRound).where(
                col(InspectionRound.status).in_([RoundStatus.dispatched, RoundStatus.in_field])
            )
        ).all()
    )
    released = _release(session, rounds, local_today(settings, now), now)
    releases = _group_releases(session, released)
    if released:
        audit.record(
            session,
            "system:scheduler",
            "round.release",
            "round",
            None,
            released=len(released),
            rounds=sorted({str(a.round_id) for a in released}),
        )
    return releases


# The advisory lock key of the daily release pass (any constant unique among the store's locks).
RELEASE_LOCK = 0x46_4A_52_4C  # "FJRL"


def release_due_once(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> list[Release] | None:
    """`release_due` under the store-wide release lock (PostgreSQL advisory, held to the commit): with
    several API workers each runs the timer, one pass at a time releases, the others skip (None)."""
    if not try_xact_lock(session, RELEASE_LOCK):
        return None
    return release_due(session, now, settings)


def releases_since(session: Session, actor: Actor, since: datetime) -> list[Release]:
    """Releases after a moment, per inspector (for the notifier: poll with the last seen released_at)."""
    actor.require(Role.supervisor)
    q = select(Assignment).where(col(Assignment.released_at) > since)
    rows = list(session.exec(q).all())
    if actor.role != Role.admin and actor.scope_code:
        scoped = {
            r.id
            for r in session.exec(
                select(InspectionRound).where(col(InspectionRound.scope_code).startswith(actor.scope_code))
            ).all()
        }
        rows = [a for a in rows if a.round_id in scoped]
    return _group_releases(session, rows)


# ---- the inspector's view ----------------------------------------------------------------------


def _mine_query(actor: Actor) -> Any:
    return (
        select(Assignment, Household, InspectionRound, RoundTeam)
        .join(TeamMember, col(TeamMember.team_id) == col(Assignment.team_id))
        .join(Household, col(Household.id) == col(Assignment.household_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .join(RoundTeam, col(RoundTeam.id) == col(Assignment.team_id))
        .where(TeamMember.user_id == actor.id, col(Assignment.released_at).is_not(None))
    )


def _my_view(session: Session, actor: Actor, rows: Sequence[Any]) -> list[MyAssignment]:
    villages = {
        reg.code: reg.name
        for reg in session.exec(
            select(Region).where(col(Region.code).in_(list({h.village_code for _, h, _, _ in rows})))
        ).all()
    }
    teams = {t.id for _, _, _, t in rows}
    mates: dict[uuid.UUID, list[str]] = defaultdict(list)
    for tid, name in session.exec(
        select(TeamMember.team_id, User.name)
        .join(User, col(User.id) == col(TeamMember.user_id))
        .where(col(TeamMember.team_id).in_(list(teams)), TeamMember.user_id != actor.id)
    ).all():
        mates[tid].append(name)
    return [
        MyAssignment(
            id=a.id,
            round_id=r.id,
            round_name=r.name,
            round_type=r.type,
            checklist_ids=list(r.checklist_ids or []),
            household_id=h.id,
            register_no=h.register_no,
            head_name=mask_name(h.head_name),
            village_code=h.village_code,
            village_name=villages.get(h.village_code),
            address=h.address,
            lat=h.lat,
            lon=h.lon,
            datum=h.datum,
            visit_date=a.visit_date,
            route_order=a.route_order,
            leg_m=a.leg_m,
            status=a.status,
            released_at=a.released_at,
            team_number=t.number,
            teammates=sorted(mates[t.id]),
        )
        for a, h, r, t in rows
    ]


def my_assignments(
    session: Session, actor: Actor, released_since: datetime | None = None, include_closed: bool = False
) -> list[MyAssignment]:
    """The signed-in inspector's released assignments (masked names), by day and route order; audited."""
    if actor.id is None:
        raise Forbidden()
    q = _mine_query(actor)
    if not include_closed:
        q = q.where(InspectionRound.status != RoundStatus.closed)
    if released_since is not None:
        q = q.where(col(Assignment.released_at) > released_since)
    rows = session.exec(q.order_by(col(Assignment.visit_date), col(Assignment.route_order))).all()
    audit.record(session, actor, "assignment.list_mine", "assignment", None, count=len(rows))
    return _my_view(session, actor, rows)


def my_assignment(session: Session, actor: Actor, assignment_id: uuid.UUID) -> MyAssignment:
    """One of the inspector's released assignments; anything else is 404 and the attempt is audited."""
    row = session.exec(_mine_query(actor).where(Assignment.id == assignment_id)).first() if actor.id else None
    if row is None:
        access.deny(actor, "read", "assignment", assignment_id, hidden=True)
    audit.record(session, actor, "assignment.read", "assignment", assignment_id)
    return _my_view(session, actor, [row])[0]


_TRANSITIONS: dict[AssignmentStatus, set[AssignmentStatus]] = {
    AssignmentStatus.released: {AssignmentStatus.in_progress, AssignmentStatus.done},
    AssignmentStatus.in_progress: {AssignmentStatus.done, AssignmentStatus.revisit},
    AssignmentStatus.revisit: {AssignmentStatus.in_progress, AssignmentStatus.done},
    AssignmentStatus.done: {AssignmentStatus.revisit},
}


def mark_assignment(
    session: Session, actor: Actor, assignment_id: uuid.UUID, status: AssignmentStatus
) -> Assignment:
    """Moves a released assignment on (visit flow: in_progress → done / revisit); the round goes in_field."""
    a = access.assignment_to_mark(session, actor, assignment_id)
    if status not in _TRANSITIONS.get(a.status, set()):
        raise Conflict("assignment_bad_transition", old=a.status.value, new=status.value)
    old = a.status
    a.status = status
    a.updated_at = utcnow()
    r = session.get(InspectionRound, a.round_id)
    if r is not None and r.status == RoundStatus.dispatched:
        touch(r, RoundStatus.in_field)
    session.flush()
    audit.record(session, actor, "assignment.mark", "assignment", a.id, old=old.value, new=status.value)
    return a
