from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

import checklists
from contracts.visits import AnswerIn, EventBatch, LocationEvent, StepTimeEvent, VisitFinish, VisitStart
from models.round import Assignment, AssignmentStatus
from models.types import utcnow
from models.user import Role, User
from models.visit import Finding, VisitStatus
from services import evidence, visits
from services.config import Settings
from services.context import Actor
from services.errors import NotFound, ValidationFailed
from tests.checklists.checklists_testkit import walk
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

HOME = (43.98, 119.38)


@pytest.fixture
def team(session: Session):  # type: ignore[no-untyped-def]
    a = make_user(session, "insA", Role.inspector)
    b = make_user(session, "insB", Role.inspector)
    h = make_household(session, "LB100")
    assignment = released_assignment(session, h, [a, b])
    return Actor.of(a), Actor.of(b), h, assignment


def _answers_with_photos(session: Session, settings: Settings, actor: Actor, visit_id, script):  # type: ignore[no-untyped-def]
    cl = checklists.load_checklist("home_visit")
    ev = evidence.add_evidence(session, actor, settings, visit_id, jpeg_with_gps(*HOME), "telegram_document")
    state = walk(cl, script)
    return [
        {"step_id": a.step_id, "value": a.value, "evidence": [str(ev.id)] if a.evidence else []}
        for a in state.answers
    ], ev


def test_start_join_events_and_finish(session: Session, settings: Settings, team) -> None:  # type: ignore[no-untyped-def]
    a, b, _h, assignment = team
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    joined = visits.start_visit(session, b, VisitStart(assignment_id=assignment.id))
    assert joined.id == v.id and set(joined.participants) == {str(a.id), str(b.id)}
    now = utcnow()
    visits.add_events(
        session,
        a,
        v.id,
        EventBatch(
            events=[
                LocationEvent(lat=HOME[0] + 0.0003, lon=HOME[1], at=now, accuracy_m=10, live=True),
                LocationEvent(
                    lat=HOME[0], lon=HOME[1], at=now + timedelta(seconds=5), accuracy_m=0, live=True
                ),
                LocationEvent(lat=HOME[0] + 1, lon=HOME[1], at=now + timedelta(seconds=10), live=True),
                LocationEvent(lat=HOME[0], lon=HOME[1], at=now, forwarded=True),
                StepTimeEvent(step_id="entered", seconds=12.5),
            ]
        ),
    )
    session.refresh(v)
    assert v.checkin["status"] == "on_site" and v.checkin["distance_m"] < 60
    codes = {f["code"] for f in v.flags}
    assert {"accuracy_zero", "jump", "forwarded_location"} <= codes
    answers, ev = _answers_with_photos(session, settings, a, v.id, {})
    assert ev.site == "on_site" and ev.fresh and not ev.reused
    done = visits.finish_visit(
        session,
        b,
        v.id,
        VisitFinish(answers=[AnswerIn(**x) for x in answers], client_findings=[{"category": "made_up"}]),
    )
    assert done.status == VisitStatus.submitted and done.outcome == "completed"
    assert all(p["status"] == "proven" for p in done.core_proof.values()), done.core_proof
    assert session.get(Assignment, assignment.id).status == AssignmentStatus.done  # type: ignore[union-attr]
    assert {f["code"] for f in done.flags} >= {"rushed"}


def test_cadre_holds_card_yields_stored_finding(session: Session, settings: Settings, team) -> None:  # type: ignore[no-untyped-def]
    a, _, _, assignment = team
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    cl = checklists.load_checklist("home_visit")
    card_step = next(s for s in cl.steps if "card" in s.id and s.kind.value == "choice")
    cadre = next(c.id for c in card_step.choices if "cadre" in c.id)
    answers, _ = _answers_with_photos(session, settings, a, v.id, {card_step.id: cadre})
    visits.finish_visit(session, a, v.id, VisitFinish(answers=[AnswerIn(**x) for x in answers]))
    found = session.exec(select(Finding).where(Finding.visit_id == v.id)).all()
    assert any(f.category == "funds_misuse" for f in found), [f.category for f in found]


def test_not_home_is_a_revisit_and_bad_answers_are_refused(
    session: Session, settings: Settings, team
) -> None:  # type: ignore[no-untyped-def]
    a, _, _, assignment = team
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    cl = checklists.load_checklist("home_visit")
    with pytest.raises(ValidationFailed):
        visits.finish_visit(session, a, v.id, VisitFinish(answers=[AnswerIn(step_id="nope", value=1)]))
    with pytest.raises(ValidationFailed):
        visits.finish_visit(session, a, v.id, VisitFinish(answers=[]))
    ev = evidence.add_evidence(session, a, settings, v.id, jpeg_with_gps(*HOME, seed=5), "telegram_document")
    state = walk(cl, {"household_status": "not_home"})
    answers = [
        AnswerIn(step_id=x.step_id, value=x.value, evidence=[str(ev.id)] if x.evidence else [])
        for x in state.answers
    ]
    done = visits.finish_visit(session, a, v.id, VisitFinish(answers=answers))
    assert done.outcome == "revisit"
    assert session.get(Assignment, assignment.id).status == AssignmentStatus.revisit  # type: ignore[union-attr]


def test_outsiders_cannot_touch_a_visit(session: Session, team) -> None:  # type: ignore[no-untyped-def]
    a, _, _, assignment = team
    other = Actor.of(make_user(session, "insC", Role.inspector))
    with pytest.raises(NotFound):
        visits.start_visit(session, other, VisitStart(assignment_id=assignment.id))
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    with pytest.raises(NotFound):
        visits.get_visit(session, other, v.id)


def test_reused_photo_is_caught_across_households(session: Session, settings: Settings, team) -> None:  # type: ignore[no-untyped-def]
    a, _, _, assignment = team
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    photo = jpeg_with_gps(*HOME, seed=9)
    first = evidence.add_evidence(session, a, settings, v.id, photo, "telegram_document")
    again = evidence.add_evidence(session, a, settings, v.id, photo, "telegram_document")
    assert again.id == first.id  # same bytes, same visit: stored once
    h2 = make_household(session, "LB200")
    a2 = released_assignment(session, h2, [session.get(User, a.id)])  # type: ignore[list-item]
    v2 = visits.start_visit(session, a, VisitStart(assignment_id=a2.id))
    reused = evidence.add_evidence(session, a, settings, v2.id, photo, "telegram_document")
    assert reused.reused and reused.verdict["reused_in"][0]["visit_id"] == str(v.id)
    assert evidence.proof_for(session, v2, [str(reused.id)])["reason"] == "reused"
    assert list(evidence.verify_store(settings)) == []


def test_event_times_in_the_future_beyond_the_clock_skew_are_refused(
    session: Session, settings: Settings, team
) -> None:  # type: ignore[no-untyped-def]
    a, _b, _h, assignment = team
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    now = utcnow()
    ahead = now + timedelta(minutes=36)  # a phone clock 36 minutes fast
    with pytest.raises(ValidationFailed) as err:
        visits.add_events(
            session,
            a,
            v.id,
            EventBatch(
                events=[
                    LocationEvent(lat=HOME[0], lon=HOME[1], at=now, live=True),
                    LocationEvent(lat=HOME[0], lon=HOME[1], at=ahead, live=True),
                ]
            ),
        )
    assert err.value.code == "event_in_future" and "120 s" in err.value.message("en")
    session.refresh(v)
    assert v.track == []  # nothing of the refused batch is kept
    # a small skew (a phone a minute fast) is accepted; a time taken offline long ago too
    visits.add_events(
        session,
        a,
        v.id,
        EventBatch(
            events=[
                LocationEvent(lat=HOME[0], lon=HOME[1], at=now + timedelta(seconds=60), live=True),
                LocationEvent(lat=HOME[0], lon=HOME[1], at=now - timedelta(minutes=40), live=True),
            ]
        ),
    )
    answers, _ev = _answers_with_photos(session, settings, a, v.id, {})
    finish = VisitFinish(answers=[AnswerIn(**x) for x in answers], finished_at=ahead)
    with pytest.raises(ValidationFailed) as err:
        visits.finish_visit(session, a, v.id, finish)
    assert err.value.code == "event_in_future"
    assert "finished_at" in err.value.message("en") and "时间" in err.value.message("zh-CN")
    sent = utcnow() - timedelta(minutes=5)
    done = visits.finish_visit(
        session, a, v.id, VisitFinish(answers=[AnswerIn(**x) for x in answers], finished_at=sent)
    )
    assert done.status == VisitStatus.submitted and done.finished_at is not None
    assert abs((done.finished_at.replace(tzinfo=None) - sent.replace(tzinfo=None)).total_seconds()) < 1
