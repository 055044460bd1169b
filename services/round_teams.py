"""A round's teams: forming them, assigning the drawn households under the hard rules, swaps."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from contracts.rounds import AssignmentPublic, TeamPublic
from models.household import Household, HouseholdMember
from models.round import (
    Assignment,
    AssignmentStatus,
    InspectionRound,
    RoundSample,
    RoundStatus,
    RoundTeam,
    TeamMember,
)
from models.types import utcnow
from models.user import Role, User
from models.visit import Visit
from services import access, audit
from services import assignments as assign_core
from services.cipher import get_cipher
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, NotFound, ValidationFailed
from services.rounds import coverage_report, expect_status, touch

DEFAULT_TEAM_SIZE = 2


# ---- assignment ---------------------------------------------------------------------------------


def _inspectors(session: Session, ids: Sequence[uuid.UUID] | None) -> list[User]:
    q = select(User).where(User.role == Role.inspector, col(User.active).is_(True))
    if ids is not None:
        q = q.where(col(User.id).in_(list(ids)))
    users = list(session.exec(q.order_by(col(User.login))).all())
    if ids is not None:
        missing = set(ids) - {u.id for u in users}
        if missing:
            raise ValidationFailed("unknown_inspector", id=", ".join(sorted(str(m) for m in missing)))
    return users


def _facts(u: User) -> assign_core.InspectorFacts:
    return assign_core.InspectorFacts(str(u.id), u.home_township_code, frozenset(u.relative_id_hashes or []))


def _household_facts(
    session: Session, r: InspectionRound, ids: Sequence[uuid.UUID]
) -> list[assign_core.HouseholdFacts]:
    hh = {h.id: h for h in session.exec(select(Household).where(col(Household.id).in_(list(ids)))).all()}
    hashes: dict[uuid.UUID, set[str]] = defaultdict(set)
    keyring = get_cipher()
    for hid, idh, enc in session.exec(
        select(HouseholdMember.household_id, HouseholdMember.id_hash, HouseholdMember.id_enc).where(
            col(HouseholdMember.household_id).in_(list(ids))
        )
    ).all():
        if idh:
            hashes[hid].add(idh)
        if keyring.old and enc:
            # during a key rotation a declared relative's hash may be under any configured key
            hashes[hid].update(keyring.lookup_hashes(keyring.decrypt(enc)))
    previous = previous_inspectors(session, r, ids)
    out: list[assign_core.HouseholdFacts] = []
    for hid in ids:
        h = hh[hid]
        mine = set(hashes[hid])
        if h.head_id_hash:
            mine.add(h.head_id_hash)
        if keyring.old and h.head_id_enc:
            mine.update(keyring.lookup_hashes(keyring.decrypt(h.head_id_enc)))
        out.append(
            assign_core.HouseholdFacts(
                str(h.id),
                h.township_code,
                h.village_code,
                h.lat,
                h.lon,
                frozenset(mine),
                frozenset(str(p) for p in previous.get(hid, ())),
            )
        )
    return out


def previous_inspectors(
    session: Session, r: InspectionRound, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Per household, the inspectors of its latest earlier round's team plus its latest recorded visit."""
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    rows = session.exec(
        select(Assignment.household_id, Assignment.round_id, TeamMember.user_id, InspectionRound.created_at)
        .join(TeamMember, col(TeamMember.team_id) == col(Assignment.team_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .where(col(Assignment.household_id).in_(list(ids)), Assignment.round_id != r.id)
        .where(col(InspectionRound.created_at) <= r.created_at)
    ).all()
    latest: dict[uuid.UUID, tuple[datetime, uuid.UUID]] = {}
    for hid, rid, _uid, created in rows:
        if hid not in latest or created > latest[hid][0]:
            latest[hid] = (created, rid)
    for hid, rid, uid, _created in rows:
        if latest[hid][1] == rid:
            out[hid].add(uid)
    visits = session.exec(
        select(Visit.household_id, Visit.inspector_id, Visit.started_at)
        .where(col(Visit.household_id).in_(list(ids)))
        .order_by(col(Visit.started_at))
    ).all()
    last_visit = {hid: uid for hid, uid, _ in visits}
    for hid, uid in last_visit.items():
        out[hid].add(uid)
    return out


@dataclass
class AssignReport:
    """What assignment did: teams, loads, households nobody may take and why."""

    round_id: uuid.UUID
    teams: list[TeamPublic]
    assigned: int
    unassignable: list[dict[str, Any]]
    coverage: dict[str, Any]


def assign_round(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    inspector_ids: Sequence[uuid.UUID] | None = None,
    teams: Sequence[Sequence[uuid.UUID]] | None = None,
    team_size: int = DEFAULT_TEAM_SIZE,
    visits_per_day: int = 6,
    settings: Settings | None = None,
) -> AssignReport:
    """Forms teams (or takes them as given) and assigns the sample under the hard rules (re-runnable)."""
    r = access.round_for_actor(session, actor, round_id, "assign")
    expect_status(r, "assign", RoundStatus.drawn, RoundStatus.assigned)
    if team_size < 2:
        raise ValidationFailed("team_too_small", size=2)
    _clear_assignments(session, r)
    if teams:
        if any(len(t) < 2 for t in teams):
            raise ValidationFailed("team_too_small", size=2)
        users = {u.id: u for u in _inspectors(session, [i for t in teams for i in t])}
        groups = [tuple(_facts(users[i]) for i in t) for t in teams]
    else:
        groups = assign_core.form_teams([_facts(u) for u in _inspectors(session, inspector_ids)], team_size)
    if not groups:
        raise ValidationFailed("too_few_inspectors", needed=team_size)
    samples = list(session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all())
    facts = _household_facts(session, r, [s.household_id for s in samples])
    plan = assign_core.plan(facts, groups)
    team_rows: list[RoundTeam] = []
    for k, group in enumerate(groups, start=1):
        team = RoundTeam(round_id=r.id, number=k, label=f"第{k}组")
        session.add(team)
        team_rows.append(team)
        session.flush()
        for m in group:
            session.add(TeamMember(team_id=team.id, user_id=uuid.UUID(m.id)))
    for t, hids in enumerate(plan.routes):
        dates = assign_core.schedule(len(hids), r.window_start, r.window_end, visits_per_day)
        for order, (hid, day) in enumerate(zip(hids, dates, strict=True), start=1):
            session.add(
                Assignment(
                    round_id=r.id,
                    team_id=team_rows[t].id,
                    household_id=uuid.UUID(hid),
                    visit_date=day,
                    route_order=order,
                    leg_m=plan.legs_m.get(hid),
                )
            )
    for s in samples:
        rules = plan.unassignable.get(str(s.household_id))
        s.blocked_rule = ",".join(rules) if rules else None
    facts_by_id = {f.id: f for f in facts}
    covered = {facts_by_id[h].township for route in plan.routes for h in route}
    report = coverage_report(session, r, covered, "assigned", settings)
    r.assigned_at = utcnow()
    touch(r, RoundStatus.assigned)
    session.flush()
    unassignable = [{"household_id": hid, "rules": rules} for hid, rules in sorted(plan.unassignable.items())]
    audit.record(
        session,
        actor,
        "round.assign",
        "round",
        r.id,
        teams=len(groups),
        assigned=sum(map(len, plan.routes)),
        unassignable=unassignable,
        coverage=report,
    )
    return AssignReport(r.id, list_teams(session, r.id), sum(map(len, plan.routes)), unassignable, report)


def _clear_assignments(session: Session, r: InspectionRound) -> None:
    for a in session.exec(select(Assignment).where(Assignment.round_id == r.id)).all():
        session.delete(a)
    session.flush()
    for t in session.exec(select(RoundTeam).where(RoundTeam.round_id == r.id)).all():
        for m in session.exec(select(TeamMember).where(TeamMember.team_id == t.id)).all():
            session.delete(m)
        session.delete(t)
    session.flush()


def list_teams(session: Session, round_id: uuid.UUID) -> list[TeamPublic]:
    """The round's teams with members and loads."""
    teams = session.exec(
        select(RoundTeam).where(RoundTeam.round_id == round_id).order_by(col(RoundTeam.number))
    ).all()
    out: list[TeamPublic] = []
    for t in teams:
        members = session.exec(
            select(User)
            .join(TeamMember, col(TeamMember.user_id) == col(User.id))
            .where(TeamMember.team_id == t.id)
            .order_by(col(User.login))
        ).all()
        load = session.exec(
            select(func.count()).select_from(Assignment).where(Assignment.team_id == t.id)
        ).one()
        out.append(
            TeamPublic(
                id=t.id,
                number=t.number,
                label=t.label,
                inspector_ids=[m.id for m in members],
                inspector_logins=[m.login for m in members],
                load=int(load),
            )
        )
    return out


def get_teams(session: Session, actor: Actor, round_id: uuid.UUID) -> list[TeamPublic]:
    """The teams of a round (supervisors in scope)."""
    r = access.round_for_actor(session, actor, round_id, "teams.view")
    return list_teams(session, r.id)


def list_assignments(session: Session, actor: Actor, round_id: uuid.UUID) -> list[AssignmentPublic]:
    """Every assignment of the round (sealed; audited)."""
    r = access.round_for_actor(session, actor, round_id, "assignments.view")
    rows = session.exec(
        select(Assignment, Household, RoundTeam)
        .join(Household, col(Household.id) == col(Assignment.household_id))
        .join(RoundTeam, col(RoundTeam.id) == col(Assignment.team_id))
        .where(Assignment.round_id == r.id)
        .order_by(col(RoundTeam.number), col(Assignment.route_order))
    ).all()
    audit.record(session, actor, "round.assignments.view", "round", r.id, count=len(rows))
    return [
        AssignmentPublic(
            id=a.id,
            team_id=a.team_id,
            team_number=t.number,
            household_id=h.id,
            register_no=h.register_no,
            head_name=h.head_name,
            village_code=h.village_code,
            visit_date=a.visit_date,
            route_order=a.route_order,
            leg_m=a.leg_m,
            status=a.status,
            released_at=a.released_at,
        )
        for a, h, t in rows
    ]


def _team_facts(session: Session, team_id: uuid.UUID) -> assign_core.Team:
    users = session.exec(
        select(User)
        .join(TeamMember, col(TeamMember.user_id) == col(User.id))
        .where(TeamMember.team_id == team_id)
    ).all()
    return tuple(_facts(u) for u in users)


def swap(
    session: Session,
    actor: Actor,
    round_id: uuid.UUID,
    assignment_id: uuid.UUID,
    team_id: uuid.UUID | None = None,
    other_assignment_id: uuid.UUID | None = None,
) -> list[Assignment]:
    """Moves an assignment to another team, or exchanges two assignments' teams, within the hard rules."""
    r = access.round_for_actor(session, actor, round_id, "swap")
    expect_status(r, "swap", RoundStatus.assigned, RoundStatus.dispatched, RoundStatus.in_field)
    a = session.get(Assignment, assignment_id)
    if a is None or a.round_id != r.id:
        raise NotFound(entity="assignment")
    moves: list[tuple[Assignment, uuid.UUID]] = []
    if other_assignment_id is not None:
        b = session.get(Assignment, other_assignment_id)
        if b is None or b.round_id != r.id:
            raise NotFound(entity="assignment")
        moves = [(a, b.team_id), (b, a.team_id)]
    elif team_id is not None:
        team = session.get(RoundTeam, team_id)
        if team is None or team.round_id != r.id:
            raise NotFound(entity="team")
        moves = [(a, team.id)]
    else:
        raise ValidationFailed(detail="give team_id or other_assignment_id")
    for x, _ in moves:
        if x.status != AssignmentStatus.pending:
            raise Conflict("swap_not_pending")
    for x, target in moves:
        facts = _household_facts(session, r, [x.household_id])[0]
        broken = assign_core.violations(facts, _team_facts(session, target))
        if broken:
            raise Conflict("swap_violates", rules=", ".join(broken))
    before = {str(x.id): str(x.team_id) for x, _ in moves}
    for x, target in moves:
        x.team_id = target
        x.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "round.swap",
        "round",
        r.id,
        moves=[{"assignment": str(x.id), "from": before[str(x.id)], "to": str(t)} for x, t in moves],
    )
    return [x for x, _ in moves]


# ---- lookups for the CLI ------------------------------------------------------------------------


def inspector_ids(session: Session, logins: Sequence[str]) -> list[uuid.UUID]:
    """User ids for inspector logins, refusing unknown ones."""
    users = {u.login: u.id for u in session.exec(select(User).where(col(User.login).in_(list(logins)))).all()}
    missing = [x for x in logins if x not in users]
    if missing:
        raise ValidationFailed("unknown_inspector", id=", ".join(missing))
    return [users[x] for x in logins]
