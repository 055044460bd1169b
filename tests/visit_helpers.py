"""Builders for visit tests: a dispatched assignment for a team of inspectors, photos that pass."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from PIL import Image
from sqlmodel import Session

from models.household import Household
from models.round import (
    Assignment,
    AssignmentStatus,
    InspectionRound,
    RoundStatus,
    RoundTeam,
    RoundType,
    TeamMember,
)
from models.types import utcnow
from models.user import User


def released_assignment(session: Session, household: Household, team: list[User]) -> Assignment:
    """A dispatched round with one released assignment of the household to the team."""
    today = date.today()
    r = InspectionRound(
        name="飞检",
        type=RoundType.flying,
        scope_code=household.county_code,
        window_start=today,
        window_end=today + timedelta(days=3),
        checklist_ids=["home_visit"],
        created_by="test",
        status=RoundStatus.dispatched,
    )
    session.add(r)
    session.flush()
    t = RoundTeam(round_id=r.id, number=1, label="第1组")
    session.add(t)
    session.flush()
    for u in team:
        session.add(TeamMember(team_id=t.id, user_id=u.id))
    a = Assignment(
        round_id=r.id,
        team_id=t.id,
        household_id=household.id,
        visit_date=today,
        status=AssignmentStatus.released,
        released_at=utcnow(),
    )
    session.add(a)
    session.flush()
    return a


def jpeg_with_gps(lat: float, lon: float, when: datetime | None = None, seed: int = 1) -> bytes:
    """A camera-like JPEG with EXIF capture time (with offset) and GPS, distinct per seed."""
    import random

    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480))
    px = img.load()
    assert px is not None
    for _ in range(60):
        x0, y0 = rng.randrange(600), rng.randrange(440)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        for x in range(x0, min(640, x0 + rng.randrange(20, 200))):
            for y in range(y0, min(480, y0 + rng.randrange(20, 120)), 4):
                px[x, y] = colour
    when = (when or datetime.now(UTC)).astimezone(UTC)
    exif = Image.Exif()
    local = when + timedelta(hours=8)
    exif_ifd = {0x9003: local.strftime("%Y:%m:%d %H:%M:%S"), 0x9011: "+08:00"}
    exif[0x8769] = exif_ifd

    def dms(v: float) -> tuple[float, float, float]:
        d = int(v)
        m = int((v - d) * 60)
        return (float(d), float(m), round(((v - d) * 60 - m) * 60, 4))

    exif[0x8825] = {
        1: "N",
        2: dms(lat),
        3: "E",
        4: dms(lon),
        7: (float(when.hour), float(when.minute), float(when.second)),
        29: when.strftime("%Y:%m:%d"),
    }
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()
