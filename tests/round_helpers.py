"""Builders for round tests: a small county of townships and villages, inspectors, a drawn round."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from contracts.rounds import RoundCreate, SamplingParams
from models.household import Household, SubsidyType, Tier
from models.round import InspectionRound
from models.user import Role, User
from services import rounds
from services.cipher import get_cipher
from services.context import Actor
from tests.factories import make_household, make_id, make_user

COUNTY = "150422"
TOWNS = [f"{COUNTY}{100 + k:03d}" for k in range(4)]


def village(town: str, k: int) -> str:
    """A village code under a township."""
    return f"{town}{200 + k:03d}"


def populate(session: Session, per_village: int = 4, seed: int = 7) -> list[Household]:
    """4 townships × 2 villages × per_village households, mixed tiers, some cadre relatives."""
    rng = random.Random(seed)
    out: list[Household] = []
    n = 0
    for town in TOWNS:
        for v in range(2):
            for _ in range(per_village):
                n += 1
                h = make_household(
                    session,
                    f"LB{n:05d}",
                    village=village(town, v),
                    id_number=make_id(rng),
                    head_name=rng.choice(["张三", "李四", "王五", "赵六"]),
                    cadre_relative=(n % 11 == 0),
                    last_review_date=date(2025, rng.randint(1, 12), 1),
                )
                h.tier = rng.choice(list(Tier))
                h.subsidy_type = rng.choice(list(SubsidyType))
                h.monthly_amount = Decimal(rng.randint(300, 1500))
                h.size = rng.randint(1, 5)
                h.lat = 43.9 + rng.random() / 5
                h.lon = 119.3 + rng.random() / 5
                out.append(h)
    session.flush()
    return out


def inspectors(session: Session, count: int = 6, with_password: int = 0) -> list[User]:
    """Inspectors spread over the townships (home township = TOWNS[i % 4]); the first few can sign in."""
    out = []
    for i in range(count):
        if i < with_password:
            u = make_user(session, f"insp{i}", Role.inspector, home_township_code=TOWNS[i % len(TOWNS)])
        else:
            u = User(
                login=f"insp{i}",
                name=f"检查员{i}",
                role=Role.inspector,
                home_township_code=TOWNS[i % len(TOWNS)],
            )
            session.add(u)
        out.append(u)
    session.flush()
    return out


def supervisor(session: Session, login: str = "sup", scope: str = COUNTY) -> User:
    """A supervisor with the county in scope."""
    return make_user(session, login, Role.supervisor, scope_code=scope)


def actor_of(user: User) -> Actor:
    """The service actor for a user."""
    return Actor.of(user)


def new_round(
    session: Session,
    actor: Actor,
    ratio: float = 0.3,
    minimum: int = 1,
    start: date | None = None,
    **kw: object,
) -> InspectionRound:
    """A draft flying round over the county."""
    start = start or rounds.local_today()
    data = RoundCreate(
        name="2026年第一轮飞行检查",
        scope_code=COUNTY,
        window_start=start,
        window_end=start + timedelta(days=4),
        params=SamplingParams(sample_ratio=ratio, min_per_stratum=minimum, **kw),  # type: ignore[arg-type]
    )
    return rounds.create_round(session, actor, data)


def drawn_round(session: Session, actor: Actor, witness: str = "3 5 6 1", **kw: object) -> InspectionRound:
    """A committed and drawn round."""
    r = new_round(session, actor, **kw)  # type: ignore[arg-type]
    rounds.commit_round(session, actor, r.id)
    return rounds.draw_round(session, actor, r.id, witness)


def relative_hash(id_number: str) -> str:
    """The keyed hash a declared relative is stored as."""
    digest = get_cipher().lookup_hash(id_number)
    assert digest
    return digest
