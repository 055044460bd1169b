"""A visit's structured conclusion pre-fills the ledger item its finding opens; a verified close
applies the outcome to the register (audited), so the next draw sees it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from contracts.households import Tier
from contracts.ledger import FixIn, LedgerRoute, VerifyIn
from contracts.vocab import FindingCategory, Severity
from models.audit import AuditEvent
from models.household import Household, HouseholdStatus
from models.ledger import LedgerEvent, LedgerItem
from models.user import Role
from models.visit import Finding, Visit, VisitStatus
from services import findings_review, ledger
from tests.factories import make_user
from tests.ledger_helpers import Cast, cast, evidence_of


def _visit_finding(
    s: Session, c: Cast, conclusion: dict[str, Any] | None, category: FindingCategory
) -> Finding:
    """A submitted visit with this conclusion and a pending finding derived from it."""
    ins = make_user(s, f"ins-{c.household.register_no}", Role.inspector)
    v = Visit(
        household_id=c.household.id, inspector_id=ins.id, status=VisitStatus.submitted, conclusion=conclusion
    )
    s.add(v)
    s.flush()
    f = Finding(
        visit_id=v.id,
        household_id=c.household.id,
        rule_id="test",
        category=category,
        severity=Severity.high,
        message_zh="收入超标",
        message_en="income above the line",
    )
    s.add(f)
    s.flush()
    return f


def _confirm(s: Session, c: Cast, conclusion: dict[str, Any] | None, category: FindingCategory) -> LedgerItem:
    return findings_review.confirm(s, c.sup, _visit_finding(s, c, conclusion, category).id)


def test_removal_prefills_exit_months_and_money_and_the_close_exits_the_household(session: Session) -> None:
    c = cast(session, "LBP1")
    conclusion = {"decision": "remove", "overpaid_months": 6, "overpaid_amount": 3360.0}
    item = _confirm(session, c, conclusion, FindingCategory.NOT_ELIGIBLE)
    assert item.route is LedgerRoute.fix_by_deadline
    assert item.outcome == {"change": "exit", "months": 6, "amount_to_recover": "3360.00"}
    assert item.months == 6 and item.money_to_recover == Decimal("3360.00")
    actions = session.exec(select(LedgerEvent.action).where(LedgerEvent.item_id == item.id)).all()
    assert list(actions) == ["open", "prefill"]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.prefill")).first() is not None
    # the fix keeps the pre-filled outcome when it names none; a verified close applies it
    ev = evidence_of(session, c.household, n=51)
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="已停发并追缴", evidence_ids=[ev.id]))
    assert item.outcome["change"] == "exit"
    ledger.verify(session, c.sup2, item.id, VerifyIn(evidence_ids=[ev.id]))
    h = session.get(Household, c.household.id)
    assert h is not None and h.status is HouseholdStatus.exited
    applied = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "household.ledger_outcome", AuditEvent.entity_id == str(h.id)
        )
    ).first()
    assert applied is not None and applied.details["after"]["status"] == "exited"


def test_tier_change_prefills_the_new_tier(session: Session) -> None:
    c = cast(session, "LBP2")
    item = _confirm(session, c, {"decision": "adjust_tier", "new_tier": "特困"}, FindingCategory.NOT_ELIGIBLE)
    assert item.route is LedgerRoute.fix_by_deadline
    assert item.outcome == {"change": "adjust", "tier": "特困"}
    ev = evidence_of(session, c.household, n=52)
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="已调档", evidence_ids=[ev.id]))
    ledger.verify(session, c.sup2, item.id, VerifyIn(evidence_ids=[ev.id]))
    h = session.get(Household, c.household.id)
    assert h is not None and h.tier is Tier.extreme


def test_referral_goes_to_discipline_inspection_with_the_money(session: Session) -> None:
    c = cast(session, "LBP3")
    conclusion = {
        "decision": "refer",
        "overpaid_months": 12,
        "overpaid_amount": 6720.0,
        "back_pay_amount": 0.0,
    }
    item = _confirm(session, c, conclusion, FindingCategory.NOT_ELIGIBLE)
    assert item.route is LedgerRoute.discipline
    assert item.outcome == {"change": "recover", "months": 12, "amount_to_recover": "6720.00"}


def test_back_pay_prefills_what_is_owed(session: Session) -> None:
    c = cast(session, "LBP4")
    item = _confirm(
        session, c, {"decision": "back_pay", "back_pay_amount": 1120.5}, FindingCategory.FUNDS_MISUSE
    )
    assert item.route is LedgerRoute.fix_by_deadline  # the team's decision, not the category's default
    assert item.outcome == {"change": "restore", "back_pay_amount": "1120.50"}
    assert item.money_to_recover == Decimal("0")


def test_no_prefill_for_eligible_recheck_or_a_visit_without_conclusion(session: Session) -> None:
    for n, conclusion in enumerate(({"decision": "eligible"}, {"decision": "recheck"}, None)):
        c = cast(session, f"LBP5{n}")
        item = _confirm(session, c, conclusion, FindingCategory.FAVOUR)
        assert item.route is LedgerRoute.discipline and item.outcome == {} and item.months is None
