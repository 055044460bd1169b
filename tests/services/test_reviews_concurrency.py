"""The same review sent several times at the same moment is kept once (real units of work, both databases)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.reviews import ReviewIn
from models.db import unit_of_work
from models.review import HouseholdReview
from models.user import Role
from services import reviews
from services.context import Actor
from tests.factories import VILLAGE, make_household, make_user
from tests.services.test_refusals import own_engine  # noqa: F401  (the fixture)


def test_identical_reviews_sent_at_once_are_kept_once(own_engine: Engine) -> None:  # noqa: F811
    with Session(own_engine) as s:
        h = make_household(s, "LBQ-RACE", last_review_date=None)
        user = make_user(s, "off-race", Role.officer, scope_code=VILLAGE[:9])
        s.commit()
        actor = Actor.of(user)
        hid = h.id
    data = ReviewIn(household_id=hid, reviewed_on=date(2026, 3, 2), note="入户复核")

    def send(_: int) -> str:
        with unit_of_work(own_engine) as s:
            review, _h = reviews.record(s, actor, data)
            return str(review.id)

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(send, range(16)))
    with Session(own_engine) as s:
        rows = s.exec(select(HouseholdReview).where(HouseholdReview.household_id == hid)).all()
    assert len(rows) == 1 and ids == {str(rows[0].id)}
