"""The household case table through the store: finish a visit with each case's answers and read back
exactly its leads, findings, flags and conclusion, compared with the register the store holds."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

import checklists
from contracts.telegram import NoticeKind
from contracts.visits import AnswerIn, VisitFinish, VisitStart
from models.audit import AuditEvent
from models.notice import Notice
from models.user import Role
from models.visit import Finding
from services import evidence, visits
from services.config import Settings
from services.context import Actor
from tests.checklists.household_cases import CASES, REGISTER, Case, play
from tests.factories import make_household, make_id, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

HOME = (43.98, 119.38)


def _months_ago(n: int) -> date:
    today = date.today()
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return date(y, m + 1, 1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_store_replay_yields_the_case(session: Session, settings: Settings, case: Case) -> None:
    inspector = make_user(session, "insA", Role.inspector)
    make_user(session, "sup", Role.supervisor)
    reg = case.register
    idn = make_id(random.Random(case.name))
    h = make_household(
        session,
        "LB-CASE",
        id_number=idn,
        size=int(reg["reg_covered"]),
        cadre_relative=reg["reg_cadre_relative"] == "yes",
        last_review_date=_months_ago(int(reg["reg_review_months"])),
    )
    h.monthly_amount = Decimal(str(reg["reg_amount"]))
    session.add(h)
    session.flush()
    a = released_assignment(session, h, [inspector])
    actor = Actor.of(inspector)
    v = visits.start_visit(session, actor, VisitStart(assignment_id=a.id))
    ev = evidence.add_evidence(session, actor, settings, v.id, jpeg_with_gps(*HOME), "telegram_document")
    # the household's real ID ends as the register says; the case's typed digits match the register's
    script: dict[str, Any] = dict(case.script)
    if script.get("id_last4") == REGISTER["reg_id_last4"]:
        script["id_last4"] = idn[-4:]
    state, _ = play(checklists.load_checklist("home_visit"), script)
    answers = [
        AnswerIn(step_id=x.step_id, value=x.value, evidence=[str(ev.id)] if x.evidence else [], item=x.item)
        for x in state.answers
    ]
    done = visits.finish_visit(session, actor, v.id, VisitFinish(answers=answers))
    assert done.outcome == case.outcome
    public = visits.to_public(session, done, "zh-CN")
    assert sorted(f.rule_id for f in public.findings if f.kind == "finding") == sorted(case.findings)
    assert sorted(f.rule_id for f in public.findings if f.kind == "lead") == sorted(case.leads)
    assert [f["code"] for f in done.flags if f.get("source") == "checklist"] == case.flags
    assert public.conclusion is not None
    assert public.conclusion.model_dump(mode="json", exclude_none=True) == dict(case.conclusion)
    rows = session.exec(select(Finding).where(Finding.visit_id == v.id)).all()
    assert not {r.rule_id for r in rows} & set(case.flags)  # flags never land on the household
    # the ledger's review reads the stored kind: leads go to a township officer, findings further
    assert sorted(r.rule_id for r in rows if r.kind == "lead") == sorted(case.leads)
    assert sorted(r.rule_id for r in rows if r.kind == "finding") == sorted(case.findings)
    alerts = session.exec(select(Notice).where(Notice.kind == NoticeKind.serious_findings)).all()
    assert bool(alerts) == any(f in {"money_withheld", "paid_after_death"} for f in case.findings)
    compared = session.exec(select(AuditEvent).where(AuditEvent.action == "household.id_compare")).all()
    assert bool(compared) == ("id_last4" in script)
