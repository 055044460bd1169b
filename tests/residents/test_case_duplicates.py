"""Repeat complaints: linking a repeat to the open case, undo, the threshold of 3, and the draw's
take-all group recomputed by verify from the snapshot (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from contracts.residents import CaseCategory, CaseSource, CaseState
from models.application import Case
from models.audit import AuditEvent
from models.case_link import CaseLink
from models.household import Household
from models.round import RoundSample, RoundSnapshot
from models.types import utcnow
from services import case_duplicates, cases, draws, round_verify
from services.config import Settings
from services.context import Actor
from services.errors import Conflict
from services.residents_codes import new_number
from tests.factories import make_household
from tests.residents.helpers import make_application
from tests.round_helpers import actor_of, drawn_round, populate, supervisor

WITHHELD = "村干部扣了我家三个月的低保金"
WITHHELD_AGAIN = "我家的低保金被村干部扣了三个月"
CAR = "隔壁王五家开着小汽车还吃低保"


def _case(
    session: Session,
    text: str,
    household: Household | None = None,
    village: str | None = None,
    category: CaseCategory = CaseCategory.payment,
    days_ago: int = 0,
    state: CaseState = CaseState.received,
) -> Case:
    c = Case(
        number=new_number("AJ"),
        source=CaseSource.staff,
        category=category,
        text=text,
        household_id=household.id if household else None,
        village_code=household.village_code if household else village,
        received_at=utcnow() - timedelta(days=days_ago),
        due_on=date.today() + timedelta(days=15),
        state=state,
    )
    session.add(c)
    session.flush()
    return c


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_similarity_ignores_word_order() -> None:
    assert case_duplicates.similarity(WITHHELD, WITHHELD_AGAIN) >= 80
    assert case_duplicates.similarity(WITHHELD, CAR) < 50


def test_a_repeat_about_the_same_household_links_to_the_open_case(
    session: Session, settings: Settings
) -> None:
    h = make_household(session)
    first = _case(session, WITHHELD, h, days_ago=3)
    again = _case(session, WITHHELD_AGAIN, h)
    link = case_duplicates.link_new(session, settings, again)
    assert link is not None and link.primary_id == first.id and link.basis == "household" and link.score >= 80
    event = _events(session, "case.duplicate_linked")[-1]
    assert event.entity_id == str(again.id) and event.details["primary"] == str(first.id)
    # another matter about the same household is a case of its own
    other = _case(session, CAR, h)
    assert case_duplicates.link_new(session, settings, other) is None
    # a third report of the matter links to the first case, not to the repeat
    third = _case(session, "三个月低保金被村干部扣了", h)
    link3 = case_duplicates.link_new(session, settings, third)
    assert link3 is not None and link3.primary_id == first.id


def test_only_open_cases_within_the_window_are_linked_to(session: Session, settings: Settings) -> None:
    h = make_household(session)
    _case(session, WITHHELD, h, days_ago=settings.case_duplicate_days + 2)
    _case(session, WITHHELD, h, days_ago=2, state=CaseState.closed)
    new = _case(session, WITHHELD_AGAIN, h)
    assert case_duplicates.link_new(session, settings, new) is None


def test_without_a_household_the_village_and_category_narrow(session: Session, settings: Settings) -> None:
    h = make_household(session)
    first = _case(session, WITHHELD, village=h.village_code, days_ago=1)
    conduct = _case(session, WITHHELD_AGAIN, village=h.village_code, category=CaseCategory.conduct)
    assert case_duplicates.link_new(session, settings, conduct) is None
    same = _case(session, WITHHELD_AGAIN, village=h.village_code)
    link = case_duplicates.link_new(session, settings, same)
    assert link is not None and link.primary_id == first.id and link.basis == "village"
    nowhere = _case(session, WITHHELD_AGAIN)
    assert case_duplicates.link_new(session, settings, nowhere) is None


def test_staff_undo_a_link_and_it_is_not_made_again(session: Session, settings: Settings) -> None:
    h = make_household(session)
    sup = actor_of(supervisor(session))
    first = _case(session, WITHHELD, village=h.village_code, days_ago=1)
    again = _case(session, WITHHELD_AGAIN, village=h.village_code)
    assert case_duplicates.link_new(session, settings, again) is not None
    view = case_duplicates.links_of(session, sup, settings, first.id)
    assert [r.case_number for r in view.repeats] == [again.number]
    undone = case_duplicates.undo_link(session, sup, again.id)
    assert undone.undone_at is not None and undone.undone_by == sup.label
    assert _events(session, "case.duplicate_unlinked")[-1].entity_id == str(again.id)
    with pytest.raises(Conflict):
        case_duplicates.unlink(session, sup, again.id)
    # naming the household looks for repeats again, but not the link staff undid
    case_duplicates.set_household(session, sup, settings, again.id, h.id)
    assert case_duplicates.active_link(session, again.id) is None
    assert _events(session, "case.household_set")[-1].entity_id == str(again.id)
    assert case_duplicates.links_of(session, sup, settings, again.id).primary is None


def test_a_submitted_objection_repeating_an_open_one_is_linked(session: Session, settings: Settings) -> None:
    app = make_application(session)
    from services.cases import Complaint

    one = cases.submit(
        session,
        settings,
        CaseSource.web,
        Complaint(CaseCategory.objection, WITHHELD, application_id=app.app.id),
    )
    two = cases.submit(
        session,
        settings,
        CaseSource.web,
        Complaint(CaseCategory.objection, WITHHELD_AGAIN, application_id=app.app.id),
    )
    link = session.exec(select(CaseLink).where(CaseLink.case_id == two.case.id)).one()
    assert link.primary_id == one.case.id


def test_two_complaints_do_not_flag_a_household_three_do(session: Session, settings: Settings) -> None:
    h = make_household(session)
    sup = actor_of(supervisor(session))
    a = _case(session, WITHHELD, h, days_ago=20)
    _case(session, CAR, h, days_ago=10)
    view = case_duplicates.links_of(session, sup, settings, a.id)
    assert view.household_complaints == 2 and not view.repeat_flag
    _case(session, "公示栏没有举报电话", h)
    view = case_duplicates.links_of(session, sup, settings, a.id)
    assert view.household_complaints == 3 and view.repeat_flag
    old = make_household(session, "LB0002")
    for k in range(3):  # complaints older than the window do not count
        _case(session, CAR, old, days_ago=settings.case_repeat_window_days + 5 + k)
    assert (
        case_duplicates.complaint_counts(session, date.today(), settings.case_repeat_window_days).get(
            str(old.id), 0
        )
        == 0
    )


def test_households_with_three_complaints_are_drawn_with_certainty_and_verify_recomputes(
    session: Session, settings: Settings
) -> None:
    households = [h for h in populate(session) if not h.cadre_relative]
    three, two = households[0], households[1]
    for k in range(3):
        _case(session, f"{WITHHELD}{k}", three, days_ago=k + 1)
    for k in range(2):
        _case(session, f"{CAR}{k}", two, days_ago=k + 1)
    actor = actor_of(supervisor(session))
    r = drawn_round(session, actor, ratio=0.05)
    snap = session.get(RoundSnapshot, r.id)
    assert snap is not None
    rows = {row["id"]: row for row in draws.unpack_snapshot(snap.data)["households"]}
    assert rows[str(three.id)]["complaints"] == 3 and rows[str(two.id)]["complaints"] == 2
    assert "repeat_complaints" in r.params["take_all"]
    sample = {
        s.household_id: s for s in session.exec(select(RoundSample).where(RoundSample.round_id == r.id))
    }
    assert sample[three.id].take_all and sample[three.id].reason == "repeat_complaints"
    assert two.id not in sample or not sample[two.id].take_all
    # complaints after the draw change the register, never the recomputed draw
    for k in range(3):
        _case(session, f"{CAR}{k}", two)
    rep = round_verify.verify_round(session, Actor.system("test"), r.id)
    assert rep.draw_reproduced, rep.failures()
    register = next(c for c in rep.failures() if c.name == "register")
    assert register.detail["changed"] == {two.register_no: ["complaints"]}
    assert round_verify.verify_round(session, actor, r.id, compare_register=False).ok


def test_an_imported_order_or_a_staff_entry_repeating_an_open_case_is_linked(
    session: Session, settings: Settings
) -> None:
    from contracts.cases import CaseEntry
    from services import case_flow, case_import

    h = make_household(session, "LB0007", head_name="包玉兰")
    first = _case(session, "反映包玉兰家的低保金九月十月两个月没有到账", h, days_ago=2)
    sup = actor_of(supervisor(session))
    order = (
        "工单编号,来电时间,来电内容,来电人,联系电话,所属区域,诉求类型,身份证号,低保证号\n"
        f"GD20261201000001,{date.today():%Y-%m-%d} 09:00,包玉兰家低保金九月十月没有到账，希望补发,"
        "包玉兰,13904761111,东升村,社会救助-低保金发放,,LB0007\n"
    ).encode()
    result = case_import.import_cases(session, settings, sup, order, "orders.csv")
    assert result.created == 1 and result.errors == []
    imported = session.get(Case, result.case_ids[0])
    assert imported is not None and imported.household_id == h.id
    link = case_duplicates.active_link(session, imported.id)
    assert link is not None and link.primary_id == first.id
    entered = case_flow.enter(
        session,
        settings,
        sup,
        CaseEntry(
            source=CaseSource.petition,
            category=CaseCategory.payment,
            register_no="LB0007",
            text="来信：包玉兰家九月、十月的低保金没有到账",
        ),
    )
    link = case_duplicates.active_link(session, entered.id)
    assert link is not None and link.primary_id == first.id


def test_an_unconfirmed_name_guess_neither_links_nor_counts_until_confirmed(
    session: Session, settings: Settings
) -> None:
    h = make_household(session)
    for k in range(2):
        _case(session, WITHHELD, h, days_ago=5 + k)
    guess = _case(session, WITHHELD_AGAIN, h)
    guess.match_method, guess.match_confidence, guess.match_confirmed = "name", 0.7, False
    session.add(guess)
    session.flush()
    assert case_duplicates.link_new(session, settings, guess) is None
    counts = case_duplicates.complaint_counts(session, date.today(), settings.case_repeat_window_days)
    assert counts[str(h.id)] == 2  # the guess is not held against the household yet
    sup = actor_of(supervisor(session))
    case_duplicates.set_household(session, sup, settings, guess.id, h.id)
    assert guess.match_confirmed
    assert case_duplicates.active_link(session, guess.id) is not None
    counts = case_duplicates.complaint_counts(session, date.today(), settings.case_repeat_window_days)
    assert counts[str(h.id)] == 3


def test_placing_the_earlier_case_last_links_the_later_repeat(session: Session, settings: Settings) -> None:
    h = make_household(session)
    sup = actor_of(supervisor(session))
    first = _case(session, WITHHELD, days_ago=3)
    again = _case(session, WITHHELD_AGAIN, days_ago=1)
    other = _case(session, CAR, days_ago=1)
    # staff name the household of the later complaints first, then of the earlier one
    case_duplicates.set_household(session, sup, settings, again.id, h.id)
    case_duplicates.set_household(session, sup, settings, other.id, h.id)
    assert case_duplicates.active_link(session, again.id) is None
    case_duplicates.set_household(session, sup, settings, first.id, h.id)
    link = case_duplicates.active_link(session, again.id)
    assert link is not None and link.primary_id == first.id and link.basis == "household"
    assert case_duplicates.active_link(session, other.id) is None  # another matter
    assert case_duplicates.active_link(session, first.id) is None
    view = case_duplicates.links_of(session, sup, settings, first.id)
    assert [r.case_number for r in view.repeats] == [again.number]
    # an undone link is not made again when the earlier case is placed anew
    case_duplicates.unlink(session, sup, again.id)
    case_duplicates.set_household(session, sup, settings, first.id, h.id)
    assert case_duplicates.active_link(session, again.id) is None
