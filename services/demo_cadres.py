"""Demo declarations of cadres' near relatives: some relatives on dibao, one undeclared, then the match."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from contracts.cadres import CadreIn, RelativeIn
from models.cadre import Cadre
from models.household import Household, HouseholdMember
from services import cadres
from services.cipher import get_cipher
from services.context import Actor
from services.demo import COUNTY
from services.pii import id_check_char

UNITS = (
    ("镇人民政府", "民政助理"),
    ("村民委员会", "村主任"),
    ("村民委员会", "村会计"),
    ("社会事务办", "低保经办员"),
)


@dataclass
class DemoCadres:
    """What the demo declared and what the match found."""

    cadres: int
    registered: int
    undeclared: int


def _id(rng: random.Random) -> str:
    born = date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{COUNTY}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def seed(session: Session, seed_value: int = 20261205) -> DemoCadres | None:
    """Declares a few cadres per township (None when declarations exist already) and runs the match."""
    if session.exec(select(Cadre)).first() is not None:
        return None
    rng = random.Random(f"cadres-{seed_value}")
    actor = Actor.system("demo")
    cipher = get_cipher()
    households = list(
        session.exec(
            select(Household).where(col(Household.county_code) == COUNTY).order_by(col(Household.register_no))
        ).all()
    )
    by_town: dict[str, list[Household]] = {}
    for h in households:
        by_town.setdefault(h.township_code, []).append(h)
    count = 0
    for town, hs in sorted(by_town.items()):
        picks = rng.sample(hs, min(3, len(hs)))
        for k, h in enumerate(picks):
            unit, post = UNITS[k % len(UNITS)]
            head_id = cipher.decrypt(h.head_id_enc)
            relatives = [RelativeIn(name=_other_name(rng), id_number=_id(rng), relation="配偶")]
            if k == 0 and head_id:  # the head of a dibao household is this cadre's declared father
                relatives.append(RelativeIn(name=h.head_name, id_number=head_id, relation="父亲"))
            cadre_id = _id(rng)
            if (
                k == 1 and head_id
            ):  # this cadre lives in the household as the head's son, declaring nobody there
                session.add(
                    HouseholdMember(
                        household_id=h.id,
                        name="演示干部",
                        relation="父子",
                        id_enc=cipher.encrypt(cadre_id),
                        id_hash=cipher.lookup_hash(cadre_id),
                        position=99,
                    )
                )
                session.flush()
            data = CadreIn(
                name=_other_name(rng),
                id_number=cadre_id,
                unit=f"{town}{unit}",
                post=post,
                township_code=town,
                relatives=relatives,
            )
            cadres.declare(session, actor, data)
            count += 1
    report = cadres.match(session, actor)
    return DemoCadres(count, report.newly_registered, report.undeclared)


def _other_name(rng: random.Random) -> str:
    return rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["建国", "秀英", "丽娟", "志强", "海燕", "国庆"])
