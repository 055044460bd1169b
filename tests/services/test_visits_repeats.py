"""The store replays a visit whose checklist has a repeat: members, their findings, a wrong member refused."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

import checklists
from contracts.visits import AnswerIn, VisitFinish, VisitStart
from models.user import Role
from models.visit import Finding, VisitStatus
from services import visits
from services.context import Actor
from services.errors import ValidationFailed
from tests.checklists.checklists_testkit import members_checklist
from tests.factories import make_household, make_user
from tests.visit_helpers import released_assignment


def _pinned(visit_checklist_id: str, version: int) -> checklists.Checklist:
    data = members_checklist().model_dump(mode="json", by_alias=True)
    return checklists.parse_checklist({**data, "id": visit_checklist_id, "version": version})


def test_store_replays_members_and_derives_member_findings(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session, "insR", Role.inspector)
    a = Actor.of(user)
    assignment = released_assignment(session, make_household(session, "LB200"), [user])
    v = visits.start_visit(session, a, VisitStart(assignment_id=assignment.id))
    cl = _pinned(v.checklist_id, v.checklist_version)
    monkeypatch.setattr(visits.checklists, "load_checklist", lambda cid, version=None: cl)
    s = checklists.answer(cl, checklists.start(cl), "size", 3)
    for step_id, value in (("members", "yes"), ("name", "甲"), ("age", 88), ("cared", "no"),
                           ("members", "yes"), ("name", "乙"), ("age", 20), ("members", "no"),
                           ("remarks", "")):  # fmt: skip
        s = checklists.answer(cl, s, step_id, value)
    sent = [AnswerIn(**x.model_dump(mode="json")) for x in s.answers]
    wrong = [*sent[:5], sent[5].model_copy(update={"item": 1}), *sent[6:]]
    with pytest.raises(ValidationFailed):
        visits.finish_visit(session, a, v.id, VisitFinish(answers=wrong))
    done = visits.finish_visit(session, a, v.id, VisitFinish(answers=sent))
    assert done.status == VisitStatus.submitted and done.outcome == "completed"
    assert [x.get("item") for x in done.answers if x["step_id"] == "name"] == [1, 2]
    found = session.exec(select(Finding).where(Finding.visit_id == v.id)).all()
    assert sorted(f.rule_id for f in found) == ["size_mismatch", "uncared"]
