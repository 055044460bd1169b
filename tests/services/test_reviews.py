"""Review cadence: due dates, the due list per township, recording reviews, notices before due, draws."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from contracts.households import HouseholdStatus, SubsidyType
from contracts.reviews import ReviewIn, ReviewSource
from contracts.telegram import NoticeKind
from models.household import Household
from models.notice import Notice
from models.review import HouseholdReview
from models.user import Role
from services import draws, reviews
from services.context import Actor
from services.errors import ValidationFailed
from tests.factories import VILLAGE, make_household, make_user

AS_OF = date(2026, 6, 15)
OTHER_TOWN_VILLAGE = "150422101200"


def _hh(
    session: Session, no: str, last: date | None, subsidy: SubsidyType, village: str = VILLAGE
) -> Household:
    h = make_household(session, no, village=village, last_review_date=last)
    h.subsidy_type = subsidy
    session.add(h)
    session.flush()
    return h


def test_due_dates_follow_the_cadence_and_agree_with_the_draw() -> None:
    """常补 a year, 非常补 six months (month ends clamped); overdue exactly when the draw weights it."""
    assert reviews.due_on(SubsidyType.regular, date(2025, 3, 1)) == date(2026, 3, 1)
    assert reviews.due_on(SubsidyType.non_regular, date(2025, 8, 31)) == date(2026, 2, 28)
    assert reviews.due_on(SubsidyType.regular, None) is None
    rng = random.Random(1)
    for _ in range(500):
        last = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
        as_of = date(2025, 1, 1) + timedelta(days=rng.randint(0, 500))
        subsidy = rng.choice(list(SubsidyType))
        assert reviews.is_overdue(subsidy, last, as_of) == draws.review_overdue(subsidy.value, last, as_of)
    assert reviews.is_overdue(SubsidyType.regular, None, AS_OF) and draws.review_overdue("常补", None, AS_OF)


def test_overdue_households_weigh_more_in_the_draw() -> None:
    """The draw's frame gives an overdue household the review_overdue weight, as before."""
    rows = [
        draws.snapshot_row(
            f"id{i}", f"LB{i}", "150422100", VILLAGE, "一般困难", "非常补", last, False, 500, 2
        )
        for i, last in enumerate([date(2026, 5, 1), date(2025, 5, 1)])
    ]
    frame = draws.build_frame(draws.snapshot_document(rows, []), {"risk": {"review_overdue": 1.0}}, AS_OF)
    assert list(frame.weight) == [1.0, 2.0]


def test_due_list_per_township(session: Session) -> None:
    """Due by the horizon, overdue first, grouped by township; exited households and later dues left out."""
    _hh(session, "LBR1", date(2025, 6, 1), SubsidyType.regular)  # due 2026-06-01: overdue
    _hh(session, "LBR2", date(2026, 1, 5), SubsidyType.non_regular)  # due 2026-07-05: within 30 days
    _hh(session, "LBR3", date(2026, 3, 1), SubsidyType.non_regular)  # due 2026-09-01: later
    _hh(session, "LBR4", None, SubsidyType.regular, village=OTHER_TOWN_VILLAGE)  # never reviewed
    gone = _hh(session, "LBR5", date(2024, 1, 1), SubsidyType.regular)
    gone.status = HouseholdStatus.exited
    session.add(gone)
    session.flush()
    sup = Actor.of(make_user(session, "sup-r", Role.supervisor, scope_code=VILLAGE[:6]))
    result = reviews.due_list(session, sup, AS_OF, 30)
    towns = {t.township_code: t for t in result.townships}
    assert set(towns) == {VILLAGE[:9], OTHER_TOWN_VILLAGE[:9]}
    mine = towns[VILLAGE[:9]]
    assert [d.register_no for d in mine.items] == ["LBR1", "LBR2"]
    assert (mine.due, mine.overdue) == (2, 1)
    assert mine.items[0].head_name.endswith("*") and mine.items[1].days_left == 20
    assert (
        towns[OTHER_TOWN_VILLAGE[:9]].items[0].overdue
        and towns[OTHER_TOWN_VILLAGE[:9]].items[0].due_on is None
    )
    officer = Actor.of(make_user(session, "off-r", Role.officer, scope_code=OTHER_TOWN_VILLAGE[:9]))
    theirs = reviews.due_list(session, officer, AS_OF, 30)
    assert [t.township_code for t in theirs.townships] == [OTHER_TOWN_VILLAGE[:9]]
    with pytest.raises(ValidationFailed):
        reviews.due_list(session, sup, AS_OF, 1000)


def test_recording_a_review_moves_the_date_forward_only(session: Session) -> None:
    """A review visit sets the last review date; an older one is kept but does not move it back."""
    h = _hh(session, "LBR6", date(2025, 1, 1), SubsidyType.regular)
    officer = Actor.of(make_user(session, "off-r6", Role.officer, scope_code=VILLAGE[:9]))
    review, after = reviews.record(
        session, officer, ReviewIn(household_id=h.id, reviewed_on=date(2026, 1, 10))
    )
    assert review.source == ReviewSource.visit and after.last_review_date == date(2026, 1, 10)
    reviews.record(session, officer, ReviewIn(household_id=h.id, reviewed_on=date(2025, 6, 1)))
    session.refresh(h)
    assert h.last_review_date == date(2026, 1, 10)
    assert len(session.exec(select(HouseholdReview).where(HouseholdReview.household_id == h.id)).all()) == 2
    with pytest.raises(ValidationFailed):
        reviews.record(
            session, officer, ReviewIn(household_id=h.id, reviewed_on=date.today() + timedelta(days=9))
        )


def test_import_records_reviews_and_names_bad_rows(session: Session) -> None:
    """低保证号 and 复核日期 (any common spelling of a date); unknown households and bad dates refused."""
    h = _hh(session, "LBR7", date(2024, 1, 1), SubsidyType.regular)
    sup = Actor.of(make_user(session, "sup-r7", Role.supervisor, scope_code=VILLAGE[:6]))
    data = "低保证号,复核日期,备注\nLBR7,2026/3/5,入户复核\nNOPE,2026-03-05,\nLBR7,昨天,\n".encode()
    report = reviews.import_file(session, sup, data, "reviews.csv")
    assert report.recorded == 1 and [e["row"] for e in report.errors] == [3, 4]
    session.refresh(h)
    assert h.last_review_date == date(2026, 3, 5)


def test_officers_are_told_once_per_household_and_due_date(session: Session) -> None:
    """Within the lead time the township's officer gets one notice; a new review means a new due date."""
    h = _hh(session, "LBR8", date(2025, 6, 20), SubsidyType.regular)  # due 2026-06-20
    _hh(session, "LBR9", date(2026, 1, 1), SubsidyType.regular)  # due 2027: not yet
    officer = make_user(session, "off-r8", Role.officer, scope_code=VILLAGE[:9])
    now = datetime(2026, 6, 15, 2, tzinfo=UTC)
    assert reviews.emit_due_notices(session, AS_OF, now=now, lead_days=14) == 1
    reviews.emit_due_notices(session, AS_OF, now=now, lead_days=14)
    sent = session.exec(select(Notice).where(Notice.kind == NoticeKind.review_due)).all()
    assert len(sent) == 1 and sent[0].recipient_id == officer.id
    assert sent[0].params["register_no"] == "LBR8" and sent[0].params["due_on"] == "2026-06-20"
    reviews.record(session, Actor.of(officer), ReviewIn(household_id=h.id, reviewed_on=date(2025, 6, 25)))
    reviews.emit_due_notices(session, AS_OF, now=now, lead_days=14)
    keys = sorted(
        n.key for n in session.exec(select(Notice).where(Notice.kind == NoticeKind.review_due)).all()
    )
    assert len(keys) == 2 and keys[0].endswith("2026-06-20") and keys[1].endswith("2026-06-25")
