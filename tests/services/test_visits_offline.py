"""A visit worked offline: capture times against message times, track gaps, sent times of photos."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

import checklists
from contracts.visits import AnswerIn, EventBatch, LocationEvent, VisitFinish, VisitStart
from models.types import utcnow
from models.user import Role
from services import evidence, visits
from services.config import Settings
from services.context import Actor
from services.errors import ValidationFailed
from tests.checklists.checklists_testkit import walk
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

HOME = (43.98, 119.38)
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def started(session: Session):  # type: ignore[no-untyped-def]
    a = make_user(session, "insOff", Role.inspector)
    h = make_household(session, "LB900")
    assignment = released_assignment(session, h, [a])
    actor = Actor.of(a)
    return actor, visits.start_visit(session, actor, VisitStart(assignment_id=assignment.id))


def _finish(session: Session, actor: Actor, visit_id: uuid.UUID, photo_ids: list[str]) -> list[str]:
    cl = checklists.load_checklist("home_visit")
    state = walk(cl, {})
    answers = [
        AnswerIn(step_id=a.step_id, value=a.value, evidence=photo_ids if a.evidence else [])
        for a in state.answers
    ]
    done = visits.finish_visit(session, actor, visit_id, VisitFinish(answers=answers))
    return [f["code"] for f in done.flags]


def _add(session: Session, settings: Settings, actor: Actor, visit_id: uuid.UUID, photo: bytes) -> str:
    return str(evidence.add_evidence(session, actor, settings, visit_id, photo, "telegram_document").id)


def test_capture_times_on_site_widen_the_duration_so_a_burst_is_not_rushed(
    session: Session, settings: Settings, started
) -> None:  # type: ignore[no-untyped-def]
    actor, v = started
    # photos taken on site over 20 minutes while offline, all arriving in one burst just now
    now = utcnow()
    photos = [jpeg_with_gps(*HOME, when=now - timedelta(minutes=m), seed=900 + m) for m in (20, 12, 3)]
    ids = [_add(session, settings, actor, v.id, p) for p in photos]
    assert "rushed" not in _finish(session, actor, v.id, ids)
    assert visits.on_site_seconds(session, v, utcnow()) >= 20 * 60 - 5
    shown = visits.get_visit(session, actor, v.id)
    assert shown.duration_s is not None and shown.duration_s >= 20 * 60 - 5


def test_untrusted_captures_do_not_widen_the_duration(session: Session, settings: Settings, started) -> None:  # type: ignore[no-untyped-def]
    actor, v = started
    now = utcnow()
    # taken 20 minutes ago, but 5 km from the household: proves nothing about being on site
    far = jpeg_with_gps(HOME[0] + 0.05, HOME[1], when=now - timedelta(minutes=20), seed=911)
    here = jpeg_with_gps(*HOME, when=now, seed=912)
    ids = [_add(session, settings, actor, v.id, p) for p in (far, here)]
    assert "rushed" in _finish(session, actor, v.id, ids)


def test_a_gap_in_the_live_track_is_its_own_flag_and_not_frozen_time(session: Session, started) -> None:  # type: ignore[no-untyped-def]
    actor, v = started
    t0 = utcnow() - timedelta(minutes=60)
    # the same fix every minute for 5 minutes, then 36 minutes without signal, then 5 more minutes
    times = [t0 + timedelta(minutes=m) for m in (*range(0, 6), *range(41, 47))]
    events = [LocationEvent(lat=HOME[0], lon=HOME[1], at=at, accuracy_m=8, live=True) for at in times]
    visits.add_events(session, actor, v.id, EventBatch(events=events))
    session.refresh(v)
    gaps = [f for f in v.flags if f["code"] == "track_gap"]
    assert len(gaps) == 1 and gaps[0]["seconds"] == 36 * 60, v.flags
    assert datetime.fromisoformat(gaps[0]["start"]) == t0 + timedelta(minutes=5)
    assert datetime.fromisoformat(gaps[0]["end"]) == t0 + timedelta(minutes=41)
    # 10 minutes covered by fixes: not frozen (the gap is not time the track stood still)
    assert "frozen_track" not in {f["code"] for f in v.flags}, v.flags


def test_a_frozen_track_counts_the_time_covered_by_fixes() -> None:
    t0 = datetime(2026, 11, 30, 6, 0, tzinfo=ZONE)
    fixes = [
        {"lat": HOME[0], "lon": HOME[1], "at": (t0 + timedelta(minutes=m)).isoformat(), "live": True}
        for m in (*range(0, 25), *range(60, 63))
    ]
    flags = visits.position_flags(fixes, gap_s=600)
    frozen = next(f for f in flags if f["code"] == "frozen_track")
    assert frozen["seconds"] == 26 * 60  # 24 minutes before the gap, 2 after; the 36 in between not
    assert [f["seconds"] for f in flags if f["code"] == "track_gap"] == [36 * 60]


def test_the_sent_time_of_a_photo_is_kept_bounded_and_refused_in_the_future(
    session: Session, settings: Settings, started
) -> None:  # type: ignore[no-untyped-def]
    actor, v = started
    now = utcnow()
    sent = now - timedelta(minutes=36)
    photo = jpeg_with_gps(*HOME, when=sent - timedelta(seconds=30), seed=920)
    ev = evidence.add_evidence(session, actor, settings, v.id, photo, "telegram_document", sent_at=sent)
    assert ev.sent_at is not None and abs((ev.sent_at - sent).total_seconds()) < 1
    assert ev.received_at >= now
    assert evidence.to_public(ev).sent_at == ev.sent_at
    # a phone clock a minute fast: within the skew, kept as the arrival (never later)
    ahead = evidence.add_evidence(
        session, actor, settings, v.id, jpeg_with_gps(*HOME, seed=921), "telegram_document",
        sent_at=utcnow() + timedelta(seconds=60),
    )  # fmt: skip
    assert ahead.sent_at is not None and ahead.sent_at <= ahead.received_at + timedelta(seconds=1)
    with pytest.raises(ValidationFailed) as err:
        evidence.add_evidence(
            session, actor, settings, v.id, jpeg_with_gps(*HOME, seed=922), "telegram_document",
            sent_at=utcnow() + timedelta(minutes=36),
        )  # fmt: skip
    assert err.value.code == "event_in_future" and "sent_at" in err.value.message("en")


def test_an_on_site_photo_taken_before_the_visit_reached_the_store_is_captured_offline(
    session: Session, settings: Settings, started
) -> None:  # type: ignore[no-untyped-def]
    actor, v = started
    taken = v.started_at - timedelta(minutes=50)  # before the window's 30 minutes of slack
    if taken.astimezone(ZONE).date() != v.started_at.astimezone(ZONE).date():
        taken = v.started_at.astimezone(ZONE).replace(hour=0, minute=1)
    ev = evidence.add_evidence(
        session, actor, settings, v.id, jpeg_with_gps(*HOME, when=taken, seed=930), "telegram_document",
        sent_at=taken + timedelta(minutes=1),
    )  # fmt: skip
    codes = [r["code"] for r in ev.verdict["reasons"]]
    if v.started_at - taken > timedelta(minutes=40):
        assert ev.fresh is True and ev.verdict["captured_offline"] is True and "captured_offline" in codes
    assert "stale" not in codes and ev.accepted
