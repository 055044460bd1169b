from __future__ import annotations

from sqlmodel import Session, func, select

from models.household import Household
from models.round import Assignment
from models.user import User
from services import demo
from services.rounds import local_today


def test_demo_county_is_deterministic_and_dispatchable(session: Session) -> None:
    report = demo.seed(session, households=80, inspectors=6, seed_value=11)
    assert report.households == 80 and report.villages > 100
    heads = sorted(session.exec(select(Household.head_name).order_by(Household.register_no)).all())
    assert len(heads) == 80
    again = demo.seed(session, households=80, inspectors=6, seed_value=11)
    assert again.already_seeded
    assert session.exec(select(func.count()).select_from(User)).one() == 1 + 3 + 6
    regs = demo.register_csv(_villages(session), 5, 11)
    assert regs == demo.register_csv(_villages(session), 5, 11)
    r = demo.seed_round(session, local_today())
    assert r.sample >= 1 and sum(r.released_today.values()) >= 1
    assert session.exec(select(func.count()).select_from(Assignment)).one() >= 1


def _villages(session: Session):  # type: ignore[no-untyped-def]
    from models.region import Region, RegionLevel

    return list(
        session.exec(select(Region).where(Region.level == RegionLevel.village).order_by(Region.code)).all()
    )
