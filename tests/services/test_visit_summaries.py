"""Each visit keeps its check-in cell, rushed flag and median step time in step with its JSON, on every
write and after the migration that added them (backfilled), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from contracts.visits import VisitStart
from models.migrate import downgrade, upgrade
from models.user import Role
from models.visit import CELL, Visit, checkin_cell, step_median
from services import visits
from services.context import Actor
from tests.factories import make_household, make_user
from tests.services.test_refusals import own_engine  # noqa: F401  (the fixture)
from tests.visit_helpers import released_assignment


def _visit(session: Session, login: str, register_no: str) -> Visit:
    user = make_user(session, login, Role.inspector)
    assignment = released_assignment(session, make_household(session, register_no), [user])
    public = visits.start_visit(session, Actor.of(user), VisitStart(assignment_id=assignment.id))
    v = session.get(Visit, public.id)
    assert v is not None
    return v


def test_the_summaries_follow_every_write(session: Session) -> None:
    v = _visit(session, "ins-sum", "LBS01")
    assert (v.checkin_cell, v.rushed, v.step_median_s) == (None, False, None)
    v.checkin = {"lat": 43.98123, "lon": 119.38349, "accuracy": 12}
    v.step_seconds = {"a": 30, "b": 10, "c": 20, "d": "bad"}
    v.flags = [{"code": "rushed", "seconds": 40}]
    session.add(v)
    session.flush()
    session.refresh(v)
    assert v.checkin_cell == round(43.98123 * CELL) * 100_000_000 + round(119.38349 * CELL)
    assert v.rushed is True and v.step_median_s == 20.0
    v.flags = []
    v.checkin = {"lat": "not a number"}
    session.add(v)
    session.flush()
    session.refresh(v)
    assert (v.checkin_cell, v.rushed) == (None, False)
    # points about a metre apart share a cell; points 50 m apart do not
    near = checkin_cell({"lat": 43.981231, "lon": 119.383491})
    assert near == checkin_cell({"lat": 43.98123, "lon": 119.38349})
    assert checkin_cell({"lat": 43.98170, "lon": 119.38349}) != near
    assert step_median({}) is None and step_median({"x": 5}) == 5.0


def test_the_migration_backfills_visits_made_before_it(own_engine: Engine) -> None:  # noqa: F811
    with Session(own_engine) as s:
        v = _visit(s, "ins-back", "LBS02")
        v.checkin = {"lat": 43.9, "lon": 119.3}
        v.step_seconds = {"a": 8, "b": 12}
        v.flags = [{"code": "rushed"}]
        s.add(v)
        s.commit()
        vid = v.id
    url = own_engine.url.render_as_string(hide_password=False)
    own_engine.dispose()
    downgrade(url, revision="0021_console3")  # the columns go; the JSON stays
    upgrade(url)
    with own_engine.connect() as conn:
        row = conn.execute(
            text("SELECT checkin_cell, rushed, step_median_s FROM visit WHERE id = :i"),
            {"i": vid if own_engine.dialect.name == "postgresql" else vid.hex},
        ).one()
    assert row[0] == checkin_cell({"lat": 43.9, "lon": 119.3})
    assert bool(row[1]) is True and row[2] == 10.0
