"""The demo's residents: a few applications at every stage (one on public notice), and a sample to try."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from contracts.residents import ApplicationCreate, StageMove
from models.application import Application
from models.region import Region, RegionLevel
from services import applications
from services.cipher import get_cipher
from services.context import Actor
from services.pii import id_check_char

SEED = 20261204
# name, stages to move on after 申请 (refusal as a reason string)
PLAN: list[tuple[str, int, str | None]] = [
    ("包玉兰", 2, None),
    ("王建国", 0, None),
    ("李秀英", 3, None),
    ("张海燕", 4, None),
    ("刘志强", 5, None),
    ("陈春花", 1, "家庭人均收入高于当地低保标准"),
]


@dataclass(frozen=True)
class DemoApplicant:
    """The sample the demo prints: what a resident types on /status."""

    number: str
    id_number: str
    name: str


def _id_number(rng: random.Random) -> str:
    born = date(rng.randint(1940, 1990), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"150422{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def seed(session: Session, today: date) -> DemoApplicant | None:
    """Creates the demo applications once; returns the first one's number, ID number and name."""
    rng = random.Random(SEED)
    ids = [_id_number(rng) for _ in PLAN]
    sample_hash = get_cipher().lookup_hash(ids[0])
    existing = session.exec(select(Application).where(Application.id_hash == sample_hash)).first()
    if existing is not None:
        return DemoApplicant(existing.number, ids[0], PLAN[0][0])
    villages = session.exec(
        select(Region.code)
        .where(Region.level == RegionLevel.village)
        .order_by(col(Region.code))
        .limit(len(PLAN))
    ).all()
    if not villages:
        return None
    actor = Actor.system("demo")
    first: DemoApplicant | None = None
    for i, ((name, steps, refusal), idn) in enumerate(zip(PLAN, ids, strict=True)):
        start = today - timedelta(days=40)
        app = applications.create(
            session,
            actor,
            ApplicationCreate(
                applicant_name=name,
                id_number=idn,
                phone=f"1390476{1000 + i:04d}",
                village_code=villages[i % len(villages)],
                household_size=1 + i % 4,
                applied_on=start,
                monthly_amount=560.0 + 40 * i,
                contact_unit="林东镇民政所",
                contact_phone="0476-7822001",
            ),
        )
        for step in range(steps):
            # the fully paid one went through long ago; the others are on their way, one on notice now
            on = start + timedelta(days=7 * (step + 1) if steps == 5 else step + 1)
            on = today - timedelta(days=3) if step == 3 and steps < 5 else on
            applications.move(session, actor, app.id, StageMove(on=on, deciding_unit="林东镇人民政府"))
        if refusal:
            applications.move(session, actor, app.id, StageMove(refuse_reason=refusal, on=today))
        first = first or DemoApplicant(app.number, idn, name)
    return first
