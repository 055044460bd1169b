"""Access rules: who may see or act on a round, an assignment, a visit, a household or its evidence.

Scope is by role and region (`Actor.sees`). A record the actor may not see is answered as absent
(a hidden 404), so probing cannot tell a sealed record from a missing one. Refusals of sealed
records are audited: they raise errors carrying a `Refusal` (`audit.refuse`), which the edge writes
in a transaction of its own after rolling the request back.
"""

from __future__ import annotations

import uuid
from typing import NoReturn

from sqlmodel import Session

from models.evidence import Evidence
from models.household import Household
from models.ledger import LedgerItem
from models.round import Assignment, InspectionRound, TeamMember
from models.user import Role
from models.visit import Visit, VisitStatus
from services import audit
from services.context import Actor
from services.errors import Forbidden, NotFound

# How a 404 names each kind of record; a hidden record and a missing one get the very same problem.
_ENTITY_NAMES = {
    "visit": "走访 visit",
    "evidence": "证据 evidence",
    "household": "住户 household",
    "assignment": "任务 assignment",
    "ledger_item": "台账事项 ledger item",
    "finding": "问题 finding",
    "team": "小组 team",
    "cadre": "干部申报 cadre declaration",
}


def missing(entity: str) -> NotFound:
    """The 404 for a record of this kind that does not exist (or that the actor may not see)."""
    return NotFound(entity=_ENTITY_NAMES.get(entity, entity))


def deny(actor: Actor, action: str, entity: str, entity_id: object, hidden: bool) -> NoReturn:
    """Refuses an attempt on a sealed record: a hidden 404 (or a 403), the attempt audited."""
    error: Forbidden | NotFound = missing(entity) if hidden else Forbidden()
    raise audit.refuse(error, actor, f"{entity}.denied", entity, entity_id, attempted=action)


def round_for_actor(session: Session, actor: Actor, round_id: uuid.UUID, action: str) -> InspectionRound:
    """The round if the actor is a supervisor whose scope holds it; denials are audited."""
    if actor.role not in (Role.admin, Role.supervisor):
        deny(actor, action, "round", round_id, hidden=False)
    r = session.get(InspectionRound, round_id)
    if r is None or not actor.sees(r.scope_code):
        deny(actor, action, "round", round_id, hidden=True)
    return r


def is_member(session: Session, actor: Actor, a: Assignment) -> bool:
    """Whether the actor belongs to the team the assignment is given to."""
    return actor.id is not None and session.get(TeamMember, (a.team_id, actor.id)) is not None


def assignment_to_mark(session: Session, actor: Actor, assignment_id: uuid.UUID) -> Assignment:
    """A released assignment the actor may move on: its team's members, supervisors in scope, admins."""
    a = session.get(Assignment, assignment_id)
    member = a is not None and is_member(session, actor, a)
    if a is None or a.released_at is None or not (member or actor.role in (Role.admin, Role.supervisor)):
        deny(actor, "mark", "assignment", assignment_id, hidden=True)
    if actor.role == Role.supervisor and not member:
        round_for_actor(session, actor, a.round_id, "mark")
    return a


def assignment_for_visit(session: Session, actor: Actor, assignment_id: uuid.UUID) -> Assignment:
    """The released assignment of the actor's team (anything else is a hidden 404, audited)."""
    a = session.get(Assignment, assignment_id)
    if a is None or a.released_at is None or not is_member(session, actor, a):
        raise audit.refuse(missing("assignment"), actor, "visit.denied", "assignment", assignment_id)
    return a


def _may_see_visit(session: Session, actor: Actor, visit: Visit, write: bool) -> bool:
    """Participants, teammates while it is in progress, and (reading) supervisors whose scope holds it."""
    if actor.role in (Role.admin, Role.supervisor) and not write:
        household = session.get(Household, visit.household_id)
        return actor.sees(household.village_code if household else None)
    if str(actor.id) in visit.participants:
        return True
    if visit.assignment_id and actor.id and visit.status == VisitStatus.in_progress:
        a = session.get(Assignment, visit.assignment_id)
        return a is not None and is_member(session, actor, a)
    return False


def visit_for_actor(session: Session, actor: Actor, visit_id: uuid.UUID, write: bool) -> Visit:
    """The visit if the actor may see it; a hidden one answers the same 404 as a missing one (audited)."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise missing("visit")
    if not _may_see_visit(session, actor, visit, write):
        raise audit.refuse(missing("visit"), actor, "visit.denied", "visit", visit_id)
    return visit


def evidence_for_actor(session: Session, actor: Actor, evidence_id: uuid.UUID) -> Evidence:
    """Evidence the actor may see: whoever may see its visit, or for a fix's photo its ledger item
    (else the evidence's own 404, audited)."""
    ev = session.get(Evidence, evidence_id)
    if ev is None:
        raise missing("evidence")
    if ev.visit_id is None:
        from services import ledger  # the ledger's access rules build on this module

        item = session.get(LedgerItem, ev.ledger_item_id) if ev.ledger_item_id is not None else None
        if item is None or not ledger.may_see(actor, item):
            raise audit.refuse(missing("evidence"), actor, "evidence.denied", "evidence", evidence_id)
        return ev
    visit = session.get(Visit, ev.visit_id)
    if visit is None or not _may_see_visit(session, actor, visit, write=False):
        raise audit.refuse(missing("evidence"), actor, "evidence.denied", "evidence", evidence_id)
    return ev


def household_for_actor(session: Session, actor: Actor, household_id: uuid.UUID) -> Household:
    """A household inside a supervisor's scope (a hidden 404 otherwise, audited)."""
    actor.require(Role.supervisor)
    h = session.get(Household, household_id)
    if h is None:
        raise missing("household")
    if not actor.sees(h.village_code):
        raise audit.refuse(missing("household"), actor, "household.denied", "household", household_id)
    return h
