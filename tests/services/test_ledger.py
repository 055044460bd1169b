from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from contracts.ledger import (
    FindingKind,
    FindingReview,
    FixIn,
    FixOutcome,
    ItemUpdateIn,
    LedgerRoute,
    LedgerState,
    ManualFindingIn,
    Milestone,
    OutcomeChange,
    VerifyIn,
    VisitReview,
    VisitReviewIn,
)
from contracts.telegram import NoticeKind
from contracts.vocab import FindingCategory, Severity
from models.audit import AuditEvent
from models.household import HouseholdStatus, Tier
from models.ledger import LedgerEvent, LedgerItem
from models.notice import Notice
from models.visit import Visit, VisitStatus
from services import findings_review, ledger, ledger_queries, workdays
from services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.rounds import local_today
from tests.factories import make_household, make_user
from tests.ledger_helpers import cast, evidence_of, finding


def _item(session: Session, c, **kw) -> LedgerItem:  # type: ignore[no-untyped-def]
    f = finding(session, c.sup, c.household, **kw)
    return findings_review.confirm(session, c.sup, f.id)


def _submitted(session: Session, c, outcome: FixOutcome | None = None) -> LedgerItem:  # type: ignore[no-untyped-def]
    item = _item(session, c)
    ledger.start(session, c.officer, item.id)
    ev = evidence_of(session, c.household)
    return ledger.submit_fix(
        session,
        c.officer,
        item.id,
        FixIn(note="已整改", evidence_ids=[ev.id], outcome=outcome or FixOutcome()),
    )


def _notices(session: Session, kind: NoticeKind) -> list[Notice]:
    return list(session.exec(select(Notice).where(Notice.kind == kind)).all())


# ---- deadlines -------------------------------------------------------------------------------


def test_working_days_skip_national_day_and_count_make_up_days() -> None:
    # 2026: 1–7 October off; Sunday 20 September and Saturday 10 October are make-up workdays
    assert workdays.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert workdays.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert workdays.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_working_days_across_spring_festival() -> None:
    # Saturday 14 February 2026 is a make-up workday; 15–23 February are the holiday
    assert workdays.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert workdays.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_year_without_official_calendar_falls_back_to_weekdays() -> None:
    assert not workdays.calendar_known(date(2099, 1, 1))
    assert workdays.add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Friday → Monday


def test_default_deadline_by_severity_and_route(settings) -> None:  # type: ignore[no-untyped-def]
    start = date(2026, 9, 30)
    settings.ledger_days_high = 3
    assert ledger.default_deadline(Severity.high, LedgerRoute.fix_by_deadline, start, settings) == date(
        2026, 10, 10
    )
    settings.ledger_days_fix_now = 1
    assert ledger.default_deadline(Severity.low, LedgerRoute.fix_now, start, settings) == date(2026, 10, 8)


def test_deadline_in_the_past_is_refused(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    with pytest.raises(ValidationFailed) as exc:
        ledger.update_item(session, c.sup, item.id, ItemUpdateIn(deadline=local_today() - timedelta(days=1)))
    assert exc.value.code == "ledger_deadline_past"
    with pytest.raises(ValidationFailed):
        ledger.update_item(
            session,
            c.sup,
            item.id,
            ItemUpdateIn(milestones=[Milestone(title="补材料", due=local_today() - timedelta(days=2))]),
        )
    later = local_today() + timedelta(days=40)
    done = ledger.update_item(
        session,
        c.sup,
        item.id,
        ItemUpdateIn(
            deadline=later,
            route=LedgerRoute.transfer,
            measures="移交人社部门核实就业",
            milestones=[Milestone(title="核实收入", due=later - timedelta(days=10))],
        ),
    )
    assert done.deadline == later and done.route is LedgerRoute.transfer and len(done.milestones) == 1


# ---- review ----------------------------------------------------------------------------------


def test_confirm_opens_an_item_with_officer_deadline_and_notice(session: Session) -> None:
    c = cast(session)
    f = finding(session, c.sup, c.household)
    item = findings_review.confirm(session, c.sup, f.id)
    assert item.state is LedgerState.open and item.responsible_user_id == c.officer_user.id
    assert item.responsible_region_code == c.household.township_code
    assert item.deadline == ledger.default_deadline(Severity.high, LedgerRoute.fix_by_deadline)
    assert f.review is FindingReview.confirmed and f.ledger_item_id == item.id
    new = _notices(session, NoticeKind.ledger_new_item)
    assert [n.recipient_id for n in new] == [c.officer_user.id]


def test_favour_goes_to_discipline_inspection(session: Session) -> None:
    c = cast(session)
    item = _item(session, c, category=FindingCategory.FAVOUR)
    assert item.route is LedgerRoute.discipline


def test_one_item_per_household_and_category_and_merge(session: Session) -> None:
    c = cast(session)
    a = finding(session, c.sup, c.household)
    b = finding(session, c.sup, c.household)
    other = finding(session, c.sup, c.household, category=FindingCategory.NOT_NOTICED)
    merged = findings_review.merge(session, c.sup, b.id, a.id, "两次走访同一问题")
    assert merged.review is FindingReview.merged and merged.merged_into_id == a.id
    item = findings_review.confirm(session, c.sup, a.id)
    assert b.ledger_item_id == item.id
    with pytest.raises(ValidationFailed):
        findings_review.merge(session, c.sup, other.id, a.id)
    third = finding(session, c.sup, c.household, severity=Severity.low)
    assert findings_review.confirm(session, c.sup, third.id).id == item.id
    assert findings_review.confirm(session, c.sup, other.id).id != item.id
    assert (
        session.exec(select(LedgerItem).where(LedgerItem.household_id == c.household.id)).all().__len__() == 2
    )


def test_dismiss_keeps_reason_and_refuses_a_second_review(session: Session) -> None:
    c = cast(session)
    f = finding(session, c.sup, c.household)
    with pytest.raises(ValidationFailed):
        findings_review.dismiss(session, c.sup, f.id, "  ")
    findings_review.dismiss(session, c.sup, f.id, "电话核实：已就业前已申报")
    assert f.review is FindingReview.dismissed and f.review_reason
    with pytest.raises(Conflict):
        findings_review.confirm(session, c.sup, f.id)
    assert findings_review.list_findings(session, c.sup) == []
    listed = findings_review.list_findings(session, c.sup, review=FindingReview.dismissed)
    assert [x.id for x in listed] == [f.id]


def test_officer_reviews_leads_only_in_own_region(session: Session) -> None:
    c = cast(session)
    real = finding(session, c.sup, c.household)
    lead = findings_review.add_manual(
        session,
        c.sup,
        ManualFindingIn(
            household_id=c.household.id,
            category=FindingCategory.MISSED,
            severity=Severity.medium,
            kind=FindingKind.lead,
            text="疑似漏保",
        ),
    )
    assert [x.id for x in findings_review.list_findings(session, c.officer)] == [lead.id]
    with pytest.raises(Forbidden):
        findings_review.confirm(session, c.officer, real.id)
    assert findings_review.confirm(session, c.officer, lead.id).category is FindingCategory.MISSED
    far = make_household(session, "LB701", village="150422101200")
    far_lead = findings_review.add_manual(
        session,
        c.sup,
        ManualFindingIn(
            household_id=far.id,
            category=FindingCategory.MISSED,
            severity=Severity.low,
            kind=FindingKind.lead,
            text="x",
        ),
    )
    with pytest.raises(NotFound):
        findings_review.dismiss(session, c.officer, far_lead.id, "不是我的")


def test_visit_review_accept_and_send_back(session: Session) -> None:
    c = cast(session)
    ins = make_user(
        session,
        "ins-review",
    )
    v = Visit(household_id=c.household.id, inspector_id=ins.id, status=VisitStatus.in_progress)
    session.add(v)
    session.flush()
    with pytest.raises(Conflict):
        findings_review.review_visit(session, c.sup, v.id, VisitReviewIn(review=VisitReview.accepted))
    v.status, v.finished_at = VisitStatus.submitted, v.started_at
    session.add(v)
    with pytest.raises(ValidationFailed):
        findings_review.review_visit(session, c.sup, v.id, VisitReviewIn(review=VisitReview.sent_back))
    done = findings_review.review_visit(
        session, c.sup, v.id, VisitReviewIn(review=VisitReview.sent_back, reason="未见户主本人")
    )
    assert done.review is VisitReview.sent_back and done.review_reason == "未见户主本人"


# ---- transitions -------------------------------------------------------------------------------


def test_full_loop_with_history_and_outcome_applied(session: Session) -> None:
    c = cast(session)
    item = _submitted(
        session, c, FixOutcome(change=OutcomeChange.exit, months=5, amount_to_recover=Decimal("2800"))
    )
    assert item.state is LedgerState.fix_submitted and item.fix_submitted_by == c.officer_user.id
    assert item.money_to_recover == Decimal("2800.00")
    assert _notices(session, NoticeKind.ledger_fix_submitted)  # the supervisors are told
    ev = evidence_of(session, c.household, n=2)
    closed = ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[ev.id], note="核验属实"))
    assert closed.state is LedgerState.closed and closed.closed_by == c.sup.id and closed.closed_at
    session.refresh(c.household)
    assert c.household.status is HouseholdStatus.exited
    steps = session.exec(select(LedgerEvent).where(LedgerEvent.item_id == item.id)).all()
    assert [s.action for s in sorted(steps, key=lambda s: s.at)] == ["open", "start", "submit_fix", "verify"]
    audited = session.exec(select(AuditEvent).where(AuditEvent.action == "household.ledger_outcome")).all()
    assert audited and audited[-1].details["after"]["status"] == "exited"
    detail = ledger_queries.detail(session, c.sup, item.id)
    assert [h.to_state for h in detail.history][-1] is LedgerState.closed


def test_adjust_outcome_changes_tier_and_amount(session: Session) -> None:
    c = cast(session)
    outcome = FixOutcome(
        change=OutcomeChange.adjust, tier=Tier.fairly.value, monthly_amount=Decimal("420.00")
    )
    item = _submitted(session, c, outcome)
    ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[evidence_of(session, c.household, n=3).id]))
    session.refresh(c.household)
    assert c.household.tier is Tier.fairly and c.household.monthly_amount == Decimal("420.00")


def test_illegal_moves_are_refused(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    ev = evidence_of(session, c.household)
    with pytest.raises(Conflict) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[ev.id]))
    assert exc.value.code == "ledger_bad_transition"
    with pytest.raises(Conflict):
        ledger.return_fix(session, c.sup, item.id, "不行")
    with pytest.raises(Conflict):
        ledger.reopen(session, c.sup, item.id)
    ledger.start(session, c.officer, item.id)
    with pytest.raises(Conflict):
        ledger.start(session, c.officer, item.id)
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="done"))
    with pytest.raises(Conflict):
        ledger.submit_fix(session, c.officer, item.id, FixIn(note="again"))
    with pytest.raises(Forbidden):
        ledger.verify(session, c.officer, item.id, VerifyIn(evidence_ids=[ev.id]))


def test_return_then_fix_again_then_close_then_reopen(session: Session) -> None:
    c = cast(session)
    item = _submitted(session, c)
    returned = ledger.return_fix(session, c.sup, item.id, "照片看不清")
    assert returned.state is LedgerState.returned and returned.fix_submitted_by is None
    assert [n.params["reason"] for n in _notices(session, NoticeKind.ledger_returned)] == ["照片看不清"]
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="重新整改"))
    ev = evidence_of(session, c.household, n=4)
    ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[ev.id]))
    # a later recheck finds the same problem again: confirming it reopens the item
    again = finding(session, c.sup2, c.household)
    reopened = findings_review.confirm(session, c.sup2, again.id)
    assert reopened.id == item.id and reopened.state is LedgerState.reopened and reopened.closed_at is None
    ledger.start(session, c.officer, item.id)
    assert item.state is LedgerState.in_progress


def test_four_eyes_the_submitter_never_verifies(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    ledger.submit_fix(session, c.sup, item.id, FixIn(note="督导员代为提交"))
    ev = evidence_of(session, c.household)
    with pytest.raises(Conflict) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[ev.id]))
    assert exc.value.code == "ledger_own_fix"
    assert ledger.verify(session, c.sup2, item.id, VerifyIn(evidence_ids=[ev.id])).state is LedgerState.closed


def test_verifying_needs_evidence_of_this_household(session: Session) -> None:
    c = cast(session)
    item = _submitted(session, c)
    with pytest.raises(ValidationFailed) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn())
    assert exc.value.code == "ledger_evidence_required"
    other = make_household(session, "LB799")
    foreign = evidence_of(session, other, n=9)
    with pytest.raises(ValidationFailed) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[foreign.id]))
    assert exc.value.code == "ledger_evidence_foreign"
    ledger.return_fix(session, c.sup, item.id, "证据不足")
    with pytest.raises(ValidationFailed):
        ledger.submit_fix(session, c.officer, item.id, FixIn(evidence_ids=[foreign.id]))
    assert item.state is LedgerState.returned


def test_stale_version_loses(session: Session) -> None:
    c = cast(session)
    item = _submitted(session, c)
    seen = item.version
    ledger.return_fix(session, c.sup2, item.id, "不合格", version=seen)
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="again"))
    ev = evidence_of(session, c.household, n=5)
    with pytest.raises(Conflict) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(evidence_ids=[ev.id], version=seen))
    assert exc.value.code == "ledger_changed"


def test_hidden_items_answer_404(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    stranger = make_user(session, "sup-far", scope_code="150423")
    from models.user import Role
    from services.context import Actor

    stranger.role = Role.supervisor
    with pytest.raises(NotFound):
        ledger_queries.detail(session, Actor.of(stranger), item.id)


# ---- notices and overdue ---------------------------------------------------------------------


def test_overdue_is_computed_and_noticed_once(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    today = local_today()
    item.deadline = today - timedelta(days=1)
    session.add(item)
    session.flush()
    page, _ = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(overdue=True))
    assert [i.id for i in page] == [item.id] and page[0].overdue
    none, _ = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(overdue=False))
    assert item.id not in [i.id for i in none]
    assert ledger.emit_due_notices(session, today) == 1
    ledger.emit_due_notices(session, today)
    assert len(_notices(session, NoticeKind.ledger_overdue)) == 1
    # once the fix is submitted the item is no longer overdue
    ledger.submit_fix(session, c.officer, item.id, FixIn())
    page, _ = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(overdue=True))
    assert page == []


def test_deadline_soon_notice(session: Session) -> None:
    c = cast(session)
    item = _item(session, c)
    today = local_today()
    item.deadline = workdays.add_working_days(today, 2)
    session.add(item)
    session.flush()
    ledger.emit_due_notices(session, today)
    assert [n.params["item_id"] for n in _notices(session, NoticeKind.ledger_deadline_soon)] == [str(item.id)]


def test_list_filters_and_keyset_pages(session: Session) -> None:
    c = cast(session)
    items = []
    for i in range(5):
        h = make_household(session, f"LB72{i}")
        f = finding(session, c.sup, h, severity=Severity.high if i % 2 else Severity.low)
        items.append(findings_review.confirm(session, c.sup, f.id))
    ledger.start(session, c.officer, items[0].id)
    seen = []
    cursor = None
    while True:
        page, cursor = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(), 2, cursor)
        seen += [i.id for i in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(i.id for i in items) and len(seen) == 5
    high, _ = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(severity=Severity.high))
    assert len(high) == 2
    busy, _ = ledger_queries.list_items(
        session, c.sup, ledger_queries.LedgerFilter(state=LedgerState.in_progress)
    )
    assert [i.id for i in busy] == [items[0].id]
    mine, _ = ledger_queries.list_items(
        session,
        c.officer,
        ledger_queries.LedgerFilter(responsible_user_id=c.officer_user.id, region="150422"),
    )
    assert len(mine) == 5
    elsewhere, _ = ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(region="150423"))
    assert elsewhere == []
    with pytest.raises(ValidationFailed):
        ledger_queries.list_items(session, c.sup, ledger_queries.LedgerFilter(), cursor="!!!")


def test_an_officer_account_needs_a_region(session: Session) -> None:
    from contracts.users import UserCreate
    from models.user import Role
    from services import users
    from services.context import Actor

    with pytest.raises(ValidationFailed) as exc:
        users.create_user(
            session, Actor.system(), UserCreate(login="off-none", name="无区划", role=Role.officer)
        )
    assert exc.value.code == "officer_needs_region"
    made = users.create_user(
        session,
        Actor.system(),
        UserCreate(login="off-town", name="乡镇", role=Role.officer, scope_code="150422100"),
    )
    assert made.role is Role.officer


def test_recheck_visit_ordered_from_the_item_verifies_it(session: Session) -> None:
    from contracts.ledger import RecheckIn
    from tests.visit_helpers import released_assignment

    c = cast(session)
    item = _submitted(session, c)
    ins = make_user(session, "ins-recheck")
    other_round = released_assignment(session, make_household(session, "LB760"), [ins])
    with pytest.raises(ValidationFailed):
        ledger.order_recheck(
            session,
            c.sup,
            item.id,
            RecheckIn(team_id=other_round.team_id, visit_date=local_today() - timedelta(days=1)),
        )
    a = ledger.order_recheck(
        session, c.sup, item.id, RecheckIn(team_id=other_round.team_id, visit_date=local_today())
    )
    assert a.released_at is None and a.household_id == c.household.id  # sealed until its day
    with pytest.raises(Conflict):
        ledger.order_recheck(
            session, c.sup, item.id, RecheckIn(team_id=other_round.team_id, visit_date=local_today())
        )
    v = Visit(
        household_id=c.household.id, inspector_id=ins.id, assignment_id=a.id, status=VisitStatus.in_progress
    )
    session.add(v)
    session.flush()
    with pytest.raises(ValidationFailed) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(recheck_visit_id=v.id))
    assert exc.value.code == "ledger_recheck_not_done"
    v.status, v.finished_at = VisitStatus.submitted, v.started_at
    session.add(v)
    session.flush()
    closed = ledger.verify(session, c.sup, item.id, VerifyIn(recheck_visit_id=v.id))
    assert closed.state is LedgerState.closed
    steps = session.exec(
        select(LedgerEvent).where(LedgerEvent.item_id == item.id, LedgerEvent.action == "verify")
    ).one()
    assert steps.evidence_ids == [f"visit:{v.id}"]


def test_recheck_that_finds_the_problem_again_cannot_close(session: Session) -> None:
    from contracts.ledger import RecheckIn
    from models.visit import Finding
    from tests.visit_helpers import released_assignment

    c = cast(session)
    item = _submitted(session, c)
    ins = make_user(session, "ins-recheck2")
    team_id = released_assignment(session, make_household(session, "LB761"), [ins]).team_id
    a = ledger.order_recheck(session, c.sup, item.id, RecheckIn(team_id=team_id, visit_date=local_today()))
    v = Visit(
        household_id=c.household.id, inspector_id=ins.id, assignment_id=a.id, status=VisitStatus.submitted
    )
    session.add(v)
    session.flush()
    session.add(
        Finding(
            visit_id=v.id,
            household_id=c.household.id,
            rule_id="r",
            category=item.category,
            severity=Severity.high,
            message_zh="仍有车辆",
            message_en="still a car",
        )
    )
    session.flush()
    with pytest.raises(Conflict) as exc:
        ledger.verify(session, c.sup, item.id, VerifyIn(recheck_visit_id=v.id))
    assert exc.value.code == "ledger_recheck_found_again"


def test_amounts_are_kept_to_the_fen(session: Session) -> None:
    c = cast(session)
    outcome = FixOutcome(
        change=OutcomeChange.recover, amount_to_recover=Decimal("1200.005"), recovered=Decimal("0.004")
    )
    item = _submitted(session, c, outcome)
    assert item.money_to_recover == Decimal("1200.01") and item.money_recovered == Decimal("0.00")
    assert item.outcome["amount_to_recover"] == "1200.01"


def test_the_bot_feed_carries_ledger_reminders(session: Session) -> None:
    from models.user import Role
    from services import notices
    from services.context import Actor

    c = cast(session)
    c.officer_user.telegram_user_id = 7_000_001
    session.add(c.officer_user)
    item = _item(session, c)
    item.deadline = local_today() - timedelta(days=3)
    session.add(item)
    session.flush()
    notices._ledger_last.clear()
    bot = make_user(session, "bot-ledger", Role.bot)
    kinds = {(n.kind, n.params.get("item_id")) for n in notices.due(session, Actor.of(bot))}
    assert ("ledger_overdue", str(item.id)) in kinds and ("ledger_new_item", str(item.id)) in kinds


def test_an_officer_who_blocked_the_bot_is_reported_to_supervisors(session: Session) -> None:
    from models.user import Role
    from services import telegram
    from services.context import Actor

    c = cast(session)
    c.officer_user.telegram_user_id = 7_000_002
    session.add(c.officer_user)
    session.flush()
    bot = make_user(session, "bot-ledger2", Role.bot)
    telegram.mark_unreachable(session, Actor.of(bot), 7_000_002)
    told = {n.recipient_id for n in _notices(session, NoticeKind.user_unreachable)}
    assert {c.sup.id, c.sup2.id} <= told


def test_the_responsible_officer_must_answer_for_the_households_region(session: Session) -> None:
    from models.user import Role

    c = cast(session)
    item = _item(session, c)
    far = make_user(session, "off-far", Role.officer, scope_code="150422101")
    with pytest.raises(ValidationFailed) as exc:
        ledger.update_item(session, c.sup, item.id, ItemUpdateIn(responsible_user_id=far.id))
    assert exc.value.code == "ledger_bad_responsible"
    near = make_user(session, "off-near", Role.officer, scope_code=c.household.village_code)
    moved = ledger.update_item(session, c.sup, item.id, ItemUpdateIn(responsible_user_id=near.id))
    assert moved.responsible_user_id == near.id
    assert near.id in {n.recipient_id for n in _notices(session, NoticeKind.ledger_new_item)}
