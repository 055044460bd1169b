"""The console's figures: visits per day, findings by category, inspector quality, in scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from contracts.evidence import EvidenceSource, PositionSource, SiteStatus
from contracts.vocab import FindingCategory, Severity
from models.evidence import Evidence
from models.user import Role
from models.visit import Finding, Visit, VisitStatus
from services import console_stats
from tests.factories import make_user
from tests.round_helpers import actor_of, inspectors, populate, supervisor


def _visit(session: Session, h, insp, when: datetime, **kw) -> Visit:  # type: ignore[no-untyped-def]
    kw.setdefault("status", VisitStatus.submitted)
    v = Visit(household_id=h.id, inspector_id=insp.id, started_at=when, **kw)
    session.add(v)
    session.flush()
    return v


def _finding(session: Session, v: Visit, category: FindingCategory) -> None:
    session.add(
        Finding(
            visit_id=v.id,
            household_id=v.household_id,
            rule_id="r",
            category=category,
            severity=Severity.low,
            message_zh="问题",
            message_en="finding",
        )
    )


def test_counts_per_day_and_category_stay_in_scope(session: Session) -> None:
    homes = populate(session)
    sup = actor_of(supervisor(session))
    town0 = actor_of(make_user(session, "t0", Role.supervisor, scope_code=homes[0].township_code))
    insp = inspectors(session, 1)[0]
    now = datetime(2026, 12, 4, 10, tzinfo=UTC)
    inside = [h for h in homes if h.township_code == homes[0].township_code]
    outside = [h for h in homes if h.township_code != homes[0].township_code]
    a = _visit(session, inside[0], insp, now)
    b = _visit(session, inside[1], insp, now - timedelta(days=1))
    c = _visit(session, outside[0], insp, now - timedelta(days=1))
    _finding(session, a, FindingCategory.FAVOUR)
    _finding(session, b, FindingCategory.FAVOUR)
    _finding(session, c, FindingCategory.MISSED)
    session.flush()
    days = dict(console_stats.visits_per_day(session, sup, days=3, today=now.date()))
    assert days == {"2026-12-02": 0, "2026-12-03": 2, "2026-12-04": 1}
    mine = dict(console_stats.visits_per_day(session, town0, days=3, today=now.date()))
    assert mine == {"2026-12-02": 0, "2026-12-03": 1, "2026-12-04": 1}
    assert console_stats.findings_by_category(session, sup) == [("favour", 2), ("missed", 1)]
    assert console_stats.findings_by_category(session, town0) == [("favour", 2)]


def test_inspector_quality_figures(session: Session) -> None:
    homes = populate(session)
    sup = actor_of(supervisor(session))
    fast, careful = inspectors(session, 2)
    now = datetime.now(UTC) - timedelta(hours=1)
    same_point = {"lat": 43.91, "lon": 119.31}
    for i in range(6):
        v = _visit(
            session,
            homes[i],
            fast,
            now,
            flags=[{"code": "rushed"}] if i < 3 else [],
            step_seconds={"a": 10.0, "b": 20.0},
            checkin=same_point if i < 2 else {"lat": 43.0 + i, "lon": 119.0},
        )
        session.add(_photo(v, accepted=i != 0, n=i))
    for i in range(6, 12):
        v = _visit(session, homes[i], careful, now, step_seconds={"a": 60.0})
        _finding(session, v, FindingCategory.NOT_ELIGIBLE)
    session.flush()
    rows, county = console_stats.inspector_quality(session, sup)
    by = {q.login: q for q in rows}
    assert county == 0.5
    f, c = by[fast.login], by[careful.login]
    assert (f.visits, f.median_step_s, f.rushed_share) == (6, 15.0, 0.5)
    assert (f.photos, round(f.photos_flagged_share, 3), f.repeated_coords) == (6, round(1 / 6, 3), 2)
    assert f.pass_rate == 1.0 and f.pass_rate_outlier
    assert c.pass_rate == 0.0 and c.pass_rate_outlier and c.median_step_s == 60.0 and c.photos == 0


def _photo(visit: Visit, accepted: bool, n: int) -> Evidence:
    return Evidence(
        visit_id=visit.id,
        household_id=visit.household_id,
        uploaded_by="test",
        source=EvidenceSource.UPLOAD,
        sha256=f"{n:064x}",
        display_sha256=f"{n:064x}",
        thumb_sha256=f"{n:064x}",
        mime="image/jpeg",
        size_bytes=10,
        width=10,
        height=10,
        position_source=PositionSource.EXIF_GPS,
        site=SiteStatus.ON_SITE,
        accepted=accepted,
        phash=f"{n:016x}",
        perceptual_hash="x",
    )


def test_quality_counted_in_sql_equals_the_visit_by_visit_figures(session: Session) -> None:
    """A mixed small data set: the grouped SQL gives what reading every visit into Python gave."""
    import random

    from tests.console.quality_reference import reference_quality

    rng = random.Random(11)
    homes = populate(session, per_village=6)
    county = actor_of(supervisor(session))
    town = actor_of(make_user(session, "t1", Role.supervisor, scope_code=homes[0].township_code))
    staff = inspectors(session, 5)
    now = datetime.now(UTC) - timedelta(hours=1)
    points = [{"lat": 43.91, "lon": 119.31}, {"lat": 43.91002, "lon": 119.31001}, {"lat": 44.5, "lon": 120.0}]
    n = 0
    for i in range(80):
        h = homes[rng.randrange(len(homes))]
        steps = {f"s{k}": float(rng.randint(3, 120)) for k in range(rng.randint(0, 4))}
        checkin: dict[str, float] = rng.choice([*points, {}, {"lat": 40.0 + i / 7, "lon": 118.0}])
        v = _visit(
            session,
            h,
            staff[i % len(staff)],
            now - timedelta(days=rng.choice([1, 10, 60, 100])),
            status=rng.choice([VisitStatus.submitted] * 4 + [VisitStatus.in_progress]),
            flags=rng.choice(
                [[], [{"code": "rushed"}], [{"code": "far"}, {"code": "rushed", "at": 1}], [{"kind": "x"}]]
            ),
            step_seconds=steps,
            checkin=checkin,
        )
        for _ in range(rng.randint(0, 2)):
            n += 1
            e = _photo(v, accepted=rng.random() > 0.3, n=n)
            e.reused = rng.random() < 0.2
            session.add(e)
        for _ in range(rng.choice([0, 0, 1, 2])):
            _finding(session, v, FindingCategory.MISSED)
    session.flush()
    for actor in (county, town):
        got, got_county = console_stats.inspector_quality(session, actor)
        want, want_county = reference_quality(session, actor)
        assert got_county == pytest.approx(want_county)
        assert len(got) == len(want) > 0
        for g, w in zip(got, want, strict=True):
            assert (g.inspector_id, g.login, g.visits, g.photos, g.repeated_coords) == (
                w.inspector_id,
                w.login,
                w.visits,
                w.photos,
                w.repeated_coords,
            )
            assert g.median_step_s == pytest.approx(w.median_step_s)
            assert (g.rushed_share, g.photos_flagged_share, g.pass_rate) == pytest.approx(
                (w.rushed_share, w.photos_flagged_share, w.pass_rate)
            )
            assert g.pass_rate_outlier == w.pass_rate_outlier


def test_visits_and_findings_record_their_household_village(session: Session) -> None:
    homes = populate(session)
    insp = inspectors(session, 1)[0]
    v = _visit(session, homes[3], insp, datetime.now(UTC))
    _finding(session, v, FindingCategory.MISSED)
    session.flush()
    f = session.exec(select(Finding).where(Finding.visit_id == v.id)).one()
    assert v.village_code == f.village_code == homes[3].village_code
