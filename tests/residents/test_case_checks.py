"""Targeted checks: a case orders a sealed visit of its household; the visit's findings come back
to the case (service level end to end, and through the API; SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

import checklists
from contracts.case_links import CheckOrder
from contracts.residents import CaseCategory, CaseSource, CaseState
from contracts.rounds import RoundCreate
from contracts.visits import AnswerIn, VisitFinish, VisitStart
from models.application import Case
from models.audit import AuditEvent
from models.case_link import CaseCheck
from models.household import Household
from models.round import Assignment, AssignmentStatus, InspectionRound, RoundType
from models.types import utcnow
from models.user import Role, User
from services import case_checks, evidence, round_dispatch, visits
from services.config import Settings
from services.context import Actor
from services.errors import Conflict, ValidationFailed
from services.residents_codes import new_number
from services.rounds import local_today
from tests.checklists.checklists_testkit import walk
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps

HOME = (43.98, 119.38)
API = "/api/v1"


def _case(session: Session, household: Household | None) -> Case:
    c = Case(
        number=new_number("AJ"),
        source=CaseSource.hotline,
        category=CaseCategory.payment,
        text="村干部拿着我家的低保卡",
        household_id=household.id if household else None,
        village_code=household.village_code if household else None,
        due_on=date.today() + timedelta(days=15),
    )
    session.add(c)
    session.flush()
    return c


def _team(session: Session) -> tuple[User, User]:
    return make_user(session, "insA", Role.inspector), make_user(session, "insB", Role.inspector)


def _finish_with_cadre_card(
    session: Session, settings: Settings, actor: Actor, assignment_id: object
) -> None:
    v = visits.start_visit(session, actor, VisitStart(assignment_id=assignment_id))  # type: ignore[arg-type]
    cl = checklists.load_checklist("home_visit")
    card_step = next(s for s in cl.steps if "card" in s.id and s.kind.value == "choice")
    cadre = next(c.id for c in card_step.choices if "cadre" in c.id)
    ev = evidence.add_evidence(session, actor, settings, v.id, jpeg_with_gps(*HOME), "telegram_document")
    state = walk(cl, {card_step.id: cadre})
    answers = [
        AnswerIn(step_id=a.step_id, value=a.value, evidence=[str(ev.id)] if a.evidence else [])
        for a in state.answers
    ]
    visits.finish_visit(session, actor, v.id, VisitFinish(answers=answers))


def test_a_case_orders_a_sealed_visit_and_gets_its_findings(session: Session, settings: Settings) -> None:
    h = make_household(session)
    a, b = _team(session)
    sup = Actor.of(make_user(session, "sup", Role.supervisor, scope_code=h.county_code))
    case = _case(session, h)
    # a visit for a later day stays sealed: not on the inspectors' lists
    later = case_checks.order(
        session,
        sup,
        settings,
        case.id,
        CheckOrder(inspector_ids=[a.id, b.id], visit_date=local_today() + timedelta(days=2)),
        "zh-CN",
    )
    assert later.assignment_status == AssignmentStatus.pending
    assert session.get(Assignment, later.assignment_id).released_at is None  # type: ignore[union-attr]
    assert round_dispatch.my_assignments(session, Actor.of(a)) == []
    assert session.get(Case, case.id).state == CaseState.investigating  # type: ignore[union-attr]
    r = session.get(InspectionRound, later.round_id)
    assert r is not None and r.type == RoundType.targeted and r.params["case_id"] == str(case.id)
    # today's is released at once, to the team only
    check = case_checks.order(
        session, sup, settings, case.id, CheckOrder(inspector_ids=[a.id, b.id]), "zh-CN"
    )
    mine = round_dispatch.my_assignments(session, Actor.of(a))
    assert [m.id for m in mine] == [check.assignment_id] and mine[0].round_type == RoundType.targeted
    assert mine[0].head_name != h.head_name  # masked like any assignment
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "case.check_ordered")).all()
    assert len(event) == 2 and event[-1].entity_id == str(case.id)

    _finish_with_cadre_card(session, settings, Actor.of(a), check.assignment_id)
    row = session.exec(select(CaseCheck).where(CaseCheck.id == check.id)).one()
    assert row.visit_id is not None and row.outcome == "completed" and row.findings >= 1
    shown = {c.id: c for c in case_checks.checks_of(session, sup, case.id, "zh-CN")}
    done = shown[check.id]
    assert done.visit_id == row.visit_id and done.assignment_status == AssignmentStatus.done
    assert any(f.category == "funds_misuse" for f in done.findings)
    assert shown[later.id].visit_id is None and shown[later.id].findings == []
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "case.check_result")).one()
    # the daily release pass opens the later one when its day comes
    round_dispatch.release_due(session, now=utcnow() + timedelta(days=2), settings=settings)
    assert session.get(Assignment, later.assignment_id).released_at is not None  # type: ignore[union-attr]


def test_a_check_needs_a_household_a_team_of_two_and_no_conflict(
    session: Session, settings: Settings
) -> None:
    h = make_household(session)
    a, b = _team(session)
    local = make_user(session, "insLocal", Role.inspector, home_township_code=h.township_code)
    sup = Actor.of(make_user(session, "sup", Role.supervisor, scope_code=h.county_code))
    with pytest.raises(Conflict, match="household"):
        case_checks.order_check(
            session, sup, settings, _case(session, None).id, CheckOrder(inspector_ids=[a.id, b.id])
        )
    case = _case(session, h)
    with pytest.raises(ValidationFailed):
        case_checks.order_check(session, sup, settings, case.id, CheckOrder(inspector_ids=[a.id, sup.id]))  # type: ignore[list-item]
    with pytest.raises(Conflict) as err:
        case_checks.order_check(session, sup, settings, case.id, CheckOrder(inspector_ids=[a.id, local.id]))
    assert err.value.params["rule"] == "own_township"
    with pytest.raises(ValidationFailed):
        case_checks.order_check(
            session,
            sup,
            settings,
            case.id,
            CheckOrder(inspector_ids=[a.id, b.id], visit_date=local_today() - timedelta(days=1)),
        )
    assert session.exec(select(CaseCheck)).all() == []
    with pytest.raises(ValueError):
        RoundCreate(
            name="x",
            type=RoundType.targeted,
            scope_code="150422",
            window_start=date.today(),
            window_end=date.today(),
        )


def test_repeats_and_checks_through_the_api(client, session: Session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    h = make_household(session)
    a, b = _team(session)
    make_user(session, "sup", Role.supervisor, scope_code=h.county_code)
    make_user(session, "far", Role.supervisor, scope_code="150423")
    first = _case(session, h)
    again = _case(session, None)
    session.commit()
    sup, far = auth_headers(client, "sup"), auth_headers(client, "far")
    # naming the household links the repeat to the open case
    r = client.put(f"{API}/cases/{again.id}/household", json={"household_id": str(h.id)}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["primary"]["primary_number"] == first.number and not r.json()["repeat_flag"]
    assert r.json()["household_complaints"] == 2
    links = client.get(f"{API}/cases/{first.id}/links", headers=sup).json()
    assert [x["case_number"] for x in links["repeats"]] == [again.number]
    assert client.get(f"{API}/cases/{first.id}/links", headers=far).status_code == 403
    undo = client.delete(f"{API}/cases/{again.id}/link", headers=sup)
    assert undo.status_code == 200 and undo.json()["undone_by"] == "supervisor:sup"
    twice = client.delete(f"{API}/cases/{again.id}/link", headers=sup)
    assert twice.status_code == 409 and twice.headers["content-type"].startswith("application/problem+json")
    # a targeted check from the case
    bad = client.post(f"{API}/cases/{first.id}/checks", json={"inspector_ids": [str(a.id)]}, headers=sup)
    assert bad.status_code == 422
    made = client.post(
        f"{API}/cases/{first.id}/checks", json={"inspector_ids": [str(a.id), str(b.id)]}, headers=sup
    )
    assert made.status_code == 201, made.text
    assert made.json()["assignment_status"] == "released" and made.json()["register_no"] == h.register_no
    listed = client.get(f"{API}/cases/{first.id}/checks", headers=sup)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [made.json()["id"]]
    assert client.get(f"{API}/cases/{first.id}", headers=sup).json()["state"] == "investigating"
